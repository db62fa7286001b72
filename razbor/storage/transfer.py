"""Moving history between databases: export as JSON-ready records, import all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from razbor.storage.store import StorageError, Store
from razbor.storage.tables import (
    attempts,
    card_topics,
    card_versions,
    cards,
    recordings,
    reviews,
    users,
)

EXPORT_ORDER = (("user", users), ("card", cards), ("card_topic", card_topics),
                ("card_version", card_versions), ("recording", recordings),
                ("attempt", attempts), ("review", reviews))


class AlreadyImported(StorageError):
    """History can only be imported into a database that holds none."""


def export_records(store: Store) -> Iterator[dict]:
    """All history as JSON-ready records, parents before children.

    Schedules are left out: the import rebuilds them from the review log.
    """
    with store.engine.connect() as db:
        for kind, table in EXPORT_ORDER:
            order = table.primary_key.columns.values()
            for row in db.execute(sa.select(table).order_by(*order)):
                yield {"type": kind, **{key: _jsonable(value)
                                        for key, value in row._mapping.items()}}


def import_records(store: Store, records: Iterable[dict]) -> dict[str, int]:
    """Load exported history into an empty database, all or nothing; returns counts."""
    tables = dict(EXPORT_ORDER)
    counts = dict.fromkeys(tables, 0)
    with store.engine.begin() as db:
        if db.execute(sa.select(sa.func.count()).select_from(attempts)).scalar_one() or \
                db.execute(sa.select(sa.func.count()).select_from(users)).scalar_one():
            raise AlreadyImported("the database already holds history; import into an "
                                  "empty database")
        for number, record in enumerate(records, start=1):
            kind = record.get("type")
            if kind not in tables:
                raise StorageError(f"record {number}: unknown type {kind!r}")
            table = tables[kind]
            values = {key: _from_json(table, key, value)
                      for key, value in record.items() if key != "type"}
            unknown = set(values) - set(table.columns.keys())
            if unknown:
                raise StorageError(f"record {number}: unknown fields {sorted(unknown)}")
            try:
                db.execute(table.insert().values(**values))
            except IntegrityError as error:
                raise StorageError(f"record {number}: {error.orig}") from error
            counts[kind] += 1
        _reset_sequences(db)
    store.rebuild_schedules()
    return counts


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _from_json(table: sa.Table, key: str, value):
    column = table.columns.get(key)
    if (column is not None and isinstance(value, str)
            and isinstance(column.type, sa.types.TypeDecorator)):
        return datetime.fromisoformat(value)
    return value


def _reset_sequences(db: Connection) -> None:
    # Rows imported with explicit ids leave PostgreSQL's sequences behind; move them past.
    if db.dialect.name != "postgresql":
        return
    for table in (users, card_versions, recordings, attempts, reviews):
        db.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
