"""Users, sessions, invitations and failed logins in the practice database.

Sessions live in the database rather than in signed cookies so that any app process can check
them, logout and deactivation take effect at once everywhere, and a password change can end a
user's other sessions. Only digests of tokens are stored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from razbor.accounts import (
    INVITATION_LIFETIME,
    SESSION_LIFETIME,
    AccountError,
    User,
    throttled,
    window_start,
)
from razbor.storage.store import Store
from razbor.storage.tables import (
    attempts,
    cards,
    invitations,
    login_failures,
    reviews,
    sessions,
    users,
)

# The advisory lock logins take in turn on PostgreSQL while they count and record a failure.
LOGIN_LOCK_KEY = 7_370_214_553
USER_COLUMNS = (users.c.id, users.c.name, users.c.role, users.c.active)
# Every signed-in request runs this, so it is built once, its values bound: building the select
# and its cache key again on each request cost as much as the round trip itself.
SESSION_USER = (sa.select(*USER_COLUMNS).join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.token_digest == sa.bindparam("digest"),
                       sessions.c.expires_at > sa.bindparam("now"),
                       users.c.active.is_(True)))


@dataclass(frozen=True)
class Member:
    """A user as the admin page lists them, with how much they have practised."""

    user: User
    created_at: datetime
    attempts: int
    reviews: int
    last_review: datetime | None


@dataclass(frozen=True)
class Miss:
    """A key point (or a card) and how often the team's attempts left it out."""

    card_id: str
    title: str
    point: str
    missed: int
    attempts: int
    people: int

    @property
    def share(self) -> float:
        return self.missed / self.attempts if self.attempts else 0.0


