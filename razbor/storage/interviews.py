"""Mock interviews in the practice database: the interview, each question asked, its answer.

An answer to a card is a normal attempt (its row in `attempts`, which history, statistics and
isolation already know); the question row only points at it. A follow-up question that is not a
card keeps its answer here, as a note. Changes to one interview take turns: each write locks
the interview's row first, so an answer and "end now" sent together cannot interleave.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from razbor.storage.store import MAX_ID, Store
from razbor.storage.tables import attempts, interview_questions, interviews, schedules

# How many of a card's newest graded attempts its past coverage is the mean of.
COVERAGE_ATTEMPTS = 3


@dataclass(frozen=True)
class Asked:
    """A question as it is put: which card, how (kind), and when."""

    position: int
    card_id: str
    kind: str
    asked_at: datetime
    follow_up: str | None = None
    missed_point: str | None = None


@dataclass(frozen=True)
class Answer:
    """How a question was answered: an attempt at a card, or a note to a follow-up."""

    answered_at: datetime
    seconds: float
    attempt_id: int | None = None
    note: str | None = None
    note_feedback: dict | None = None
    recording_id: int | None = None
    delivery: dict | None = None


@dataclass(frozen=True)
class QuestionRecord:
    interview_id: int
    position: int
    card_id: str
    kind: str
    follow_up: str | None
    missed_point: str | None
    asked_at: datetime
    answered_at: datetime | None
    seconds: float | None
    attempt_id: int | None
    note: str | None
    note_feedback: dict | None
    recording_id: int | None
    delivery: dict | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True)
class InterviewRecord:
    id: int
    user_id: int
    started_at: datetime
    finished_at: datetime | None
    settings: dict
    questions: tuple[QuestionRecord, ...]


@dataclass(frozen=True)
class PracticeSignals:
    """What card choice weighs: when due cards fell due, past key-point coverage per card,
    and which cards the user has started (rated at least once)."""

    due: dict[str, datetime]
    coverage: dict[str, float]
    started: frozenset[str]


class InterviewStore:
    """Reads and writes of mock interviews, one transaction per operation."""

    def __init__(self, store: Store):
        self.store = store

    def start(self, user_id: int, settings: dict, first: Asked, now: datetime) -> int:
        """Create an interview with its first question; returns its id."""
        with self.store.writing() as db:
            interview_id = db.execute(interviews.insert().values(
                user_id=user_id, started_at=now, settings=settings)).inserted_primary_key[0]
            db.execute(interview_questions.insert().values(interview_id=interview_id,
                                                           **first.__dict__))
        return interview_id

    def interview(self, interview_id: int) -> InterviewRecord | None:
        if not 0 < interview_id <= MAX_ID:
            return None
        with self.store.snapshot() as db:
            row = db.execute(sa.select(interviews).where(interviews.c.id == interview_id)
                             ).first()
            if row is None:
                return None
            return _record(row, _questions(
                db, interview_questions.c.interview_id == interview_id).get(interview_id, ()))

    def interviews_of(self, user_id: int) -> list[InterviewRecord]:
        """The user's interviews, oldest first, each with its questions."""
        with self.store.snapshot() as db:
            rows = db.execute(sa.select(interviews).where(interviews.c.user_id == user_id)
                              .order_by(interviews.c.started_at, interviews.c.id)).all()
            questions = _questions(db, interview_questions.c.interview_id.in_(
                sa.select(interviews.c.id).where(interviews.c.user_id == user_id)))
        return [_record(row, questions.get(row.id, ())) for row in rows]

    def record_answer(self, interview_id: int, position: int, answer: Answer,
                      then: Asked | None) -> bool:
        """Store the answer to an open question, then ask the next one (or, with `then`
        None, end the interview). False, and nothing written, if the question was answered
        or the interview ended meanwhile."""
        with self.store.writing() as db:
            if _locked_finish_time(db, interview_id) is not None:
                return False
            done = db.execute(interview_questions.update().where(
                interview_questions.c.interview_id == interview_id,
                interview_questions.c.position == position,
                interview_questions.c.answered_at.is_(None),
            ).values(**answer.__dict__)).rowcount
            if done != 1:
                return False
            if then is None:
                db.execute(interviews.update().where(interviews.c.id == interview_id)
                           .values(finished_at=answer.answered_at))
            else:
                db.execute(interview_questions.insert().values(interview_id=interview_id,
                                                               **then.__dict__))
            return True

    def finish(self, interview_id: int, now: datetime) -> bool:
        """End an interview early; False if it had already ended."""
        with self.store.writing() as db:
            if _locked_finish_time(db, interview_id) is not None:
                return False
            db.execute(interviews.update().where(interviews.c.id == interview_id)
                       .values(finished_at=now))
            return True

    def answer_feedback(self, user_id: int) -> dict[int, dict | None]:
        """The stored feedback of every attempt made in the user's interviews, by attempt id,
        in one query."""
        with self.store.engine.connect() as db:
            return dict(db.execute(
                sa.select(attempts.c.id, attempts.c.feedback)
                .join(interview_questions, interview_questions.c.attempt_id == attempts.c.id)
                .join(interviews, interviews.c.id == interview_questions.c.interview_id)
                .where(interviews.c.user_id == user_id)).all())

    def practice_signals(self, user_id: int, now: datetime) -> PracticeSignals:
        """Due cards, past coverage and started cards of a user, read in one snapshot."""
        with self.store.snapshot() as db:
            scheduled = db.execute(sa.select(schedules.c.card_id, schedules.c.due).where(
                schedules.c.user_id == user_id)).all()
            graded = db.execute(sa.select(attempts.c.card_id, attempts.c.feedback).where(
                attempts.c.user_id == user_id, attempts.c.feedback.is_not(None))
                .order_by(attempts.c.created_at.desc(), attempts.c.id.desc())).all()
        return PracticeSignals(
            due={card_id: due for card_id, due in scheduled if due <= now},
            coverage=_coverage(graded), started=frozenset(card_id for card_id, _ in scheduled))


def _coverage(graded) -> dict[str, float]:
    """Mean share of key points covered over each card's newest graded attempts."""
    shares: dict[str, list[float]] = defaultdict(list)
    for card_id, feedback in graded:
        points = feedback.get("key_points") or []
        if points and len(shares[card_id]) < COVERAGE_ATTEMPTS:
            shares[card_id].append(sum(bool(p["covered"]) for p in points) / len(points))
    return {card_id: sum(values) / len(values) for card_id, values in shares.items() if values}


def _locked_finish_time(db: Connection, interview_id: int) -> datetime | None:
    """The interview's end, read under a row lock held until the transaction ends (SQLite's
    write transaction already holds its only lock)."""
    return db.execute(sa.select(interviews.c.finished_at)
                      .where(interviews.c.id == interview_id).with_for_update()).scalar()


def _questions(db: Connection, condition) -> dict[int, tuple[QuestionRecord, ...]]:
    """The questions matching a condition, grouped by interview, in the order asked."""
    found: dict[int, list[QuestionRecord]] = defaultdict(list)
    for row in db.execute(sa.select(interview_questions).where(condition)
                          .order_by(interview_questions.c.interview_id,
                                    interview_questions.c.position)):
        found[row.interview_id].append(QuestionRecord(**row._mapping))
    return {interview_id: tuple(questions) for interview_id, questions in found.items()}


def _record(row, questions: tuple[QuestionRecord, ...]) -> InterviewRecord:
    return InterviewRecord(id=row.id, user_id=row.user_id, started_at=row.started_at,
                           finished_at=row.finished_at, settings=row.settings,
                           questions=questions)
