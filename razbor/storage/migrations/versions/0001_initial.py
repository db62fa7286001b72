"""The initial schema: users, cards and their versions, attempts, reviews, schedules.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("current_version_id", sa.Integer, nullable=True),
        sa.Column("retired", sa.Boolean, nullable=False),
    )
    op.create_index("ix_cards_position", "cards", ["position"])
    op.create_table(
        "card_topics",
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), primary_key=True),
        sa.Column("topic", sa.String(100), primary_key=True),
    )
    op.create_index("ix_card_topics_topic", "card_topics", ["topic"])
    op.create_table(
        "card_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("card_id", "content_hash", name="uq_card_versions_card_hash"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("card_version_id", sa.Integer, sa.ForeignKey("card_versions.id"),
                  nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("answered_aloud", sa.Boolean, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_attempts_user_card", "attempts", ["user_id", "card_id", "created_at"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id"), nullable=False,
                  unique=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("state_before", sa.JSON, nullable=True),
        sa.Column("state_after", sa.JSON, nullable=False),
        sa.Column("reviewed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_reviews_user_time", "reviews", ["user_id", "reviewed_at"])
    op.create_index("ix_reviews_user_card", "reviews", ["user_id", "card_id", "id"])
    op.create_table(
        "schedules",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=True),
        sa.Column("stability", sa.Float, nullable=True),
        sa.Column("difficulty", sa.Float, nullable=True),
        sa.Column("due", sa.DateTime, nullable=False),
        sa.Column("last_review", sa.DateTime, nullable=True),
        sa.Column("introduced_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_schedules_user_due", "schedules", ["user_id", "due"])
    op.create_index("ix_schedules_user_introduced", "schedules", ["user_id", "introduced_at"])


def downgrade() -> None:
    for table in ("schedules", "reviews", "attempts", "card_versions", "card_topics", "cards",
                  "users"):
        op.drop_table(table)
