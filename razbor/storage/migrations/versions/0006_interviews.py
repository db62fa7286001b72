"""Mock interviews: their settings and timing, and each question asked with its answer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
    )
    op.create_index("ix_interviews_user", "interviews", ["user_id", "started_at"])
    op.create_table(
        "interview_questions",
        sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("follow_up", sa.Text, nullable=True),
        sa.Column("missed_point", sa.String(200), nullable=True),
        sa.Column("asked_at", sa.DateTime, nullable=False),
        sa.Column("answered_at", sa.DateTime, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id"), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("note_feedback", sa.JSON, nullable=True),
        sa.Column("recording_id", sa.Integer, sa.ForeignKey("recordings.id"), nullable=True),
        sa.Column("delivery", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("interview_questions")
    op.drop_index("ix_interviews_user", "interviews")
    op.drop_table("interviews")
