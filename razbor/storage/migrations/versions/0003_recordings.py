"""Recordings of spoken attempts, their transcription state, and the attempt they became.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("transcript", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_recordings_status", "recordings", ["status", "id"])
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("recording_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("delivery", sa.JSON, nullable=True))
        batch.create_foreign_key("fk_attempts_recording", "recordings", ["recording_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_constraint("fk_attempts_recording", type_="foreignkey")
        batch.drop_column("delivery")
        batch.drop_column("recording_id")
    op.drop_table("recordings")
