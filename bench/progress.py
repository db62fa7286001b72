"""How long the stats page takes for a heavy year of practice.

`python bench/progress.py [--attempts N] [--no-postgres]` writes N graded attempts, each rated,
spread over the last year for one user of the built-in deck (SQLite, and a throwaway PostgreSQL
database at RAZBOR_BENCH_PG), then prints the median time of Trainer.stats plus drawing every
chart, and its ratio to a baseline measured in the same run: decoding the same attempts'
feedback JSON in Python, which tracks how busy the machine is.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from razbor.decks import load_deck
from razbor.practice import Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage import Store
from razbor.storage.tables import attempts, reviews
from razbor.web.charts import stats_charts
from razbor.web.i18n import translator

PG_ADMIN = os.environ.get("RAZBOR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RUNS = 5


def median_seconds(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def practised_trainer(url: str, count: int) -> tuple[Trainer, int, list[dict]]:
    """A trainer whose one user made `count` graded, rated attempts in the last year."""
    store = Store.open(url)
    trainer = Trainer(load_deck(), store, Planner(SchedulerSettings(fuzz=False)),
                      clock=lambda: NOW)
    user = trainer.user()
    rng = random.Random(0)
    cards = list(trainer.deck)
    rows = []
    for _ in range(count):
        card = rng.choice(cards)
        feedback = {"card_id": card.id, "backend": "bench", "mistakes": [], "key_points": [
            {"id": point.id, "covered": rng.random() < 0.6, "confidence": 1.0, "evidence": []}
            for point in card.gradable_rubric.key_points]}
        rows.append({"user_id": user, "card_id": card.id,
                     "card_version_id": trainer.versions[card.id], "text": "", "seconds": 60.0,
                     "answered_aloud": False, "feedback": feedback,
                     "created_at": NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))})
    state = {"state": "review", "step": None, "stability": 5.0, "difficulty": 5.0,
             "due": NOW.isoformat(), "last_review": NOW.isoformat()}
    with store.writing() as db:
        db.execute(attempts.insert(), rows)
        made = db.execute(sa.select(attempts.c.id, attempts.c.card_id, attempts.c.created_at))
        db.execute(reviews.insert(), [
            {"user_id": user, "card_id": card_id, "attempt_id": attempt_id, "reviewed_at": at,
             "rating": rng.choice([1, 3, 3, 4]), "state_before": state, "state_after": state}
            for attempt_id, card_id, at in made])
    store.rebuild_schedules()
    return trainer, user, [row["feedback"] for row in rows]


def measure(name: str, url: str, count: int) -> None:
    trainer, user, feedback = practised_trainer(url, count)
    texts = [json.dumps(item) for item in feedback]
    baseline = median_seconds(lambda: [json.loads(text) for text in texts])
    page = median_seconds(lambda: stats_charts(trainer.stats(user).progress, translator("ru")))
    print(f"{name}: {count} graded, rated attempts in a year: stats and charts {page:.3f} s "
          f"(median of {RUNS}), {page / baseline:.1f}x decoding their feedback JSON "
          f"({baseline:.3f} s)")
    trainer.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--no-postgres", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("sqlite", f"sqlite:///{folder}/bench.sqlite3", arguments.attempts)
    if arguments.no_postgres:
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"razbor_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        measure("postgresql", url, arguments.attempts)
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
