"""A user's review log to and from other trainers: read as plain entries, replayed all or nothing.

Another trainer's log has ratings and times, not razbor's FSRS states, so an import replays the
ratings through razbor's own scheduler; each becomes an attempt answered aloud (no text, the
time it took) with its review, and schedules are rebuilt from the log in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from razbor.cards import Card
from razbor.decks.notes import PastReview
from razbor.scheduling import Schedule
from razbor.storage.store import StorageError, Store
from razbor.storage.tables import (
    attempts,
    card_topics,
    card_versions,
    cards,
    reviews,
    schedules,
    users,
)

Replay = Callable[[Schedule | None, int, datetime], Schedule]


class UnknownUser(StorageError):
    """No user of that name has practised in this database."""


def reviews_of(store: Store, user_name: str) -> list[PastReview]:
    """Every review of the user, oldest first, with its attempt's time and both schedules."""
    query = (sa.select(reviews.c.card_id, reviews.c.rating, reviews.c.reviewed_at,
                       reviews.c.state_before, reviews.c.state_after, attempts.c.seconds)
             .join(attempts, attempts.c.id == reviews.c.attempt_id)
             .join(users, users.c.id == reviews.c.user_id)
             .where(users.c.name == user_name).order_by(reviews.c.id))
    with store.snapshot() as db:
        if db.execute(sa.select(users.c.id).where(users.c.name == user_name)).first() is None:
            raise UnknownUser(f"there is no user named {user_name!r} in this database")
        return [PastReview(card_id, rating, reviewed_at, seconds,
                           Schedule.from_dict(before) if before else None,
                           Schedule.from_dict(after))
                for card_id, rating, reviewed_at, before, after, seconds in db.execute(query)]


def import_reviews(store: Store, user_name: str, deck_cards: Sequence[Card],
                   log: Sequence[PastReview], replay: Replay, now: datetime) -> int:
    """Replay a log of ratings of these cards into the database in one transaction; returns
    how many reviews were stored.

    The user is created if new. The cards are recorded if the database does not know them
    (as a deck sync would), without retiring any other card. A card the user already has
    history for is refused, so importing the same log twice cannot double it.
    """
    by_card: dict[str, list[PastReview]] = defaultdict(list)
    for entry in sorted(log, key=lambda entry: entry.reviewed_at):
        by_card[entry.card_id].append(entry)
    known = {card.id: card for card in deck_cards}
    unknown = sorted(set(by_card) - set(known))
    if unknown:
        raise StorageError(f"reviews of cards that are not imported: {', '.join(unknown[:3])}")
    with store.writing() as db:
        user_id = _user(db, user_name, now)
        _refuse_existing_history(db, user_id, list(by_card))
        versions = _versions(db, [known[card_id] for card_id in by_card], now)
        for card_id, entries in by_card.items():
            _replay(db, user_id, card_id, versions[card_id], entries, replay)
        if by_card:
            Store.rebuild_schedules_in(db)  # the schedules, and any cache kept beside them
    return sum(len(entries) for entries in by_card.values())


def _user(db: Connection, name: str, now: datetime) -> int:
    found = db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
    if found is not None:
        return found
    return db.execute(users.insert().values(name=name, created_at=now)).inserted_primary_key[0]


def _refuse_existing_history(db: Connection, user_id: int, card_ids: list[str]) -> None:
    practised = sa.union(
        sa.select(attempts.c.card_id).where(attempts.c.user_id == user_id,
                                            attempts.c.card_id.in_(card_ids)),
        sa.select(schedules.c.card_id).where(schedules.c.user_id == user_id,
                                             schedules.c.card_id.in_(card_ids)))
    taken = sorted(db.execute(practised).scalars())
    if taken:
        raise StorageError(f"the user already has history for {len(taken)} of these cards "
                           f"({', '.join(taken[:3])}); nothing was imported (fix: import into "
                           "another database or as another --user)")


def _versions(db: Connection, deck_cards: list[Card], now: datetime) -> dict[str, int]:
    """The content version of each card, recording the card and the version where missing."""
    present = set(db.execute(sa.select(cards.c.id).where(
        cards.c.id.in_([card.id for card in deck_cards]))).scalars())
    position = db.execute(sa.select(sa.func.coalesce(sa.func.max(cards.c.position), 0))
                          ).scalar_one()
    versions = {}
    for card in deck_cards:
        if card.id not in present:
            position += 1
            db.execute(cards.insert().values(id=card.id, title=card.title, topic=card.topic,
                                             position=position, retired=False))
            db.execute(card_topics.insert(), [{"card_id": card.id, "topic": topic}
                                              for topic in card.topics])
        versions[card.id] = _version(db, card, now)
    return versions


def _version(db: Connection, card: Card, now: datetime) -> int:
    digest = card.content_hash()
    found = db.execute(sa.select(card_versions.c.id).where(
        card_versions.c.card_id == card.id, card_versions.c.content_hash == digest)).scalar()
    if found is None:
        found = db.execute(card_versions.insert().values(
            card_id=card.id, content_hash=digest, content=card.to_dict(), created_at=now)
        ).inserted_primary_key[0]
        db.execute(cards.update().where(cards.c.id == card.id,
                                        cards.c.current_version_id.is_(None))
                   .values(current_version_id=found))
    return found


def _replay(db: Connection, user_id: int, card_id: str, version_id: int,
            entries: list[PastReview], replay: Replay) -> None:
    before: Schedule | None = None
    for entry in entries:
        after = replay(before, entry.rating, entry.reviewed_at)
        attempt_id = db.execute(attempts.insert().values(
            user_id=user_id, card_id=card_id, card_version_id=version_id, text="",
            answered_aloud=True, seconds=entry.seconds, created_at=entry.reviewed_at,
        )).inserted_primary_key[0]
        db.execute(reviews.insert().values(
            user_id=user_id, card_id=card_id, attempt_id=attempt_id, rating=entry.rating,
            state_before=before.to_dict() if before else None, state_after=after.to_dict(),
            reviewed_at=entry.reviewed_at))
        before = after
