"""Attempts whose grading waits for a slow grader (the LLM judge), so that the request that
stores one returns at once and a background job writes its feedback; when a process claimed
one, so that processes starting together ask the grader once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("attempts", sa.Column("grading", sa.String(16), nullable=True))
    op.add_column("attempts", sa.Column("grading_claimed_at", sa.DateTime, nullable=True))
    op.create_index("ix_attempts_grading", "attempts", ["grading"])


def downgrade() -> None:
    op.drop_index("ix_attempts_grading", "attempts")
    # Not batch mode: on SQLite it would rebuild the table, which reviews refer to.
    op.execute("ALTER TABLE attempts DROP COLUMN grading_claimed_at")
    op.execute("ALTER TABLE attempts DROP COLUMN grading")
