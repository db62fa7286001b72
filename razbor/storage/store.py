"""The store: every read and write of practice history, one transaction per operation."""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    NoSuchModuleError,
)

from razbor.cards import Card, Deck
from razbor.scheduling import Schedule
from razbor.storage import due_counts
from razbor.storage.tables import (
    attempts,
    card_topics,
    card_versions,
    cards,
    recordings,
    reviews,
    schedules,
    user_preferences,
    users,
)

MIGRATIONS = Path(__file__).parent / "migrations"
# Row ids are INTEGER columns: 32-bit on PostgreSQL (64 on SQLite, whose ids count up from 1 the
# same way). A larger number names no row, and PostgreSQL refuses to compare it with an id, so
# lookups answer such ids as not found before any query.
MAX_ID = 2**31 - 1
SCHEMA_LOCK_KEY = 7_370_214_551
WRITES = "razbor_writes"
RETURNED_AT = "razbor_returned_at"
# Seconds a pooled PostgreSQL connection may sit idle and still be used without a ping first.
PING_AFTER_IDLE = 1.0
# Seconds an SQLite connection waits for the write lock before it gives up.
SQLITE_BUSY_SECONDS = 10.0
WAL_SWITCH_RETRY_SECONDS = 0.01


class StorageError(Exception):
    """The database could not be opened or used; the message says which and why."""


class BadDatabaseURL(StorageError):
    """The database URL, or the SQLite file it names, cannot be used: the setting needs fixing
    (unlike a server that does not answer, which may work on the next try)."""


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    user_id: int
    card_id: str
    card_version_id: int
    text: str
    answered_aloud: bool
    seconds: float
    created_at: datetime
    feedback: dict | None = None
    recording_id: int | None = None
    delivery: dict | None = None
    grading: str | None = None
    grading_claimed_at: datetime | None = None


@dataclass(frozen=True)
class RecordingRecord:
    id: int
    user_id: int
    card_id: str
    filename: str
    mime: str
    size: int
    duration: float
    status: str
    progress: float
    transcript: dict | None
    error: str | None
    created_at: datetime
    heartbeat_at: datetime | None = None


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    user_id: int
    card_id: str
    attempt_id: int
    rating: int
    state_before: Schedule | None
    state_after: Schedule
    reviewed_at: datetime


@dataclass(frozen=True)
class TopicCounts:
    topic: str
    due: int
    new: int
    learned: int


@dataclass(frozen=True)
class NextCardState:
    """What choosing the next card reads: the user's target date (as stored, None if unset),
    the most overdue card, the first new card (read only when none is due) and how many new
    cards the user started since a moment."""

    interview_date: date | None
    interview_topics: list[str] | None
    due_card_id: str | None
    new_card_id: str | None
    started: int


SUPPORTED_URLS = "sqlite:///path/to/razbor.sqlite3 or postgresql://user@host/name"
DRIVERS = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql+psycopg",
           "postgresql+psycopg": "postgresql+psycopg"}
SQLITE_HEADER = b"SQLite format 3\x00"


# The statements behind every page are built once, with their values as parameters: building
# and fingerprinting a select again on each call costs more CPU than running it.
INTRODUCED_SINCE = (sa.select(sa.func.count()).select_from(schedules)
                    .where(schedules.c.user_id == sa.bindparam("user_id"),
                           schedules.c.introduced_at >= sa.bindparam("since")))
REVIEW_OF_ATTEMPT = sa.select(reviews).where(reviews.c.attempt_id == sa.bindparam("attempt_id"))
SCHEDULE_OF_CARD = sa.select(schedules).where(schedules.c.user_id == sa.bindparam("user_id"),
                                              schedules.c.card_id == sa.bindparam("card_id"))
REVIEW_COLUMNS = [column.label(f"review_{column.name}") for column in reviews.c]
ATTEMPT_WITH_REVIEW = (sa.select(attempts, *REVIEW_COLUMNS)
                       .outerjoin(reviews, reviews.c.attempt_id == attempts.c.id)
                       .where(attempts.c.id == sa.bindparam("attempt_id")))
