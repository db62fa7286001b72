"""Moving history between databases: export as JSON-ready records, import all or nothing.

History is everything a user made: attempts and their reviews, recordings, mock interviews with
their questions, and preferences (the target date of the readiness plan and fitted FSRS
parameters). Schedules and due counts are derived from the reviews and rebuilt on import;
sign-in sessions, invitations and login failures are not history and stay behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from razbor.storage.store import StorageError, Store
from razbor.storage.tables import (
    attempts,
    card_topics,
    card_versions,
    cards,
    fsrs_parameters,
    interview_questions,
    interviews,
    recordings,
    reviews,
    user_preferences,
    users,
)

EXPORT_ORDER = (("user", users), ("card", cards), ("card_topic", card_topics),
                ("card_version", card_versions), ("recording", recordings),
                ("attempt", attempts), ("review", reviews), ("interview", interviews),
                ("interview_question", interview_questions), ("preference", user_preferences),
                ("fsrs_fit", fsrs_parameters))


class AlreadyImported(StorageError):
    """History can only be imported into a database that holds none."""


def export_records(store: Store) -> Iterator[dict]:
    """All history as JSON-ready records, parents before children.

    Schedules are left out: the import rebuilds them from the review log. One snapshot is
    read, so an export taken while a server runs is whole: no review without its attempt.
    """
    with store.snapshot() as db:
        for kind, table in EXPORT_ORDER:
            order = table.primary_key.columns.values()
            for row in db.execute(sa.select(table).order_by(*order)):
                yield {"type": kind, **{key: _jsonable(value)
                                        for key, value in row._mapping.items()}}


class NotAnExport(StorageError):
    """A file that is not razbor's JSON Lines export; the message names its file and line."""


def read_export(lines: Iterable[str], name: str) -> list[tuple[str, dict]]:
    """Each record of an export with its place (NAME:LINE), read whole before anything is
    written, so a wrong file is refused without opening a database."""
    fix = "(fix: pass a file written by `razbor export`)"
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        place = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise NotAnExport(f"{place}: not JSON ({error.msg}, column {error.colno}) {fix}"
                              ) from error
        problem = _record_problem(record)
        if problem:
            raise NotAnExport(f"{place}: {problem} {fix}")
        records.append((place, record))
    if not records:
        raise NotAnExport(f"{name}: no records, the file is empty {fix}")
    return records


def _record_problem(record) -> str | None:
    tables = dict(EXPORT_ORDER)
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if record.get("type") not in tables:
        return f"unknown record type {record.get('type')!r}"
    unknown = set(record) - {"type"} - set(tables[record["type"]].columns.keys())
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    return None


def import_records(store: Store, records: Iterable[dict] | Iterable[tuple[str, dict]]
                   ) -> dict[str, int]:
    """Load exported history into an empty database, all or nothing; returns counts.

    Records may come with their places (from read_export), which errors then name instead of
    the record number. Schedules are rebuilt in the same transaction.
    """
    tables = dict(EXPORT_ORDER)
    counts = dict.fromkeys(tables, 0)
    with store.writing() as db:
        if db.execute(sa.select(sa.func.count()).select_from(attempts)).scalar_one() or \
                db.execute(sa.select(sa.func.count()).select_from(users)).scalar_one():
            raise AlreadyImported("the database already holds history; import into an "
                                  "empty database")
        for number, item in enumerate(records, start=1):
            place, record = item if isinstance(item, tuple) else (f"record {number}", item)
            problem = _record_problem(record)
            if problem:
                raise StorageError(f"{place}: {problem}")
            _insert(db, place, tables[record["type"]], record)
            counts[record["type"]] += 1
        _reset_sequences(db)
        try:
            store.rebuild_schedules_in(db)
        except (KeyError, TypeError, ValueError) as error:
            raise StorageError(f"a review holds an unreadable schedule ({error!r}); nothing "
                               "was imported") from error
    return counts


def _insert(db: Connection, place: str, table: sa.Table, record: dict) -> None:
    try:
        values = {key: _from_json(table, key, value)
                  for key, value in record.items() if key != "type"}
        db.execute(table.insert().values(**values))
    except (ValueError, TypeError) as error:
        raise StorageError(f"{place}: {error}") from error
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise StorageError(f"{place}: {str(reason).strip().splitlines()[0]}") from error


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


def _from_json(table: sa.Table, key: str, value):
    column = table.columns.get(key)
    if column is None or not isinstance(value, str):
        return value
    if isinstance(column.type, sa.types.TypeDecorator):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


def _reset_sequences(db: Connection) -> None:
    # Rows imported with explicit ids leave PostgreSQL's sequences behind; move them past.
    if db.dialect.name != "postgresql":
        return
    for table in (users, card_versions, recordings, attempts, reviews, interviews):
        db.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