def _aware(value: datetime | None) -> datetime | None:
    """An aggregate (max) loses the column's type, so its naive UTC comes back as stored."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Accounts:
    """Account operations on a Store's database; every change is one transaction."""

    def __init__(self, store: Store):
        self.store = store

    # users

    def add_user(self, name: str, password_hash: str | None, role: str, now: datetime) -> User:
        """A new user; AccountError if the name is taken."""
        with self.store.writing() as db:
            return self._insert_user(db, name, password_hash, role, now)

    @staticmethod
    def _insert_user(db: Connection, name: str, password_hash: str | None, role: str,
                     now: datetime) -> User:
        try:
            with db.begin_nested():
                user_id = db.execute(users.insert().values(
                    name=name, password_hash=password_hash, role=role, active=True,
                    created_at=now)).inserted_primary_key[0]
        except IntegrityError as error:
            raise AccountError(f"the name {name!r} is taken; choose another") from error
        return User(user_id, name, role, True)

    def user_named(self, name: str) -> User | None:
        with self.store.engine.connect() as db:
            row = db.execute(sa.select(*USER_COLUMNS).where(users.c.name == name)).first()
        return User(*row) if row else None

    def credentials(self, name: str) -> tuple[User | None, str | None]:
        """The user of that name and their password hash (None, None if there is none)."""
        with self.store.engine.connect() as db:
            row = db.execute(sa.select(*USER_COLUMNS, users.c.password_hash)
                             .where(users.c.name == name)).first()
        return (User(*row[:4]), row[4]) if row else (None, None)

    def password_hash(self, user_id: int) -> str | None:
        with self.store.engine.connect() as db:
            return db.execute(sa.select(users.c.password_hash)
                              .where(users.c.id == user_id)).scalar()

    def members(self) -> list[Member]:
        """Every user with a password (the accounts, not the laptop's implicit user), by name."""
        tried = (sa.select(attempts.c.user_id, sa.func.count().label("n"))
                 .group_by(attempts.c.user_id).subquery())
        rated = (sa.select(reviews.c.user_id, sa.func.count().label("n"),
                           sa.func.max(reviews.c.reviewed_at).label("last"))
                 .group_by(reviews.c.user_id).subquery())
        query = (sa.select(*USER_COLUMNS, users.c.created_at, sa.func.coalesce(tried.c.n, 0),
                           sa.func.coalesce(rated.c.n, 0), rated.c.last)
                 .outerjoin(tried, tried.c.user_id == users.c.id)
                 .outerjoin(rated, rated.c.user_id == users.c.id)
                 .where(users.c.password_hash.is_not(None))
                 .order_by(users.c.name))
        with self.store.engine.connect() as db:
            rows = db.execute(query).all()
        return [Member(User(*row[:4]), row[4], row[5], row[6], _aware(row[7])) for row in rows]

    def set_active(self, name: str, active: bool) -> User:
        """Enable or disable a user; disabling ends all their sessions at once."""
        with self.store.writing() as db:
            user_id = db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
            if user_id is None:
                raise AccountError(f"there is no user named {name!r}")
            db.execute(users.update().where(users.c.id == user_id).values(active=active))
            if not active:
                db.execute(sessions.delete().where(sessions.c.user_id == user_id))
            row = db.execute(sa.select(*USER_COLUMNS).where(users.c.id == user_id)).one()
        return User(*row)

    def set_password(self, user_id: int, password_hash: str, keep_session: str | None = None
                     ) -> None:
        """Change a password and end the user's sessions except the one that changed it."""
        with self.store.writing() as db:
            db.execute(users.update().where(users.c.id == user_id)
                       .values(password_hash=password_hash))
            ending = sessions.delete().where(sessions.c.user_id == user_id)
            if keep_session is not None:
                ending = ending.where(sessions.c.token_digest != keep_session)
            db.execute(ending)

    # sessions

    def start_session(self, user_id: int, digest: str, now: datetime) -> None:
        with self.store.writing() as db:
            db.execute(sessions.delete().where(sessions.c.expires_at <= now))
            db.execute(sessions.insert().values(token_digest=digest, user_id=user_id,
                                                created_at=now,
                                                expires_at=now + SESSION_LIFETIME))

    def session_user(self, digest: str, now: datetime) -> User | None:
        """The active user a live session belongs to, or None."""
        with self.store.reading() as db:
            row = db.execute(SESSION_USER, {"digest": digest, "now": now}).first()
        return User(*row) if row else None

    def end_session(self, digest: str) -> None:
        with self.store.writing() as db:
            db.execute(sessions.delete().where(sessions.c.token_digest == digest))

    # throttling

    def start_login(self, name: str, address: str, now: datetime) -> int | None:
        """Count a login as failed before its password is checked, unless throttled (None):
        the failure row's id, which forget_failure removes when the password proves right.

        Counting and recording are one transaction that logins take in turn (SQLite's write
        lock; an advisory lock on PostgreSQL): checked first and recorded after the slow hash,
        a burst of simultaneous guesses was all let through before the first one counted."""
        with self.store.writing() as db:
            if db.dialect.name == "postgresql":
                db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": LOGIN_LOCK_KEY})
            db.execute(login_failures.delete().where(
                login_failures.c.failed_at < window_start(now)))
            if throttled(*self._recent_failures(db, name, address, now)):
                return None
            return db.execute(login_failures.insert().values(
                name=name[:100], address=address[:64], failed_at=now)).inserted_primary_key[0]

    def forget_failure(self, failure_id: int) -> None:
        """Remove a failure start_login counted, for a login whose password was right."""
        with self.store.writing() as db:
            db.execute(login_failures.delete().where(login_failures.c.id == failure_id))

    def recent_failures(self, name: str, address: str, now: datetime) -> tuple[int, int]:
        """Failed logins in the throttling window: for this name, and from this address."""
        with self.store.engine.connect() as db:
            return self._recent_failures(db, name, address, now)

    @staticmethod
    def _recent_failures(db: Connection, name: str, address: str, now: datetime
                         ) -> tuple[int, int]:
        since = window_start(now)
        count = sa.select(sa.func.count()).select_from(login_failures)
        by_name = db.execute(count.where(login_failures.c.name == name[:100],
                                         login_failures.c.failed_at >= since)).scalar_one()
        by_address = db.execute(count.where(login_failures.c.address == address[:64],
                                            login_failures.c.failed_at >= since)).scalar_one()
        return by_name, by_address

    # invitations

    def invite(self, digest: str, role: str, created_by: int | None, now: datetime) -> datetime:
        """Record an invitation; returns when it expires."""
        expires = now + INVITATION_LIFETIME
        with self.store.writing() as db:
            db.execute(invitations.insert().values(token_digest=digest, role=role,
                                                   created_by=created_by, created_at=now,
                                                   expires_at=expires))
        return expires

    def invitation_open(self, digest: str, now: datetime) -> bool:
        with self.store.engine.connect() as db:
            return db.execute(sa.select(invitations.c.token_digest).where(
                invitations.c.token_digest == digest, invitations.c.used_by.is_(None),
                invitations.c.expires_at > now)).first() is not None

    def accept_invitation(self, digest: str, name: str, password_hash: str, now: datetime
                          ) -> User:
        """Create the invited user and use up the invitation, both or neither."""
        with self.store.writing() as db:
            role = db.execute(sa.select(invitations.c.role).where(
                invitations.c.token_digest == digest, invitations.c.used_by.is_(None),
                invitations.c.expires_at > now)).scalar()
            if role is None:
                raise AccountError("this invitation is used up, expired or unknown; ask for a "
                                   "new link")
            user = self._insert_user(db, name, password_hash, role, now)
            db.execute(invitations.update().where(invitations.c.token_digest == digest)
                       .values(used_by=user.id))
        return user

    # the team's progress

    def team_misses(self, limit: int = 10, recent: int = 5000) -> tuple[list[Miss], list[Miss]]:
        """The key points and the cards the team's recent graded attempts miss most.

        Reads the newest `recent` graded attempts of account holders; a card's row counts the
        share of its key points missed over all its attempts.
        """
        query = (sa.select(attempts.c.user_id, attempts.c.card_id, attempts.c.feedback,
                           cards.c.title)
                 .join(users, users.c.id == attempts.c.user_id)
                 .join(cards, cards.c.id == attempts.c.card_id)
                 .where(attempts.c.feedback.is_not(None), users.c.password_hash.is_not(None))
                 .order_by(attempts.c.id.desc()).limit(recent))
        with self.store.engine.connect() as db:
            rows = db.execute(query).all()
        return _misses(rows, limit)