# What a rating reads once it holds its card's lock, in one round trip: the attempt's review
# if another rating got there first, the card's schedule, and the topic its due count is in.
_ONE_ROW = sa.select(sa.literal(1).label("one")).subquery("one")
RATING_STATE = (sa.select(*REVIEW_COLUMNS, *SCHEDULE_OF_CARD.selected_columns,
                          sa.select(cards.c.topic)
                          .where(cards.c.id == sa.bindparam("card_id"),
                                 cards.c.retired.is_(False))
                          .scalar_subquery().label("counted_topic"))
                .select_from(_ONE_ROW
                             .outerjoin(reviews, reviews.c.attempt_id == sa.bindparam("attempt_id"))
                             .outerjoin(schedules, sa.and_(
                                 schedules.c.user_id == sa.bindparam("user_id"),
                                 schedules.c.card_id == sa.bindparam("card_id")))))
# A rating's writes take their values as parameters (an insert or update with .values() is
# built and fingerprinted anew on each call); the SET clause is the parameters' column names.
UPDATE_SCHEDULE = schedules.update().where(schedules.c.user_id == sa.bindparam("schedule_user"),
                                           schedules.c.card_id == sa.bindparam("schedule_card"))
HISTORY_MARKER = (sa.select(reviews.c.reviewed_at, reviews.c.id,
                            due_counts.STARTED.label("started"))
                  .where(reviews.c.user_id == sa.bindparam("user_id"))
                  .order_by(reviews.c.reviewed_at.desc(), reviews.c.id.desc()).limit(1))


def _database_url(url: str, create: bool) -> URL:
    """The parsed URL with razbor's driver; BadDatabaseURL for anything razbor cannot use."""
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError as error:
        raise BadDatabaseURL(f"{url!r} is not a database URL (fix: use {SUPPORTED_URLS})"
                             ) from error
    if parsed.drivername not in DRIVERS:
        raise BadDatabaseURL(f"the scheme {parsed.drivername}:// is not supported "
                             f"(fix: use {SUPPORTED_URLS})")
    parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    if parsed.drivername == "sqlite":
        parsed = parsed.set(database=str(_sqlite_file(parsed.database, create)))
    return parsed


def _sqlite_file(database: str | None, create: bool) -> Path:
    """The path of an SQLite file razbor can use; a new one (create=True) gets its folder."""
    if database in (None, "", ":memory:"):
        raise BadDatabaseURL("an SQLite URL needs a file path; an in-memory database would lose "
                             "every answer on exit (fix: use sqlite:///path/to/razbor.sqlite3)")
    path = Path(database).expanduser()
    try:
        exists = path.exists()
        if path.is_dir():
            raise BadDatabaseURL(f"{path} is a folder, not an SQLite file (fix: name a file in "
                                 f"it, e.g. sqlite:///{path / 'razbor.sqlite3'})")
        if exists:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_HEADER))
            if header and header != SQLITE_HEADER:
                raise BadDatabaseURL(f"{path} is not an SQLite database (fix: point the URL at "
                                     "a razbor database or at a file that does not exist yet)")
    except OSError as error:
        raise BadDatabaseURL(f"cannot read the database file {path}: {error.strerror} (fix: "
                             "pick a file you can read and write)") from error
    if not exists and not create:
        raise BadDatabaseURL(f"there is no database at {path} (fix: check the path; "
                             "`razbor serve` or `razbor practice` creates one)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadDatabaseURL(f"cannot create the database folder {path.parent}: "
                             f"{error.strerror} (fix: pick a folder you can write to)") from error
    return path


def _engine(url: URL) -> Engine:
    try:
        engine = sa.create_engine(url)
    except (NoSuchModuleError, ImportError) as error:
        raise StorageError(f"no driver for {url.drivername} ({error}) (fix: pip install "
                           "'razbor[postgres]' for PostgreSQL)") from error
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    else:
        sa.event.listen(engine.pool, "checkin", _note_checkin)
        sa.event.listen(engine.pool, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


def _note_checkin(_dbapi_connection, record) -> None:
    record.info[RETURNED_AT] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record, _proxy) -> None:
    """Make sure a pooled server connection still works before using it, if it sat idle.

    A connection the server dropped (a restart, an idle timeout) would otherwise fail the
    request that draws it. Pinging on every checkout, as pool_pre_ping does, adds a round trip
    to each of the several reads a page makes; a connection used less than PING_AFTER_IDLE
    seconds ago worked then, and a server restart takes longer than that, so a connection
    that outlived one has always been idle long enough to be pinged. (A connection that fails
    in use makes SQLAlchemy drop every pooled connection as well.)
    """
    returned_at = record.info.get(RETURNED_AT)
    if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        raise DisconnectionError(f"pooled connection is gone: {error}") from error


