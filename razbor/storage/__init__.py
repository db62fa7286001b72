"""Durable practice history: SQLAlchemy tables, Alembic migrations and the store."""

from razbor.storage.store import (
    AlreadyImported,
    AttemptRecord,
    RecordingRecord,
    ReviewRecord,
    StorageError,
    Store,
    TopicCounts,
)

__all__ = ["AlreadyImported", "AttemptRecord", "RecordingRecord", "ReviewRecord", "StorageError",
           "Store", "TopicCounts"]
