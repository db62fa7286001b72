"""A heartbeat on recordings, so that a process taking over another's work at start-up leaves
alone what a live process is still transcribing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recordings", sa.Column("heartbeat_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite it would rebuild the table, which attempts refer to.
    op.execute("ALTER TABLE recordings DROP COLUMN heartbeat_at")
