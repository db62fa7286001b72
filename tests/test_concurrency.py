"""Many clients and several servers on one database: no errors, no lost or forked reviews.

Fifty clients answer and rate at once. In every round they share a few cards, so each card's
first rating and its later ones race; some attempts are rated twice at the same moment, with
the same rating (one review, 201 then 200) or with different ones (one review, 201 and 409).
Afterwards the review log must form one unbroken chain per card: each review starts from the
schedule the previous one left, and the schedule row holds the last one's result.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
import sqlalchemy as sa

from razbor.decks import load_deck
from razbor.practice import Trainer
from razbor.scheduling import Schedule
from razbor.storage import Store
from razbor.storage.tables import reviews, schedules

from .conftest import LiveServer

CLIENTS = 50
ROUNDS = 6
CARDS_PER_ROUND = 4
RATINGS = ("again", "hard", "good", "easy")
IDLE_CONNECTION_SECONDS = 2.0


@dataclass
class Outcome:
    """What the clients saw: every review a server acknowledged, and every surprise."""

    acknowledged: dict[int, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ratings: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, attempt_id: int, responses: list[httpx.Response], expected: list[int]
               ) -> None:
        with self.lock:
            self.ratings += len(responses)
            statuses = sorted(response.status_code for response in responses)
            if statuses != sorted(expected):
                self.errors.append(f"attempt {attempt_id}: {statuses}, expected {expected}: "
                                   + " | ".join(response.text[:200] for response in responses))
                return
            kept = [response.json() for response in responses if response.status_code < 300]
            if len({review["id"] for review in kept}) != 1:
                self.errors.append(f"attempt {attempt_id}: several reviews {kept}")
                return
            self.acknowledged[attempt_id] = kept[0]


def rate_at_once(client: httpx.Client, attempt_id: int, ratings: list[str]) -> list[httpx.Response]:
    """Send the ratings of one attempt at the same moment, from one thread each."""
    start = threading.Barrier(len(ratings))

    def rate(rating: str) -> httpx.Response:
        start.wait()
        return client.post(f"/api/attempts/{attempt_id}/rating", json={"rating": rating})

    with ThreadPoolExecutor(len(ratings)) as pool:
        return list(pool.map(rate, ratings))


def practise(number: int, server_url: str, card_ids: list[str], outcome: Outcome) -> None:
    """One client: each round an attempt at a card the round shares, then its rating.

    The client drops a connection idle for 2 s, before the server's 5 s keep-alive timeout:
    two ratings at once open a second connection that may then idle for rounds, and a request
    sent on it just as the server closes it is reset (HTTP/1.1's race; a browser sends again),
    which a loaded machine made happen."""
    with httpx.Client(base_url=server_url, timeout=60,
                      limits=httpx.Limits(keepalive_expiry=IDLE_CONNECTION_SECONDS)) as client:
        for round_number in range(ROUNDS):
            card_id = card_ids[round_number * CARDS_PER_ROUND + number % CARDS_PER_ROUND]
            answer = client.post(f"/api/cards/{card_id}/attempts",
                                 json={"text": f"client {number} round {round_number}",
                                       "seconds": 5})
            if answer.status_code != 201:
                with outcome.lock:
                    outcome.errors.append(f"attempt at {card_id}: {answer.status_code} "
                                          f"{answer.text[:200]}")
                continue
            attempt_id = answer.json()["id"]
            rating = RATINGS[(number + round_number) % len(RATINGS)]
            other = RATINGS[(number + round_number + 1) % len(RATINGS)]
            if round_number % 3 == 0:
                outcome.record(attempt_id, rate_at_once(client, attempt_id, [rating, rating]),
                               [200, 201])
            elif round_number % 3 == 1:
                outcome.record(attempt_id, rate_at_once(client, attempt_id, [rating, other]),
                               [201, 409])
            else:
                outcome.record(attempt_id, [client.post(f"/api/attempts/{attempt_id}/rating",
                                                        json={"rating": rating})], [201])


def practise_at_once(servers: list[LiveServer]) -> Outcome:
    """CLIENTS clients spread over the servers, all practising at the same time."""
    card_ids = [card["id"] for card in httpx.get(f"{servers[0].url}/api/cards").json()]
    assert len(card_ids) >= ROUNDS * CARDS_PER_ROUND
    outcome = Outcome()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(practise, number, servers[number % len(servers)].url,
                                   card_ids, outcome) for number in range(CLIENTS)]:
            future.result()
    return outcome


def chain_breaks(database_url: str, acknowledged: dict[int, dict]) -> list[str]:
    """Every way the stored log disagrees with itself or with what the servers acknowledged."""
    store = Store.open(database_url, create=False)
    try:
        with store.engine.connect() as db:
            log = db.execute(sa.select(reviews).order_by(reviews.c.id)).all()
            stored_schedules = {(row.user_id, row.card_id): row
                                for row in db.execute(sa.select(schedules))}
        problems = []
        per_card = defaultdict(list)
        for review in log:
            per_card[review.user_id, review.card_id].append(review)
        for key, chain in per_card.items():
            previous = None
            for review in chain:
                if review.state_before != previous:
                    problems.append(f"{key}: review {review.id} starts from {review.state_before}, "
                                    f"the one before it left {previous}")
                previous = review.state_after
            if store.schedule(*key) != Schedule.from_dict(previous):
                problems.append(f"{key}: the schedule is not the last review's result")
        if set(stored_schedules) != set(per_card):
            problems.append("schedules without reviews, or reviews without a schedule")
        by_attempt = {review.attempt_id: review for review in log}
        for attempt_id, review in acknowledged.items():
            stored = by_attempt.get(attempt_id)
            if stored is None or (stored.id, stored.rating) != (review["id"], review["rating"]):
                problems.append(f"acknowledged review {review} is stored as {stored}")
        if len(log) != len(acknowledged):
            problems.append(f"{len(log)} reviews stored, {len(acknowledged)} acknowledged")
        return problems
    finally:
        store.close()


def start_together(database_url: str, count: int) -> list[LiveServer]:
    """Start servers at the same moment on one database; each raises if it fails to come up."""
    servers = [LiveServer(database_url) for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        started = [pool.submit(server.start) for server in servers]
    failures = [str(future.exception()) for future in started if future.exception()]
    if failures:
        for server in servers:
            server.stop()
        pytest.fail("\n".join(failures))
    return servers


def test_fifty_clients_rating_at_once_keep_one_unbroken_review_chain_per_card(database_url):
    server = LiveServer(database_url).start()
    try:
        outcome = practise_at_once([server])
    finally:
        server.stop()
    assert outcome.errors == [], server.errors_logged()
    assert len(outcome.acknowledged) == CLIENTS * ROUNDS
    assert chain_breaks(database_url, outcome.acknowledged) == []


@pytest.mark.postgres
def test_two_servers_on_one_postgres_database_rate_without_conflicts(postgres_url):
    servers = start_together(postgres_url, 2)
    try:
        outcome = practise_at_once(servers)
    finally:
        for server in servers:
            server.stop()
    assert outcome.errors == [], "".join(server.errors_logged() for server in servers)
    assert len(outcome.acknowledged) == CLIENTS * ROUNDS
    assert chain_breaks(postgres_url, outcome.acknowledged) == []


def test_servers_started_together_on_a_fresh_database_all_serve(database_url):
    servers = start_together(database_url, 3)
    try:
        decks = [httpx.get(f"{server.url}/api/cards").json() for server in servers]
        assert decks[0] and decks.count(decks[0]) == len(servers)
        for server in servers:
            assert httpx.get(f"{server.url}/api/next").status_code == 200
    finally:
        for server in servers:
            server.stop()


def test_stores_opened_together_on_a_fresh_database_migrate_and_sync_the_deck_once(database_url):
    """The same start inside one process, where the openings overlap for sure."""
    deck = load_deck()
    start = threading.Barrier(4)

    def open_and_sync(_) -> dict[str, int]:
        start.wait()
        store = Store.open(database_url)
        try:
            return Trainer(deck, store).versions
        finally:
            store.close()

    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(open_and_sync, range(4)))
    assert len(versions[0]) == len(deck)
    assert versions.count(versions[0]) == len(versions)
