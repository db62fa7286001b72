"""Reading one user's practice log for progress and for fitting the scheduler.

Each kind of record is one query (never one per row), and the three are read in one snapshot,
so a review counted in the calendar is also in the due forecast it moved.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from razbor.progress import AttemptEvent, PracticeLog, ReviewEvent
from razbor.storage.store import Store
from razbor.storage.tables import attempts, cards, reviews, schedules, users


def read_practice_log(store: Store, user_id: int, since: datetime, until: datetime,
                      due_before: datetime) -> PracticeLog:
    """Reviews and attempts in [since, until), and the due moments of active cards before
    `due_before` (overdue ones included)."""
    with store.snapshot() as db:
        return PracticeLog(
            reviews=_reviews(db, user_id, since, until),
            attempts=_attempts(db, user_id, since, until),
            due=list(db.execute(
                sa.select(schedules.c.due).join(cards, cards.c.id == schedules.c.card_id)
                .where(schedules.c.user_id == user_id, schedules.c.due < due_before,
                       cards.c.retired.is_(False))).scalars()),
        )


def user_id_named(store: Store, name: str) -> int | None:
    """The id of a user, or None: reading progress must not create anyone."""
    with store.reading() as db:
        return db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()


def review_log(store: Store, user_id: int) -> list[ReviewEvent]:
    """The user's whole review log, oldest first: what the scheduler is fitted to."""
    with store.snapshot() as db:
        return _reviews(db, user_id, None, None)


def _reviews(db: Connection, user_id: int, since: datetime | None, until: datetime | None
             ) -> list[ReviewEvent]:
    """Only the state is taken out of the stored schedule, by the database, so a year of
    reviews is not a year of JSON to decode."""
    query = (sa.select(reviews.c.card_id, reviews.c.rating, reviews.c.reviewed_at,
                       reviews.c.state_before["state"].as_string())
             .where(reviews.c.user_id == user_id)
             .order_by(reviews.c.reviewed_at, reviews.c.id))
    if since is not None:
        query = query.where(reviews.c.reviewed_at >= since)
    if until is not None:
        query = query.where(reviews.c.reviewed_at < until)
    return [ReviewEvent(*row) for row in db.execute(query)]


def _attempts(db: Connection, user_id: int, since: datetime, until: datetime
              ) -> list[AttemptEvent]:
    # Only the key points leave the database: the evidence, mistakes and notes that make up
    # most of a feedback document are not drawn here, and decoding them is most of the cost.
    query = (sa.select(attempts.c.card_id, cards.c.topic, attempts.c.created_at,
                       attempts.c.seconds, attempts.c.feedback["key_points"])
             .join(cards, cards.c.id == attempts.c.card_id)
             .where(attempts.c.user_id == user_id, attempts.c.created_at >= since,
                    attempts.c.created_at < until)
             .order_by(attempts.c.created_at, attempts.c.id))
    return [AttemptEvent(card_id, topic, created_at, seconds, _points(key_points))
            for card_id, topic, created_at, seconds, key_points in db.execute(query)]


def _points(key_points: list[dict] | None) -> tuple[tuple[str, bool], ...]:
    return tuple((point["id"], bool(point["covered"])) for point in key_points or ())
