"""Durable practice history: SQLAlchemy tables, Alembic migrations and the store."""

from razbor.storage.store import (
    AlreadyImported,
    AttemptRecord,
    ReviewRecord,
    StorageError,
    Store,
    TopicCounts,
)

__all__ = ["AlreadyImported", "AttemptRecord", "ReviewRecord", "StorageError", "Store",
           "TopicCounts"]
