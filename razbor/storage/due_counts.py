"""How many of a user's cards fall due on each day, per topic: the home page's numbers.

Counting due, new and learned cards from the schedules scans every card a user has seen, which
at 100k cards costs a hundred milliseconds or more on each visit to the home page. A small table
of counts per (user, topic, due day) turns that into reading a few rows per topic: days before
today are wholly due, and only today's cards are compared with the clock. Every schedule write
moves one count from its old day to its new one in the same transaction; bulk writes (a rebuild,
an import, a deck whose topics changed) recount everything.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from razbor.storage.tables import cards, due_counts, schedules

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How many cards a user (bound: user_id) has started, not counting retired ones: a row per
# topic and due day, where counting the schedules reads a row per card.
STARTED = (sa.select(sa.func.coalesce(sa.func.sum(due_counts.c.n), 0))
           .where(due_counts.c.user_id == sa.bindparam("user_id")).scalar_subquery())
Counts = dict[str, tuple[int, int]]


def day_of(moment: datetime) -> int:
    """Whole UTC days since 1970: the bucket a due date counts in."""
    return (moment.astimezone(UTC) - EPOCH).days


def move(db: Connection, user_id: int, topic: str | None, old_due: datetime | None,
         new_due: datetime) -> None:
    """Account for one schedule of a card in `topic` (None: a retired card, which is not
    counted) moving from old_due (None: a card seen for the first time), in one statement.

    A move within one day changes no count and writes nothing.
    """
    if topic is None:
        return
    changes = Counter({day_of(new_due): 1})
    if old_due is not None:
        changes[day_of(old_due)] -= 1
    days = [(day, delta) for day, delta in changes.items() if delta]
    if not days:
        return
    values = {"user_id": user_id, "topic": topic}
    for index, (day, delta) in enumerate(days):
        values[f"day_{index}"] = day
        values[f"delta_{index}"] = delta
    db.execute(_add_statement(len(days)), values)


@cache
def _add_statement(rows: int) -> sa.TextClause:
    """Add deltas to the counts of `rows` days of one user's topic (bound: user_id, topic,
    day_0, delta_0, ...), creating the rows that are missing.

    Written as text, which SQLAlchemy caches compiled: its multi-row insert construct is never
    cached, and compiling it anew took a large share of a rating's CPU time. SQLite and
    PostgreSQL both read this upsert.
    """
    rows_sql = ", ".join(f"(:user_id, :topic, :day_{index}, :delta_{index})"
                         for index in range(rows))
    return sa.text(f"INSERT INTO due_counts (user_id, topic, due_day, n) VALUES {rows_sql} "
                   "ON CONFLICT (user_id, topic, due_day) DO UPDATE SET n = due_counts.n + "
                   "excluded.n")


def recount(db: Connection) -> None:
    """Rebuild every count from the schedules of cards still in the deck."""
    query = (sa.select(schedules.c.user_id, cards.c.topic, schedules.c.due)
             .join(cards, cards.c.id == schedules.c.card_id)
             .where(cards.c.retired.is_(False)))
    tally: Counter = Counter()
    for user_id, topic, due in db.execute(query):
        tally[user_id, topic, day_of(due)] += 1
    db.execute(due_counts.delete())
    if tally:
        db.execute(due_counts.insert(), [
            {"user_id": user_id, "topic": topic, "due_day": day, "n": n}
            for (user_id, topic, day), n in tally.items()])


def due_and_seen(db: Connection, user_id: int, now: datetime) -> Counts:
    """Per topic: (cards due now, cards ever scheduled) for one user."""
    today = day_of(now)
    before_today = sa.func.sum(sa.case((due_counts.c.due_day < today, due_counts.c.n),
                                       else_=0))
    rows = db.execute(sa.select(due_counts.c.topic, before_today, sa.func.sum(due_counts.c.n))
                      .where(due_counts.c.user_id == user_id)
                      .group_by(due_counts.c.topic)).all()
    counts = {topic: [int(due or 0), int(seen or 0)] for topic, due, seen in rows}
    start_of_today = EPOCH + timedelta(days=today)
    due_today = (sa.select(cards.c.topic, sa.func.count())
                 .join(cards, cards.c.id == schedules.c.card_id)
                 .where(schedules.c.user_id == user_id, schedules.c.due >= start_of_today,
                        schedules.c.due <= now, cards.c.retired.is_(False))
                 .group_by(cards.c.topic))
    for topic, count in db.execute(due_today):
        counts.setdefault(topic, [0, 0])[0] += count
    return {topic: (due, seen) for topic, (due, seen) in counts.items()}
