"""Counts of each user's cards due per topic and day, for a home page that stays fast at scale.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from razbor.storage import due_counts

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "due_counts",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("topic", sa.String(100), primary_key=True),
        sa.Column("due_day", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    due_counts.recount(op.get_bind())


def downgrade() -> None:
    op.drop_table("due_counts")