def _misses(rows, limit: int) -> tuple[list[Miss], list[Miss]]:
    """Per key point and per card: attempts, misses and how many people missed it."""
    tried: Counter = Counter()
    missed: Counter = Counter()
    people: dict[tuple[str, str], set[int]] = {}
    titles = {}
    for user_id, card_id, feedback, title in rows:
        titles[card_id] = title
        for point in feedback.get("key_points", []):
            key = (card_id, point["id"])
            tried[key] += 1
            if not point["covered"]:
                missed[key] += 1
                people.setdefault(key, set()).add(user_id)
    points = [Miss(card, titles[card], point, missed[card, point], tried[card, point],
                   len(people[card, point]))
              for card, point in tried if missed[card, point]]
    points.sort(key=lambda miss: (-miss.share, -miss.missed, miss.card_id, miss.point))
    return points[:limit], _per_card(points, titles, tried)[:limit]


def _per_card(points: list[Miss], titles: dict[str, str], tried: Counter) -> list[Miss]:
    totals: dict[str, list] = {}
    for (card, _point), count in tried.items():
        totals.setdefault(card, [0, 0, 0])[1] += count
    for miss in points:
        totals[miss.card_id][0] += miss.missed
        totals[miss.card_id][2] = max(totals[miss.card_id][2], miss.people)
    rows = [Miss(card, titles[card], "", lost, total, who)
            for card, (lost, total, who) in totals.items() if lost]
    rows.sort(key=lambda miss: (-miss.share, -miss.missed, miss.card_id))
    return rows
