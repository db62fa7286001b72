"""A user's cards within a set of topics: what the readiness plan reads, and the cards practice
offers first while a target date is set.

Topics are matched as a card's tags (any of its topics), as `/practice?topic=` matches them; an
empty set of topics means every card. Retired cards are never in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from razbor.readiness import StartedCard
from razbor.scheduling import Schedule
from razbor.storage.store import Store
from razbor.storage.tables import card_topics, cards, reviews, schedules


def started_cards(store: Store, user_id: int, topics: Sequence[str]) -> dict[str, StartedCard]:
    """The user's started cards in scope: each one's schedule and the number of days (UTC) on
    which it was reviewed, read in one snapshot."""
    active = _in_scope(sa.select(cards.c.id).where(cards.c.retired.is_(False)), topics)
    day = (sa.cast(reviews.c.reviewed_at, sa.Date) if store.engine.dialect.name == "postgresql"
           else sa.func.date(reviews.c.reviewed_at))
    with store.snapshot() as db:
        review_days = dict(db.execute(
            sa.select(reviews.c.card_id, sa.func.count(sa.distinct(day)))
            .where(reviews.c.user_id == user_id, reviews.c.card_id.in_(active))
            .group_by(reviews.c.card_id)).all())
        rows = db.execute(sa.select(schedules).where(schedules.c.user_id == user_id,
                                                     schedules.c.card_id.in_(active))).all()
    return {row.card_id: StartedCard(
        Schedule(state=row.state, step=row.step, stability=row.stability,
                 difficulty=row.difficulty, due=row.due, last_review=row.last_review),
        review_days.get(row.card_id, 0)) for row in rows}


def new_card_ids(store: Store, user_id: int, topics: Sequence[str],
                 limit: int | None = None) -> list[str]:
    """Cards in scope the user has never rated, in deck order."""
    seen = sa.select(schedules.c.card_id).where(schedules.c.user_id == user_id,
                                                schedules.c.card_id == cards.c.id)
    query = (sa.select(cards.c.id).where(cards.c.retired.is_(False), ~seen.exists())
             .order_by(cards.c.position).limit(limit))
    with store.reading() as db:
        return list(db.execute(_in_scope(query, topics)).scalars())


def due_card_ids(store: Store, user_id: int, now: datetime, topics: Sequence[str],
                 limit: int = 1) -> list[str]:
    """Cards in scope whose review is due, most overdue first."""
    query = (sa.select(schedules.c.card_id)
             .join(cards, cards.c.id == schedules.c.card_id)
             .where(schedules.c.user_id == user_id, schedules.c.due <= now,
                    cards.c.retired.is_(False))
             .order_by(schedules.c.due).limit(limit))
    with store.reading() as db:
        return list(db.execute(_in_scope(query, topics)).scalars())


def _in_scope(query, topics: Sequence[str]):
    if not topics:
        return query
    return query.where(sa.exists().where(card_topics.c.card_id == cards.c.id,
                                         card_topics.c.topic.in_(list(topics))))
