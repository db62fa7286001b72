"""razbor benchmarks: web latency and throughput, due-queue time at scale, server memory.

Run `python bench/run.py` (all parts) or `python bench/run.py web|queue`. Figures are printed
with ratios to a baseline measured in the same run, because these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from razbor.cards import Card, Deck
from razbor.practice import Trainer
from razbor.scheduling import Planner, Rating, SchedulerSettings
from razbor.storage import Store, due_counts
from razbor.storage.tables import attempts, cards, reviews, schedules
from razbor.web.app import create_app

PG_ADMIN = os.environ.get("RAZBOR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`razbor serve` on a temporary SQLite file, as a user runs it."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "RAZBOR_DB": f"sqlite:///{folder / 'bench.sqlite3'}",
               "RAZBOR_NEW_PER_DAY": "100000"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "razbor.cli", "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/static/style.css", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def sequential_latency(client: httpx.AsyncClient, requests) -> list[float]:
    """Milliseconds per request, one at a time."""
    samples = []
    for method, path, body in requests:
        start = time.perf_counter()
        response = await client.request(method, path, json=body)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return samples


async def throughput(client: httpx.AsyncClient, requests, concurrency: int = 8) -> float:
    """Requests per second with `concurrency` requests in flight."""
    queue = list(requests)
    index = 0

    async def worker():
        nonlocal index
        while index < len(queue):
            method, path, body = queue[index]
            index += 1
            (await client.request(method, path, json=body)).raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(queue) / (time.perf_counter() - start)


async def make_attempts(client: httpx.AsyncClient, count: int) -> list[int]:
    ids = []
    for number in range(count):
        card = ("batchnorm", "mixed-precision", "roc-auc", "dental-lesions-3d")[number % 4]
        response = await client.post(f"/api/cards/{card}/attempts",
                                     json={"text": f"bench attempt {number}", "seconds": 5})
        ids.append(response.json()["id"])
    return ids


async def web_figures(server: Server, count: int) -> None:
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=server.url, limits=limits) as client:
        static = [("GET", "/static/style.css", None)] * count
        page = [("GET", "/cards/batchnorm", None)] * count
        await throughput(client, static[:100])
        rss_idle = rss_mib(server.process.pid)
        static_latency = await sequential_latency(client, static)
        page_latency = await sequential_latency(client, page)
        attempt_ids = await make_attempts(client, count * 2)
        rating_latency = await sequential_latency(
            client, [("POST", f"/api/attempts/{i}/rating", {"rating": 3})
                     for i in attempt_ids[:count]])
        static_rps = await throughput(client, static * 2)
        page_rps = await throughput(client, page * 2)
        rss_load_page = rss_mib(server.process.pid)
        rating_rps = await throughput(client, [("POST", f"/api/attempts/{i}/rating",
                                                {"rating": 3}) for i in attempt_ids[count:]])
        rss_load = max(rss_load_page, rss_mib(server.process.pid))

    print(f"\nweb ({count} sequential requests each, throughput with 8 in flight)")
    print(f"  {'':18}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'ratio to static':>17}")
    for name, samples, rps in (("static file", static_latency, static_rps),
                               ("practice page", page_latency, page_rps),
                               ("rating", rating_latency, rating_rps)):
        print(f"  {name:18}{percentile(samples, .5):9.2f}{percentile(samples, .99):9.2f}"
              f"{rps:9.0f}{rps / static_rps:17.2f}")
    print(f"  server RSS: {rss_idle:.0f} MiB after start-up, {rss_load:.0f} MiB under load")


def synthetic_deck(size: int) -> Deck:
    topics = [f"topic-{n}" for n in range(20)]
    return Deck(tuple(
        Card(id=f"card-{n}", title=f"Вопрос {n}", lang="en", topics=(topics[n % 20],),
             difficulty=1 + n % 5, short_answer="s", analysis="a", mistakes="- m",
             interview="- i") for n in range(size)))


def fill_history(store: Store, trainer: Trainer, user_id: int, review_count: int,
                 now: datetime) -> None:
    """Insert attempts, reviews and schedules in bulk: reviews spread over all cards."""
    planner = Planner(SchedulerSettings(fuzz=False))
    deck = trainer.deck.cards
    per_card = max(1, review_count // len(deck))
    template = {}
    schedule = None
    start = now - timedelta(days=365)
    for step in range(per_card):
        moment = start + timedelta(days=step * 30)
        before, schedule = schedule, planner.review(schedule, Rating.GOOD, moment)
        template[step] = (before, schedule, moment)
    batch_attempts, batch_reviews = [], []
    attempt_id = 0
    with store.engine.begin() as db:
        for index, card in enumerate(deck):
            for step in range(per_card):
                attempt_id += 1
                before, after, moment = template[step]
                shifted = after.to_dict()
                # Spread due dates over two months around now, so a share is due.
                shifted["due"] = (now + timedelta(hours=index % 1440 - 720)).isoformat()
                batch_attempts.append({"id": attempt_id, "user_id": user_id, "card_id": card.id,
                                       "card_version_id": trainer.versions[card.id],
                                       "text": "x", "answered_aloud": False, "seconds": 10.0,
                                       "created_at": moment})
                batch_reviews.append({"id": attempt_id, "user_id": user_id, "card_id": card.id,
                                      "attempt_id": attempt_id, "rating": 3,
                                      "state_before": before.to_dict() if before else None,
                                      "state_after": shifted, "reviewed_at": moment})
            if len(batch_reviews) >= 20_000:
                db.execute(attempts.insert(), batch_attempts)
                db.execute(reviews.insert(), batch_reviews)
                batch_attempts, batch_reviews = [], []
        if batch_reviews:
            db.execute(attempts.insert(), batch_attempts)
            db.execute(reviews.insert(), batch_reviews)
        if db.dialect.name == "postgresql":
            for table in ("attempts", "reviews"):
                db.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT MAX(id) FROM {table}))"))
    store.rebuild_schedules()
    with store.engine.begin() as db:
        # Leave a tenth of the cards unseen, so the queue also has new cards to find.
        db.execute(schedules.delete().where(schedules.c.card_id.in_(
            [card.id for card in deck[::10]])))
        due_counts.recount(db)
        if db.dialect.name == "postgresql":
            db.execute(sa.text("ANALYZE"))


def timed(call, repeat: int = 30) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, .5), percentile(samples, .99)


def queue_figures(name: str, url: str, cards: int, review_count: int) -> None:
    now = datetime.now(UTC)
    started = time.perf_counter()
    store = Store.open(url)
    trainer = Trainer(synthetic_deck(cards), store, Planner(SchedulerSettings(fuzz=False)),
                      clock=lambda: now)
    synced = time.perf_counter() - started
    user_id = trainer.user()
    started = time.perf_counter()
    fill_history(store, trainer, user_id, review_count, now)
    filled = time.perf_counter() - started
    with store.engine.connect() as db:
        count = db.execute(sa.select(sa.func.count()).select_from(reviews)).scalar_one()
        due = db.execute(sa.select(sa.func.count()).select_from(schedules)
                         .where(schedules.c.due <= now)).scalar_one()
    print(f"\ndue queue on {name}: {cards:,} cards, {count:,} reviews, {due:,} due now "
          f"(deck sync {synced:.1f} s, history load {filled:.1f} s)")
    assert_counts_exact(trainer, user_id, now)
    print(f"  {'':34}{'p50 ms':>9}{'p99 ms':>9}")
    home = TestClient(create_app(trainer))
    for label, call in (
        ("next card (due first)", lambda: trainer.next_card(user_id)),
        ("next card in one topic", lambda: trainer.next_card(user_id, "topic-7")),
        ("due ids, 100", lambda: store.due_card_ids(user_id, now, limit=100)),
        ("new ids, 100", lambda: store.new_card_ids(user_id, limit=100)),
        ("home page counts per topic", lambda: trainer.topic_counts(user_id)),
        ("home page, whole request (ASGI)", lambda: home.get("/")),
    ):
        p50, p99 = timed(call)
        print(f"  {label:34}{p50:9.2f}{p99:9.2f}")
    store.close()


def assert_counts_exact(trainer: Trainer, user_id: int, now: datetime) -> None:
    """The fast counts must equal a full scan of the schedules, or the timing means nothing."""
    status = sa.case((schedules.c.card_id.is_(None), "new"), (schedules.c.due <= now, "due"),
                     else_="learned")
    scan = (sa.select(cards.c.topic, status, sa.func.count())
            .select_from(cards.outerjoin(schedules, sa.and_(
                schedules.c.card_id == cards.c.id, schedules.c.user_id == user_id)))
            .where(cards.c.retired.is_(False)).group_by(cards.c.topic, status))
    with trainer.store.engine.connect() as db:
        scanned = {(topic, kind): count for topic, kind, count in db.execute(scan)}
    fast = {(row.topic, kind): getattr(row, kind) for row in trainer.topic_counts(user_id)
            for kind in ("due", "new", "learned") if getattr(row, kind)}
    assert fast == scanned, "home page counts differ from a full scan"
    print("  home page counts checked against a full scan of the schedules: equal")


def run_web(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder))
        try:
            asyncio.run(web_figures(server, count))
        finally:
            server.stop()


def run_queue(cards: int, review_count: int, postgres: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        queue_figures("SQLite", f"sqlite:///{Path(folder) / 'queue.sqlite3'}", cards, review_count)
    if not postgres:
        return
    name = f"razbor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        queue_figures("PostgreSQL", url, cards, review_count)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", nargs="?", choices=("all", "web", "queue"), default="all")
    parser.add_argument("--requests", type=int, default=500, help="requests per web figure")
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if args.part in ("all", "web"):
        run_web(args.requests)
    if args.part in ("all", "queue"):
        run_queue(args.cards, args.reviews, not args.no_postgres)


if __name__ == "__main__":
    main()