def _write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that writes: on SQLite it holds the write lock from its first statement."""
    return engine.execution_options(**{WRITES: True}).begin()


def _upgrade(engine: Engine) -> None:
    """Bring razbor's schema up to date in one transaction; errors say why it cannot be.

    Servers started together on a new database take turns: the first creates the schema,
    the others find it made.
    """
    try:
        with _write_transaction(engine) as connection:
            _lock_schema(connection)
            _refuse_foreign_schema(connection, engine.url)
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as error:
        raise BadDatabaseURL(f"{engine.url!r} has a schema this razbor does not know ({error}) "
                             "(fix: upgrade razbor, or use another database)") from error
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise StorageError(f"cannot open database {engine.url!r}: {reason} (fix: check that "
                           "the server runs and the URL is right)") from error


def _refuse_foreign_schema(connection: Connection, url: URL) -> None:
    """Refuse a database another application owns, before the migrations add tables to it."""
    tables = sa.inspect(connection).get_table_names()
    if tables and "alembic_version" not in tables:
        raise BadDatabaseURL(f"{url!r} holds tables that are not razbor's ({', '.join(tables[:3])}"
                             f"{', ...' if len(tables) > 3 else ''}) (fix: use a new or razbor's "
                             "own database)")


def _lock_schema(db: Connection) -> None:
    """Make processes that migrate or sync the deck take turns, until this transaction ends.

    SQLite needs nothing more: a write transaction already holds its only write lock.
    """
    if db.dialect.name == "postgresql":
        db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def _lock_card(db: Connection, user_id: int, card_id: str) -> None:
    """Make ratings of one user's card take turns, until this transaction ends.

    A row lock cannot do it: a card's first rating has no schedule row to lock yet. The key
    is the user and a stable hash of the card; two cards sharing a hash only wait for each
    other. SQLite needs nothing more: a write transaction already holds its only write lock.
    """
    if db.dialect.name == "postgresql":
        card_key = zlib.crc32(card_id.encode()) - 2**31
        db.execute(sa.text("SELECT pg_advisory_xact_lock(:user_id, :card_key)"),
                   {"user_id": user_id, "card_key": card_key})


def _sqlite_connect(dbapi_connection, _record) -> None:
    """Hand transaction control to SQLAlchemy (its pysqlite recipe) and set the pragmas.

    The busy timeout comes first and makes a writer wait for the lock instead of failing;
    WAL lets readers run beside the writer; FULL sync makes an acknowledged write survive a
    crash.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    _switch_to_wal(cursor)
    for pragma in ("synchronous=FULL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """Put the file in WAL mode, retrying while other connections do the same.

    Switching a new file to WAL needs it alone. When several connections open it at once,
    each holding a read lock and asking for the write lock, SQLite answers "database is
    locked" at once rather than wait the busy timeout, since waiting could deadlock. So
    servers started together on a new file would fail; instead each retries, within the
    same time the busy timeout would have allowed.
    """
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_SECONDS)


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE for a write transaction, so it waits for the write lock up front.

    A writer begun as a reader works from a snapshot another writer may outdate: it would
    compute from old state, and SQLite fails it with "database is locked" at once rather
    than letting it wait. Reads begin deferred and never block or wait in WAL mode.
    """
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _schedule(value: dict | None) -> Schedule | None:
    return Schedule.from_dict(value) if value else None


def _review_in(values) -> ReviewRecord | None:
    """The review among a row's review_* columns (None if the outer join found none)."""
    if values["review_id"] is None:
        return None
    return _review_record({column.name: values[f"review_{column.name}"]
                           for column in reviews.c})


def _schedule_in(values) -> Schedule | None:
    """The schedule among a row's schedules columns (None if the outer join found none)."""
    if values["due"] is None:
        return None
    return Schedule(state=values["state"], step=values["step"], stability=values["stability"],
                    difficulty=values["difficulty"], due=values["due"],
                    last_review=values["last_review"])


def _review_record(row) -> ReviewRecord:
    """A review from its stored values (a row, or the values just inserted)."""
    return ReviewRecord(**{**row, "state_before": _schedule(row["state_before"]),
                           "state_after": _schedule(row["state_after"])})


class Store:
    """Practice history in a SQL database (SQLite file or PostgreSQL server)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sizes: dict[str, int] | None = None
        self._reads = (engine.execution_options(isolation_level="AUTOCOMMIT")
                       if engine.dialect.name == "postgresql" else engine)
        # Made once: an engine with options is a new object, and each begin on a fresh one
        # costs about as much again as on this one.
        self._writes = engine.execution_options(**{WRITES: True})

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for reads that need no single moment (see snapshot for those).

        On PostgreSQL it runs each statement on its own, as READ COMMITTED would anyway, but
        without the BEGIN and ROLLBACK round trips around it: a page makes several such reads.
        On SQLite the statements of one connection share a transaction, which costs nothing.
        """
        return self._reads.connect()

    def writing(self) -> AbstractContextManager[Connection]:
        """A write transaction; on SQLite it waits for the write lock before its first read."""
        return self._writes.begin()

    def snapshot(self) -> AbstractContextManager[Connection]:
        """A read transaction that sees one moment throughout, while servers keep writing.

        An SQLite transaction always does; PostgreSQL's default lets each statement see a
        later moment, so a long read could find a review whose attempt it read too early.
        """
        if self.engine.dialect.name == "postgresql":
            return self.engine.execution_options(isolation_level="REPEATABLE READ").connect()
        return self.engine.connect()

    @classmethod
    def open(cls, url: str, create: bool = True) -> Store:
        """Connect and bring the schema up to date; StorageError if that is impossible.

        With create=False a missing SQLite file is refused rather than made empty, for
        commands that only read history. BadDatabaseURL means the URL itself is unusable.
        """
        engine = _engine(_database_url(url, create))
        try:
            _upgrade(engine)
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # users and cards

    def ensure_user(self, name: str, now: datetime) -> int:
        """The id of the named user, created on first use."""
        with self.writing() as db:
            found = db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
            if found is not None:
                return found
            try:
                with db.begin_nested():
                    return db.execute(users.insert().values(name=name, created_at=now)
                                      ).inserted_primary_key[0]
            except IntegrityError:
                return db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()

    def sync_deck(self, deck: Deck, now: datetime) -> dict[str, int]:
        """Record the deck's cards, adding a content version for every edit; returns version ids.

        Only what changed is written, in bulk, so starting on an unchanged deck is cheap.
        Cards that left the deck are retired, not deleted, so their history stays readable.
        Servers starting together take turns, so each finds the cards the others added.
        """
        with self.writing() as db:
            _lock_schema(db)
            existing = {row.id: row for row in db.execute(sa.select(cards))}
            new_cards = [card for card in deck if card.id not in existing]
            if new_cards:
                db.execute(cards.insert(), [
                    {"id": card.id, "title": card.title, "topic": card.topic, "position": 0,
                     "retired": False} for card in new_cards])
            versions = self._ensure_versions(db, deck, now)
            self._update_cards(db, deck, existing, versions)
            self._sync_topics(db, deck)
            gone = {card_id for card_id, row in existing.items()
                    if card_id not in versions and not row.retired}
            if gone:
                db.execute(cards.update().where(cards.c.id.in_(gone)).values(retired=True))
            if gone or _regrouped(deck, existing):
                due_counts.recount(db)
        self._sizes = None
        return versions

    @staticmethod
    def _ensure_versions(db: Connection, deck: Deck, now: datetime) -> dict[str, int]:
        def known() -> dict[tuple[str, str], int]:
            return {(row.card_id, row.content_hash): row.id for row in db.execute(
                sa.select(card_versions.c.card_id, card_versions.c.content_hash,
                          card_versions.c.id))}

        found = known()
        hashes = {card.id: card.content_hash() for card in deck}
        missing = [{"card_id": card.id, "content_hash": hashes[card.id],
                    "content": card.to_dict(), "created_at": now}
                   for card in deck if (card.id, hashes[card.id]) not in found]
        if missing:
            db.execute(card_versions.insert(), missing)
            found = known()
        return {card.id: found[(card.id, hashes[card.id])] for card in deck}

    @staticmethod
    def _update_cards(db: Connection, deck: Deck, existing: dict, versions: dict[str, int]
                      ) -> None:
        changes = []
        for position, card in enumerate(deck):
            wanted = {"title": card.title, "topic": card.topic, "position": position,
                      "retired": False, "current_version_id": versions[card.id]}
            row = existing.get(card.id)
            if row is None or any(getattr(row, key) != value for key, value in wanted.items()):
                changes.append({"key": card.id, **wanted})
        if changes:
            db.execute(cards.update().where(cards.c.id == sa.bindparam("key")).values(
                **{name: sa.bindparam(name) for name in changes[0] if name != "key"}), changes)

    @staticmethod
    def _sync_topics(db: Connection, deck: Deck) -> None:
        stored = {(row.card_id, row.topic) for row in db.execute(sa.select(card_topics))}
        wanted = {(card.id, topic) for card in deck for topic in card.topics}
        stale = {card_id for card_id, _ in stored - wanted}
        if stale:
            db.execute(card_topics.delete().where(card_topics.c.card_id.in_(stale)))
            stored = {pair for pair in stored if pair[0] not in stale}
        added = wanted - stored
        if added:
            db.execute(card_topics.insert(),
                       [{"card_id": card_id, "topic": topic} for card_id, topic in added])

    def card_version(self, version_id: int) -> Card:
        """The card content as it was when an attempt was made."""
        with self.reading() as db:
            content = db.execute(sa.select(card_versions.c.content)
                                 .where(card_versions.c.id == version_id)).scalar_one()
        return Card.from_dict(content)

    # attempts and reviews

    def add_attempt(self, user_id: int, card_id: str, version_id: int, text: str,
                    answered_aloud: bool, seconds: float, now: datetime,
                    feedback: dict | None = None, recording_id: int | None = None,
                    delivery: dict | None = None, grading: str | None = None) -> AttemptRecord:
        """Store an attempt with its feedback, or with grading "queued" for feedback to come;
        it is committed when this returns."""
        values = {"user_id": user_id, "card_id": card_id, "card_version_id": version_id,
                  "text": text, "answered_aloud": answered_aloud, "seconds": seconds,
                  "created_at": now, "feedback": feedback, "recording_id": recording_id,
                  "delivery": delivery, "grading": grading}
        with self.writing() as db:
            attempt_id = db.execute(attempts.insert().values(**values)).inserted_primary_key[0]
        return AttemptRecord(id=attempt_id, **values)

    def ungraded_attempts(self) -> list[int]:
        """The attempts still waiting for their feedback, oldest first."""
        with self.reading() as db:
            return list(db.execute(sa.select(attempts.c.id).where(attempts.c.grading.is_not(None))
                                   .order_by(attempts.c.id)).scalars())

    def claim_grading(self, attempt_id: int, now: datetime, stale_before: datetime) -> bool:
        """Claim a waiting attempt for grading: True for exactly one of the processes asking,
        until its claim is older than stale_before (its process died mid-grading)."""
        with self.writing() as db:
            return db.execute(attempts.update().where(
                attempts.c.id == attempt_id, attempts.c.grading.is_not(None),
                sa.or_(attempts.c.grading_claimed_at.is_(None),
                       attempts.c.grading_claimed_at < stale_before),
            ).values(grading_claimed_at=now)).rowcount == 1

    def release_grading(self, attempt_id: int) -> None:
        """Give up a claim on an attempt to grade, which stays waiting."""
        with self.writing() as db:
            db.execute(attempts.update().where(attempts.c.id == attempt_id)
                       .values(grading_claimed_at=None))

    def finish_grading(self, attempt_id: int, feedback: dict, delivery: dict | None) -> bool:
        """Store a waiting attempt's feedback; False if it was no longer waiting (another
        process graded it first), and then nothing changes."""
        with self.writing() as db:
            return db.execute(attempts.update().where(
                attempts.c.id == attempt_id, attempts.c.grading.is_not(None),
            ).values(feedback=feedback, delivery=delivery, grading=None,
                     grading_claimed_at=None)).rowcount == 1

    def attempt(self, attempt_id: int) -> AttemptRecord | None:
        found = self.attempt_with_review(attempt_id)
        return found[0] if found else None

    def attempt_with_review(self, attempt_id: int
                            ) -> tuple[AttemptRecord, ReviewRecord | None] | None:
        """An attempt and its review if it is rated (None: no such attempt), in one read."""
        if not 0 < attempt_id <= MAX_ID:
            return None
        with self.reading() as db:
            row = db.execute(ATTEMPT_WITH_REVIEW, {"attempt_id": attempt_id}).first()
        if row is None:
            return None
        values = row._mapping
        attempt = AttemptRecord(**{column.name: values[column.name] for column in attempts.c})
        return attempt, _review_in(values)

    def review_of(self, attempt_id: int) -> ReviewRecord | None:
        with self.reading() as db:
            return self._review_of(db, attempt_id)

    @staticmethod
    def _review_of(db: Connection, attempt_id: int) -> ReviewRecord | None:
        row = db.execute(REVIEW_OF_ATTEMPT, {"attempt_id": attempt_id}).first()
        return _review_record(row._mapping) if row else None

    def add_review(self, attempt: AttemptRecord, rating: int, now: datetime,
                   next_schedule: Callable[[Schedule | None], Schedule]
                   ) -> tuple[ReviewRecord, bool]:
        """Rate an attempt once: returns the review and whether it was created now.

        Ratings of one card take turns, also across processes, so each starts from the
        schedule the previous one left, and a second rating of an attempt, even one sent at
        the same moment, finds the first review and returns it unchanged. Once the turn is
        taken, one read and at most three writes do the rest.
        """
        with self.writing() as db:
            _lock_card(db, attempt.user_id, attempt.card_id)
            state = db.execute(RATING_STATE, {"attempt_id": attempt.id,
                                              "user_id": attempt.user_id,
                                              "card_id": attempt.card_id}).one()._mapping
            existing = _review_in(state)
            if existing:
                return existing, False
            before = _schedule_in(state)
            after = next_schedule(before)
            values = {"user_id": attempt.user_id, "card_id": attempt.card_id,
                      "attempt_id": attempt.id, "rating": rating,
                      "state_before": before.to_dict() if before else None,
                      "state_after": after.to_dict(), "reviewed_at": now}
            review_id = db.execute(reviews.insert(), values).inserted_primary_key[0]
            self._save_schedule(db, attempt.user_id, attempt.card_id, after,
                                introduced=before is None, now=now)
            due_counts.move(db, attempt.user_id, state["counted_topic"],
                            before.due if before else None, after.due)
        return _review_record({"id": review_id, **values}), True

    @staticmethod
    def _schedule_of(db: Connection, user_id: int, card_id: str) -> Schedule | None:
        row = db.execute(SCHEDULE_OF_CARD, {"user_id": user_id, "card_id": card_id}).first()
        return _schedule_in(row._mapping) if row else None

    @staticmethod
    def _save_schedule(db: Connection, user_id: int, card_id: str, schedule: Schedule,
                       introduced: bool, now: datetime) -> None:
        row = _schedule_row(user_id, card_id, schedule, now)
        if introduced:
            db.execute(schedules.insert(), row)
        else:
            changed = {name: value for name, value in row.items()
                       if name not in ("user_id", "card_id", "introduced_at")}
            db.execute(UPDATE_SCHEDULE, {**changed, "schedule_user": user_id,
                                         "schedule_card": card_id})

    def schedule(self, user_id: int, card_id: str) -> Schedule | None:
        with self.reading() as db:
            return self._schedule_of(db, user_id, card_id)

    def history(self, user_id: int, card_id: str) -> list[tuple[AttemptRecord,
                                                                  ReviewRecord | None]]:
        """Every attempt of a card by a user, newest first, each with its review if rated."""
        with self.reading() as db:
            rows = db.execute(sa.select(attempts).where(attempts.c.user_id == user_id,
                                                        attempts.c.card_id == card_id)
                              .order_by(attempts.c.created_at.desc(), attempts.c.id.desc()))
            found = [AttemptRecord(**row._mapping) for row in rows]
            return [(attempt, self._review_of(db, attempt.id)) for attempt in found]

    # recordings

    def add_recording(self, user_id: int, card_id: str, filename: str, mime: str, size: int,
                      duration: float, now: datetime) -> RecordingRecord:
        """Record an accepted upload, queued for transcription."""
        with self.writing() as db:
            recording_id = db.execute(recordings.insert().values(
                user_id=user_id, card_id=card_id, filename=filename, mime=mime, size=size,
                duration=duration, status="queued", progress=0.0, created_at=now,
            )).inserted_primary_key[0]
        return self.recording(recording_id)

    def recording(self, recording_id: int) -> RecordingRecord | None:
        if not 0 < recording_id <= MAX_ID:
            return None
        with self.reading() as db:
            row = db.execute(sa.select(recordings).where(recordings.c.id == recording_id)).first()
        return RecordingRecord(**row._mapping) if row else None

    def update_recording(self, recording_id: int, **values) -> None:
        with self.writing() as db:
            db.execute(recordings.update().where(recordings.c.id == recording_id).values(**values))

    def claim_recording(self, recording_id: int, *statuses: str, now: datetime) -> bool:
        """Mark a recording running if it is in one of these states; whether this call did.

        Of several processes offered the same job, exactly one gets it.
        """
        with self.writing() as db:
            return db.execute(recordings.update().where(
                recordings.c.id == recording_id, recordings.c.status.in_(statuses)
            ).values(status="running", progress=0.0, heartbeat_at=now)).rowcount == 1

    def beat_recordings(self, recording_ids: Iterable[int], now: datetime) -> None:
        """Mark the running recordings of this process as still being transcribed."""
        ids = list(recording_ids)
        if ids:
            with self.writing() as db:
                db.execute(recordings.update().where(
                    recordings.c.id.in_(ids), recordings.c.status == "running"
                ).values(heartbeat_at=now))

    def requeue_stalled_recordings(self, silent_since: datetime) -> list[int]:
        """Queue again the running recordings with no heartbeat since `silent_since` (their
        process died), and return their ids: of several processes asking at once, each
        recording goes to exactly one (SQLite's write lock, or row locks that the others skip
        on PostgreSQL). Most calls find none, and only read."""
        stalled = sa.select(recordings.c.id).where(
            recordings.c.status == "running",
            sa.or_(recordings.c.heartbeat_at.is_(None), recordings.c.heartbeat_at < silent_since),
        ).order_by(recordings.c.id)
        with self.reading() as db:
            if db.execute(stalled.limit(1)).first() is None:
                return []
        with self.writing() as db:
            ids = list(db.execute(stalled.with_for_update(skip_locked=True)).scalars())
            if ids:
                db.execute(recordings.update().where(recordings.c.id.in_(ids))
                           .values(status="queued", progress=0.0))
            return ids

    def recordings_with_status(self, *statuses: str) -> list[int]:
        """Ids of recordings in the given states, oldest first."""
        with self.reading() as db:
            return list(db.execute(sa.select(recordings.c.id).where(
                recordings.c.status.in_(statuses)).order_by(recordings.c.id)).scalars())

    # the queue

    def due_card_ids(self, user_id: int, now: datetime, topic: str | None = None,
                     limit: int = 10) -> list[str]:
        """Cards whose review is due, most overdue first."""
        with self.reading() as db:
            return list(db.execute(_due_query(bool(topic)), {
                "user_id": user_id, "now": now, "topic": topic, "limit": limit}).scalars())

    def new_card_ids(self, user_id: int, topic: str | None = None, limit: int = 10) -> list[str]:
        """Cards the user has never rated, in deck order."""
        with self.reading() as db:
            return list(db.execute(_new_query(bool(topic)), {
                "user_id": user_id, "topic": topic, "limit": limit}).scalars())

    def next_card_state(self, user_id: int, topic: str | None, now: datetime,
                        since: datetime) -> NextCardState:
        """What the next-card page reads first, in one round trip: with no target date (or
        one already past) it is all the page needs; see _next_card_query."""
        with self.reading() as db:
            row = db.execute(_next_card_query(bool(topic)), {
                "user_id": user_id, "topic": topic, "now": now, "since": since,
                "limit": 1}).one()
        return NextCardState(**row._mapping)

    def history_marker(self, user_id: int) -> tuple[datetime, int, int] | None:
        """When the user's newest review was made, its id and how many cards they have started
        (None before any review): a marker that changes whenever a rating adds a review or an
        import adds history, even history dated before the newest review (an import always
        starts cards: it refuses cards with history). Read from indexes, not a scan."""
        with self.reading() as db:
            row = db.execute(HISTORY_MARKER, {"user_id": user_id}).first()
        return (row.reviewed_at, row.id, row.started) if row else None

    def introduced_since(self, user_id: int, since: datetime) -> int:
        """How many new cards the user started since a moment (for the daily limit)."""
        with self.reading() as db:
            return db.execute(INTRODUCED_SINCE, {"user_id": user_id, "since": since}
                              ).scalar_one()

    def topic_counts(self, user_id: int, now: datetime) -> list[TopicCounts]:
        """Due, new and learned cards per primary topic, in deck order.

        Read from the per-day counts (see due_counts) and the deck's topic sizes, which change
        only when a deck is synced, so the cost does not grow with the cards a user has seen.
        """
        with self.reading() as db:
            progress = due_counts.due_and_seen(db, user_id, now)
            sizes = self._topic_sizes(db)
        result = []
        for topic, size in sizes.items():
            due, seen = progress.get(topic, (0, 0))
            result.append(TopicCounts(topic, due=due, new=max(0, size - seen),
                                      learned=seen - due))
        return result

    def _topic_sizes(self, db: Connection) -> dict[str, int]:
        """Cards per primary topic in deck order, cached until this store syncs a deck."""
        if self._sizes is None:
            self._sizes = {topic: count for topic, count, _first in db.execute(
                sa.select(cards.c.topic, sa.func.count(), sa.func.min(cards.c.position))
                .where(cards.c.retired.is_(False)).group_by(cards.c.topic)
                .order_by(sa.func.min(cards.c.position)))}
        return self._sizes

    def reviews_between(self, user_id: int, start: datetime, end: datetime
                        ) -> list[ReviewRecord]:
        """The review log of a user in a time window, oldest first."""
        with self.reading() as db:
            ids = db.execute(sa.select(reviews.c.attempt_id).where(
                reviews.c.user_id == user_id, reviews.c.reviewed_at >= start,
                reviews.c.reviewed_at < end).order_by(reviews.c.id)).scalars().all()
            return [self._review_of(db, attempt_id) for attempt_id in ids]

    def rebuild_schedules(self) -> int:
        """Recreate every schedule from the append-only review log; returns how many."""
        with self.writing() as db:
            return self.rebuild_schedules_in(db)

    @staticmethod
    def rebuild_schedules_in(db: Connection) -> int:
        """rebuild_schedules inside a caller's transaction, so an import commits both or none."""
        key = (reviews.c.user_id, reviews.c.card_id)
        ranked = sa.select(
            reviews.c.user_id, reviews.c.card_id, reviews.c.state_after,
            sa.func.row_number().over(partition_by=key, order_by=reviews.c.id.desc()
                                      ).label("newest"),
            sa.func.min(reviews.c.reviewed_at).over(partition_by=key).label("introduced"),
        ).subquery()
        latest = sa.select(ranked.c.user_id, ranked.c.card_id, ranked.c.state_after,
                           ranked.c.introduced).where(ranked.c.newest == 1)
        db.execute(schedules.delete())
        rows = [_schedule_row(user_id, card_id, Schedule.from_dict(state), introduced)
                for user_id, card_id, state, introduced in db.execute(latest)]
        if rows:
            db.execute(schedules.insert(), rows)
        due_counts.recount(db)
        return len(rows)


@cache
def _due_query(in_topic: bool) -> sa.Select:
    """Due cards of a user (bound: user_id, now, limit, and topic if in_topic)."""
    query = (sa.select(schedules.c.card_id)
             .join(cards, cards.c.id == schedules.c.card_id)
             .where(schedules.c.user_id == sa.bindparam("user_id"),
                    schedules.c.due <= sa.bindparam("now"), cards.c.retired.is_(False))
             .order_by(schedules.c.due).limit(sa.bindparam("limit")))
    return _in_topic(query) if in_topic else query


@cache
def _new_query(in_topic: bool) -> sa.Select:
    """Cards a user has never rated (bound: user_id, limit, and topic if in_topic)."""
    seen = sa.select(schedules.c.card_id).where(schedules.c.user_id == sa.bindparam("user_id"),
                                                schedules.c.card_id == cards.c.id)
    query = (sa.select(cards.c.id).where(cards.c.retired.is_(False), ~seen.exists())
             .order_by(cards.c.position).limit(sa.bindparam("limit")))
    return _in_topic(query) if in_topic else query


@cache
def _next_card_query(in_topic: bool) -> sa.Select:
    """The user's target date, the first due card, the first new card if none is due, and
    the count of cards started since (bound: user_id, now, since, limit, and topic if
    in_topic). The new-card search, which may pass every card the user has seen, runs only
    when nothing is due."""
    due = _due_query(in_topic)

    def preference(column: sa.Column) -> sa.ScalarSelect:
        return (sa.select(column).where(user_preferences.c.user_id == sa.bindparam("user_id"))
                .scalar_subquery())

    return sa.select(
        preference(user_preferences.c.interview_date).label("interview_date"),
        preference(user_preferences.c.interview_topics).label("interview_topics"),
        due.scalar_subquery().label("due_card_id"),
        sa.case((due.exists(), sa.null()),
                else_=_new_query(in_topic).scalar_subquery()).label("new_card_id"),
        INTRODUCED_SINCE.scalar_subquery().label("started"))


def _in_topic(query: sa.Select) -> sa.Select:
    return query.where(sa.exists().where(card_topics.c.card_id == cards.c.id,
                                         card_topics.c.topic == sa.bindparam("topic")))


def _regrouped(deck: Deck, existing: dict) -> bool:
    """Whether a card already stored changed topic or came back from retirement."""
    return any(card.id in existing and (existing[card.id].topic != card.topic
                                        or existing[card.id].retired) for card in deck)


def _schedule_row(user_id: int, card_id: str, schedule: Schedule, introduced: datetime) -> dict:
    return {"user_id": user_id, "card_id": card_id, "state": schedule.state,
            "step": schedule.step, "stability": schedule.stability,
            "difficulty": schedule.difficulty, "due": schedule.due,
            "last_review": schedule.last_review, "introduced_at": introduced}
