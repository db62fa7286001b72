"""Durable practice history: SQLAlchemy tables, Alembic migrations and the store."""

from razbor.storage.store import (
    MAX_ID,
    AttemptRecord,
    RecordingRecord,
    ReviewRecord,
    StorageError,
    Store,
    TopicCounts,
)
from razbor.storage.transfer import AlreadyImported, export_records, import_records

__all__ = ["MAX_ID", "AlreadyImported", "AttemptRecord", "RecordingRecord", "ReviewRecord",
           "StorageError", "Store", "TopicCounts", "export_records", "import_records"]
