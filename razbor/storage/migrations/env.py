"""Alembic environment: runs on the connection the store hands over, never on a config URL.

The store has already locked that connection's transaction against other processes
migrating at the same time (see razbor.storage.store._upgrade).
"""

from alembic import context

from razbor.storage.tables import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
