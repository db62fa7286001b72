"""Each user's target date (and its topics) for the readiness plan, and their own fitted FSRS
parameters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("interview_date", sa.Date, nullable=True),
        sa.Column("interview_topics", sa.JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "fsrs_parameters",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("fitted_at", sa.DateTime, nullable=False),
        sa.Column("held_out_from", sa.DateTime, nullable=False),
        sa.Column("log_loss_before", sa.Float, nullable=False),
        sa.Column("log_loss_after", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fsrs_parameters")
    op.drop_table("user_preferences")
