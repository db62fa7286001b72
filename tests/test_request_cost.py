"""What the busiest requests cost the server, counted without a clock: statements compiled.

A signed-in page and a rating run the same few statements for every user. SQLAlchemy compiles
a statement once and reuses it from its cache, unless the statement cannot be cached (a
multi-row insert construct cannot), in which case it is compiled on every request; that once
took a large share of a rating's CPU time. These tests read, for every statement a request
runs, whether the cache served it; and check that the short database work runs on the few
threads razbor.web.db_threads keeps for it.
"""

import threading
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine.default import CACHE_HIT, CACHE_MISS

from razbor.accounts import new_token, token_digest
from razbor.storage.accounts import Accounts
from razbor.web import db_threads
from razbor.web.app import create_app
from razbor.web.auth import SESSION_COOKIE
from razbor.web.db_threads import READ_THREADS, WRITE_THREADS, run_read, run_write


class CompiledStatements:
    """How the cache answered each compiled statement run on an engine (driver SQL aside)."""

    def __init__(self, engine: sa.Engine):
        self.outcomes: list[tuple[object, str]] = []
        sa.event.listen(engine, "after_cursor_execute", self._record)

    def _record(self, _connection, _cursor, statement, _parameters, context, _many) -> None:
        if context.compiled is not None:
            self.outcomes.append((context.cache_hit, statement))

    def take(self) -> list[tuple[object, str]]:
        taken, self.outcomes = self.outcomes, []
        return taken


@pytest.fixture
def signed_in(trainer):
    """A client signed in as a member, and the record of the statements its requests run."""
    accounts = Accounts(trainer.store)
    now = datetime.now(UTC)
    member = accounts.add_user("member", None, "member", now)
    token = new_token()
    accounts.start_session(member.id, token_digest(token), now)
    app = create_app(trainer, accounts=accounts)
    statements = CompiledStatements(trainer.store.engine)
    with TestClient(app, follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, token)
        yield client, statements


def practise_every_card(client: TestClient, clock) -> None:
    """Take each card from /practice, answer it aloud and rate the attempt through the API."""
    for _ in range(4):
        card_id = client.get("/practice").headers["location"].rsplit("/", 1)[1]
        attempt = client.post(f"/api/cards/{card_id}/attempts", json={"answered_aloud": True})
        rated = client.post(f"/api/attempts/{attempt.json()['id']}/rating",
                            json={"rating": "good"})
        assert rated.status_code == 201
    clock.now += timedelta(days=1000)


def test_every_statement_of_a_page_and_a_rating_can_be_cached(signed_in, clock):
    client, statements = signed_in
    practise_every_card(client, clock)
    practise_every_card(client, clock)
    outcomes = statements.take()
    assert outcomes
    uncached = [statement for outcome, statement in outcomes
                if outcome not in (CACHE_HIT, CACHE_MISS)]
    assert uncached == []


def test_once_warm_the_next_card_and_its_rating_compile_nothing(signed_in, clock):
    client, statements = signed_in
    practise_every_card(client, clock)
    practise_every_card(client, clock)
    statements.take()
    practise_every_card(client, clock)
    compiled = [statement for outcome, statement in statements.take() if outcome is not CACHE_HIT]
    assert compiled == []


# The short database work runs on a few threads of its own.

class Blocked:
    """A call that waits until released, counting how many run at once."""

    def __init__(self):
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def __call__(self) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait()
        with self.lock:
            self.running -= 1
        return "done"


async def wait_until(condition) -> None:
    while not condition():
        await anyio.sleep(0.001)


def test_at_most_a_few_reads_run_at_once_and_the_rest_wait_their_turn():
    async def scenario():
        blocked = Blocked()
        async with anyio.create_task_group() as group:
            for _ in range(READ_THREADS + 3):
                group.start_soon(run_read, blocked)
            try:
                await wait_until(lambda: blocked.running + _waiting(db_threads._READ_LIMITER)
                                 == READ_THREADS + 3)
                assert blocked.running == READ_THREADS
            finally:
                blocked.release.set()
        assert blocked.most == READ_THREADS and blocked.running == 0

    anyio.run(scenario)


def test_writes_waiting_for_their_turn_do_not_hold_up_a_read():
    async def scenario():
        blocked = Blocked()
        async with anyio.create_task_group() as group:
            for _ in range(WRITE_THREADS + 1):
                group.start_soon(run_write, blocked)
            try:
                await wait_until(lambda: blocked.running == WRITE_THREADS
                                 and _waiting(db_threads._WRITE_LIMITER) == 1)
                assert await run_read(lambda: "read") == "read"
            finally:
                blocked.release.set()

    anyio.run(scenario)


def _waiting(slot) -> int:
    try:
        return slot.get().statistics().tasks_waiting
    except LookupError:
        return 0


# A hot route looks its session up in the same thread trip as its own database work.

class ThreadTrips:
    """Counts the calls sent to razbor's database threads."""

    def __init__(self, monkeypatch):
        self.count = 0
        run = db_threads._run

        async def counted(*args):
            self.count += 1
            return await run(*args)

        monkeypatch.setattr(db_threads, "_run", counted)

    def take(self) -> int:
        taken, self.count = self.count, 0
        return taken


def test_the_next_card_and_a_rating_take_one_thread_trip_each(signed_in, monkeypatch):
    client, _ = signed_in
    trips = ThreadTrips(monkeypatch)
    card_id = client.get("/practice").headers["location"].rsplit("/", 1)[1]
    assert trips.take() == 1
    assert client.get("/api/next").json()["card"]["id"] == card_id
    assert trips.take() == 1
    attempt = client.post(f"/api/cards/{card_id}/attempts", json={"answered_aloud": True})
    trips.take()
    assert client.post(f"/api/attempts/{attempt.json()['id']}/rating",
                       json={"rating": "good"}).status_code == 201
    assert trips.take() == 1
    attempt = client.post(f"/api/cards/{card_id}/attempts", json={"answered_aloud": True})
    trips.take()
    rated = client.post(f"/attempts/{attempt.json()['id']}/rating", data={"rating": "good"})
    assert rated.status_code == 303 and rated.headers["location"] == "/practice"
    assert trips.take() == 1


def test_a_stale_session_with_invalid_input_is_refused_as_anonymous(signed_in):
    """The hot routes validate their input before they look the session up; an anonymous
    request must still get the sign-in answer rather than a validation error."""
    client, _ = signed_in
    client.cookies.set(SESSION_COOKIE, "stale")
    api = client.post("/api/attempts/0/rating", json={"rating": "good", "extra": 1})
    assert api.status_code == 401 and "sign in" in api.json()["detail"]
    page = client.post("/attempts/x/rating", data={})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert client.get("/practice").headers["location"] == "/login?next=%2Fpractice"


def test_a_live_session_with_invalid_input_gets_the_validation_error(signed_in):
    client, _ = signed_in
    api = client.post("/api/attempts/0/rating", json={"rating": "good"})
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["path", "attempt_id"]
    assert client.post("/attempts/x/rating", data={}).status_code == 422
