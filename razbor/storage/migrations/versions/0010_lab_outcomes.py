"""Lab outcomes computed by `razbor worker`, which every app process then reads.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_outcomes",
        sa.Column("lab", sa.String(100), primary_key=True),
        sa.Column("seed", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(40), primary_key=True),
        sa.Column("claims", sa.JSON, nullable=True),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lab_outcomes")
