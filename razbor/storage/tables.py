"""The schema. Alembic migrations create it; a test checks they agree with this module."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC and returns aware UTC, so SQLite and PostgreSQL round-trip alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="member"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_sessions_user", "user_id"),
)

invitations = sa.Table(
    "invitations", metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
)

login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("failed_at", UTCDateTime, nullable=False),
    sa.Index("ix_login_failures_name", "name", "failed_at"),
    sa.Index("ix_login_failures_address", "address", "failed_at"),
)

cards = sa.Table(
    "cards", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("current_version_id", sa.Integer, nullable=True),
    sa.Column("retired", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_cards_position", "position"),
)

card_topics = sa.Table(
    "card_topics", metadata,
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), primary_key=True),
    sa.Column("topic", sa.String(100), primary_key=True),
    sa.Index("ix_card_topics_topic", "topic"),
)

card_versions = sa.Table(
    "card_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("card_id", "content_hash", name="uq_card_versions_card_hash"),
)

attempts = sa.Table(
    "attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("card_version_id", sa.Integer, sa.ForeignKey("card_versions.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("answered_aloud", sa.Boolean, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("feedback", sa.JSON, nullable=True),
    sa.Column("recording_id", sa.Integer,
              sa.ForeignKey("recordings.id", name="fk_attempts_recording"), nullable=True),
    sa.Column("delivery", sa.JSON, nullable=True),
    # "queued" while a slow grader has yet to write the feedback; NULL once graded.
    sa.Column("grading", sa.String(16), nullable=True),
    sa.Column("grading_claimed_at", UTCDateTime, nullable=True),
    sa.Index("ix_attempts_user_card", "user_id", "card_id", "created_at"),
    sa.Index("ix_attempts_grading", "grading"),
)

recordings = sa.Table(
    "recordings", metadata,
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
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Set by the process transcribing it, now and then: a running recording whose heartbeat
    # has stopped belongs to a process that died.
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Index("ix_recordings_status", "status", "id"),
)

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id"), nullable=False,
              unique=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("state_before", sa.JSON, nullable=True),
    sa.Column("state_after", sa.JSON, nullable=False),
    sa.Column("reviewed_at", UTCDateTime, nullable=False),
    sa.Index("ix_reviews_user_time", "user_id", "reviewed_at"),
    sa.Index("ix_reviews_user_card", "user_id", "card_id", "id"),
)

schedules = sa.Table(
    "schedules", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=True),
    sa.Column("stability", sa.Float, nullable=True),
    sa.Column("difficulty", sa.Float, nullable=True),
    sa.Column("due", UTCDateTime, nullable=False),
    sa.Column("last_review", UTCDateTime, nullable=True),
    sa.Column("introduced_at", UTCDateTime, nullable=False),
    sa.Index("ix_schedules_user_due", "user_id", "due"),
    sa.Index("ix_schedules_user_introduced", "user_id", "introduced_at"),
)

due_counts = sa.Table(
    "due_counts", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("topic", sa.String(100), primary_key=True),
    sa.Column("due_day", sa.Integer, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)

interviews = sa.Table(
    "interviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Index("ix_interviews_user", "user_id", "started_at"),
)

interview_questions = sa.Table(
    "interview_questions", metadata,
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("card_id", sa.String(100), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("follow_up", sa.Text, nullable=True),
    sa.Column("missed_point", sa.String(200), nullable=True),
    sa.Column("asked_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("note_feedback", sa.JSON, nullable=True),
    sa.Column("recording_id", sa.Integer, sa.ForeignKey("recordings.id"), nullable=True),
    sa.Column("delivery", sa.JSON, nullable=True),
)

user_preferences = sa.Table(
    "user_preferences", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("interview_date", sa.Date, nullable=True),
    sa.Column("interview_topics", sa.JSON, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

fsrs_parameters = sa.Table(
    "fsrs_parameters", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("fitted_at", UTCDateTime, nullable=False),
    sa.Column("held_out_from", UTCDateTime, nullable=False),
    sa.Column("log_loss_before", sa.Float, nullable=False),
    sa.Column("log_loss_after", sa.Float, nullable=False),
)

# What a lab computed, per digest of the labs' code (other code may change a lab): claims, or
# the problem that kept it from running. Written by `razbor worker` for every app process to read.
lab_outcomes = sa.Table(
    "lab_outcomes", metadata,
    sa.Column("lab", sa.String(100), primary_key=True),
    sa.Column("seed", sa.Integer, primary_key=True),
    sa.Column("version", sa.String(40), primary_key=True),
    sa.Column("claims", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)
