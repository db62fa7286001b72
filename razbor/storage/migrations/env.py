"""Alembic environment: runs on the connection the store hands over, never on a config URL."""

from alembic import context
from sqlalchemy import text

from razbor.storage.tables import metadata

ADVISORY_LOCK_KEY = 7_370_214_551


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    if connection.dialect.name == "postgresql":
        # Several app processes may start at once; only one migrates at a time.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
