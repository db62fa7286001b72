"""Mock interviews: a timed set of questions, a follow-up chosen by what each answer missed,
and nothing revealed until the report at the end.

Cards come due ones first, then weak ones (low key-point coverage in past attempts), then new
ones. After each answer one follow-up is asked: the card's own `Follow-up:` question closest to
a key point the answer missed, or a related card whose rubric states that point. Answers to
cards are normal attempts, so history, statistics and the schedule treat them as any other;
they are rated from the report, all in one pass. This module knows the trainer and the store's
interview API, nothing of the web or the terminal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from razbor.cards import Card, Deck
from razbor.grading import Feedback, suggest_rating
from razbor.practice import (
    MAX_ATTEMPT_SECONDS,
    Conflict,
    InvalidInput,
    Locked,
    NotFound,
    Trainer,
    delivery_of,
    storable_text,
)
from razbor.scheduling import Rating
from razbor.storage.interviews import (
    Answer,
    Asked,
    InterviewRecord,
    InterviewStore,
    PracticeSignals,
    QuestionRecord,
)

CARD, RELATED, FOLLOW_UP = "card", "related", "follow-up"
MAX_QUESTIONS = 20
MAX_MINUTES = 240
# A main question gets this share of its slot of the interview; its follow-up the rest.
MAIN_SHARE = 2 / 3
# Below this past coverage a card counts as weak and comes before new ones.
WEAK_COVERAGE = 0.8
# An answer covering this share of its key points is a strength of the interview.
STRONG_COVERAGE = 0.75
WEAKEST_SHOWN = 5
FOLLOW_UP_LINE = re.compile(r"^\s*(?:[-*]\s+)?Follow-up:\s*(?P<question>\S.*?)\s*$",
                            re.MULTILINE | re.IGNORECASE)


class AlreadyAnswered(Conflict):
    """The question was answered already (a form sent twice, or from an old page)."""


@dataclass(frozen=True)
class InterviewSettings:
    """What the user asks for: a topic mix (none: every topic), how many questions, how long,
    and whether each answer gets a follow-up."""

    topics: tuple[str, ...] = ()
    questions: int = 5
    minutes: int = 30
    follow_ups: bool = True

    def checked(self, deck: Deck) -> InterviewSettings:
        """These settings if the deck can hold such an interview; InvalidInput says why not."""
        if not 1 <= self.questions <= MAX_QUESTIONS:
            raise InvalidInput(f"questions must be between 1 and {MAX_QUESTIONS}")
        if not 1 <= self.minutes <= MAX_MINUTES:
            raise InvalidInput(f"minutes must be between 1 and {MAX_MINUTES}")
        known = deck.topics()
        unknown = [topic for topic in self.topics if topic not in known]
        if unknown:
            folders = dict.fromkeys(card.topic for card in deck)
            raise InvalidInput(f"no topic named {unknown[0]!r}; the deck's topics include "
                               f"{', '.join(folders)}")
        return replace(self, topics=tuple(dict.fromkeys(self.topics)))

    def budget(self, kind: str) -> float:
        """Seconds a question of this kind should take: its share of the interview."""
        slot = self.minutes * 60 / self.questions
        if not self.follow_ups:
            return round(slot)
        return round(slot * (MAIN_SHARE if kind == CARD else 1 - MAIN_SHARE))

    def to_dict(self) -> dict:
        return {"topics": list(self.topics), "questions": self.questions,
                "minutes": self.minutes, "follow_ups": self.follow_ups}

    @classmethod
    def from_dict(cls, data: Mapping) -> InterviewSettings:
        return cls(tuple(data.get("topics", ())), int(data["questions"]), int(data["minutes"]),
                   bool(data.get("follow_ups", True)))


# The two shapes the issue names: a round of mixed questions, and one system-design case.
PRESETS = {"round": InterviewSettings(),
           "system-design": InterviewSettings(("system-design",), questions=1, minutes=45)}


def as_clock(seconds: float) -> str:
    """Seconds as m:ss, the way budgets and times are shown."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


# Choosing the cards

def choose_cards(cards: Sequence[Card], signals: PracticeSignals, count: int,
                 topics: Sequence[str] = ()) -> list[Card]:
    """`count` cards of the topics: due ones first (most overdue first), then weak ones
    (lowest past coverage first), then new ones in deck order, then the rest.

    With a topic mix the picks take turns between its topics, each turn the best-ranked card
    of a topic picked least so far, so five questions on two topics are not all on one.
    """
    position = {card.id: number for number, card in enumerate(cards)}

    def rank(card: Card) -> tuple:
        due = signals.due.get(card.id)
        coverage = signals.coverage.get(card.id)
        if due is not None:
            return 0, due.timestamp(), position[card.id]
        if coverage is not None and coverage < WEAK_COVERAGE:
            return 1, coverage, position[card.id]
        if coverage is None and card.id not in signals.started:
            return 2, 0.0, position[card.id]
        return 3, coverage if coverage is not None else 1.0, position[card.id]

    def topic_of(card: Card) -> str:
        return next((topic for topic in topics if topic in card.topics), card.topic)

    remaining = sorted((card for card in cards
                        if not topics or any(topic in card.topics for topic in topics)), key=rank)
    picked: list[Card] = []
    used: dict[str, int] = {}
    while remaining and len(picked) < count:
        best = min(remaining, key=lambda card: (used.get(topic_of(card), 0) if topics else 0,
                                                rank(card)))
        remaining.remove(best)
        picked.append(best)
        used[topic_of(best)] = used.get(topic_of(best), 0) + 1
    return picked


# Choosing the follow-up

Measure = Callable[[Sequence[str], Sequence[str]], list[list[float]]]


@dataclass(frozen=True)
class Likeness:
    """How alike two texts are, with the floors above which a follow-up question, or a related
    card's key point, counts as being about a missed point."""

    measure: Measure
    question_floor: float
    card_floor: float


def _overlap(left: Sequence[str], right: Sequence[str]) -> list[list[float]]:
    from razbor.grading.text import phrase_stems

    def stems(text: str) -> set[str]:
        return set(phrase_stems(text))

    right_stems = [stems(text) for text in right]
    return [[len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0 for b in right_stems]
            for a in (stems(text) for text in left)]


WORD_OVERLAP = Likeness(_overlap, question_floor=0.1, card_floor=0.35)


def likeness_for(grader) -> Likeness:
    """The semantic grader's sentence encoder when the trainer grades with it (the vectors
    of a few sentences cost milliseconds), else the overlap of stemmed words."""
    from razbor.grading.semantic import SemanticGrader

    if not isinstance(grader, SemanticGrader):
        return WORD_OVERLAP
    encoder = grader.encoder

    def cosine(left: Sequence[str], right: Sequence[str]) -> list[list[float]]:
        vectors = encoder.encode([*left, *right])
        return (vectors[:len(left)] @ vectors[len(left):].T).tolist()

    return Likeness(cosine, question_floor=0.15, card_floor=0.5)


def follow_up_questions(card: Card) -> list[str]:
    """The card's own follow-up questions: the `Follow-up:` lines of its interview section."""
    return [found.group("question") for found in FOLLOW_UP_LINE.finditer(card.interview)]


@dataclass(frozen=True)
class FollowUp:
    """The follow-up to ask: a related card, or a question of the card itself (`question`);
    `missed_point` is the key point it was chosen for, if any."""

    kind: str
    card_id: str
    question: str | None = None
    missed_point: str | None = None


def choose_follow_up(card: Card, feedback: Feedback | None, deck: Deck, asked: set[str],
                     likeness: Likeness = WORD_OVERLAP) -> FollowUp | None:
    """The follow-up closest to a key point the answer missed.

    The card's own questions are compared with each missed point; a related card (not asked
    yet) by its key points, and only when one states the missed point nearly as the card does.
    With nothing missed, or nothing near it, the card's first follow-up question is asked,
    else its first related card; None if it has neither.
    """
    questions = follow_up_questions(card)
    related = [deck.get(card_id) for card_id in card.related
               if card_id not in asked and deck.get(card_id) is not None]
    statements = {point.id: point.text for point in card.gradable_rubric.key_points}
    missed = [point.id for point in (feedback.key_points if feedback else ())
              if not point.covered and point.id in statements]
    if missed:
        best = _nearest(card, questions, related, missed, statements, likeness)
        if best is not None:
            return best
    if questions:
        return FollowUp(FOLLOW_UP, card.id, questions[0])
    if related:
        return FollowUp(RELATED, related[0].id)
    return None


def _nearest(card: Card, questions: list[str], related: list[Card], missed: list[str],
             statements: dict[str, str], likeness: Likeness) -> FollowUp | None:
    """The candidate nearest a missed point by how far it clears its floor, if any does;
    every text is compared in one call, so an encoder runs once."""
    candidates = [(question, likeness.question_floor, FollowUp(FOLLOW_UP, card.id, question))
                  for question in questions]
    candidates += [(point.text, likeness.card_floor, FollowUp(RELATED, other.id))
                   for other in related for point in other.gradable_rubric.key_points]
    if not candidates:
        return None
    scores = likeness.measure([statements[point_id] for point_id in missed],
                              [text for text, _, _ in candidates])
    margins = [(scores[row][column] - floor, row, column) for row in range(len(missed))
               for column, (_, floor, _) in enumerate(candidates)]
    margin, row, column = max(margins, key=lambda found: (found[0], -found[1], -found[2]))
    if margin < 0:
        return None
    return replace(candidates[column][2], missed_point=missed[row])


# What the pages and the terminal show

@dataclass(frozen=True)
class Question:
    """The question to answer now, with its timing."""

    interview_id: int
    position: int
    number: int
    total: int
    kind: str
    card: Card
    follow_up: str | None
    asked_at: datetime
    budget: float
    interview_ends_at: datetime

    @property
    def ends_at(self) -> datetime:
        return self.asked_at + timedelta(seconds=self.budget)

    @property
    def prompt(self) -> str:
        return self.follow_up or self.card.question or self.card.title


@dataclass(frozen=True)
class Point:
    id: str
    text: str


@dataclass(frozen=True)
class QuestionReport:
    """One question of a finished interview: what was asked, how long it took, what the answer
    covered, missed and got wrong, and how it sounded."""

    position: int
    number: int
    kind: str
    card: Card
    prompt: str
    answered: bool
    text: str
    answered_aloud: bool
    seconds: float | None
    budget: float
    covered: tuple[Point, ...] = ()
    missed: tuple[Point, ...] = ()
    mistakes: tuple[Point, ...] = ()
    graded: bool = False
    delivery: dict | None = None
    attempt_id: int | None = None
    analysis_attempt_id: int | None = None
    suggested_rating: int = 0
    rating: int | None = None
    recording_id: int | None = None
    aimed_at: Point | None = None

    @property
    def over_time(self) -> bool:
        return self.seconds is not None and self.seconds > self.budget

    @property
    def share(self) -> float | None:
        total = len(self.covered) + len(self.missed)
        return len(self.covered) / total if self.graded and total else None

    @property
    def rateable(self) -> bool:
        return self.attempt_id is not None


@dataclass(frozen=True)
class WeakPoint:
    card: Card
    point: Point
    analysis_attempt_id: int | None


@dataclass(frozen=True)
class Report:
    interview: InterviewRecord
    settings: InterviewSettings
    questions: tuple[QuestionReport, ...]
    strengths: tuple[QuestionReport, ...]
    weakest: tuple[WeakPoint, ...]
    recovered: int
    summary: Summary

    @property
    def to_rate(self) -> tuple[QuestionReport, ...]:
        return tuple(question for question in self.questions if question.rateable)


@dataclass(frozen=True)
class Summary:
    """One interview in the list of past ones: its coverage and the change from the one
    before (in percentage points)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    answered: int
    asked: int
    covered: int
    points: int
    seconds: float
    change: float | None = None

    @property
    def share(self) -> float | None:
        return self.covered / self.points if self.points else None


# The use cases

class Interviews:
    """Start, ask, answer, end, report and rate, for one trainer (deck, store, grader)."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.store = InterviewStore(trainer.store)
        self._likeness: Likeness | None = None

    @property
    def likeness(self) -> Likeness:
        if self._likeness is None:
            self._likeness = likeness_for(self.trainer.grader)
        return self._likeness

    def _now(self, now: datetime | None) -> datetime:
        return now or self.trainer.clock()

    def start(self, user_id: int, settings: InterviewSettings,
              now: datetime | None = None) -> InterviewRecord:
        """Pick the cards and ask the first; InvalidInput if the settings or deck allow none."""
        settings = settings.checked(self.trainer.deck)
        now = self._now(now)
        signals = self.store.practice_signals(user_id, now)
        cards = choose_cards(self.trainer.deck.cards, signals, settings.questions,
                             settings.topics)
        if not cards:
            raise InvalidInput("the deck has no cards for this interview")
        stored = {**settings.to_dict(), "cards": [card.id for card in cards]}
        first = Asked(0, cards[0].id, CARD, now)
        return self.interview(user_id, self.store.start(user_id, stored, first, now))

    def interview(self, user_id: int, interview_id: int) -> InterviewRecord:
        """The user's interview; NotFound for another user's, as for one that does not exist."""
        found = self.store.interview(interview_id)
        if found is None or found.user_id != user_id:
            raise NotFound(f"no interview with id {interview_id}")
        return found

    def current(self, user_id: int, interview_id: int) -> Question | None:
        """The question waiting for an answer, or None once the interview has ended."""
        interview = self.interview(user_id, interview_id)
        return _open_question(interview, self.trainer.deck)

    def answer(self, user_id: int, interview_id: int, position: int, text: str,
               answered_aloud: bool, recording_id: int | None = None,
               now: datetime | None = None) -> InterviewRecord:
        """Answer the open question, then ask the next one or end the interview.

        The time is the server's, from when the question was asked. A second answer to the
        same question is refused (AlreadyAnswered) before anything is stored; one sent at the
        very same moment may leave its attempt in the card's history, outside the interview.
        """
        interview = self.interview(user_id, interview_id)
        question = _open_question(interview, self.trainer.deck)
        if question is None:
            raise AlreadyAnswered(f"interview {interview_id} has ended")
        if question.position != position:
            raise AlreadyAnswered(f"question {position + 1} of interview {interview_id} is "
                                  "already answered")
        now = self._now(now)
        seconds = min(max(0.0, (now - question.asked_at).total_seconds()), MAX_ATTEMPT_SECONDS)
        record = interview.questions[-1]
        feedback = None
        if question.kind == FOLLOW_UP:
            answer = self._note(user_id, interview, record, text, answered_aloud,
                                recording_id, seconds, now)
        else:
            attempt = self.trainer.submit_attempt(user_id, question.card.id, text,
                                                  answered_aloud, seconds, now, recording_id)
            answer = Answer(now, seconds, attempt_id=attempt.id)
            feedback = self.trainer.feedback(attempt)
        following = self._next(interview, question, feedback, now)
        if not self.store.record_answer(interview_id, position, answer, following):
            raise AlreadyAnswered(f"question {position + 1} of interview {interview_id} is "
                                  "already answered")
        return self.interview(user_id, interview_id)

    def _next(self, interview: InterviewRecord, question: Question, feedback: Feedback | None,
              now: datetime) -> Asked | None:
        """The next question: a follow-up to a main question, else the next card not asked
        yet; None when the cards or the time have run out."""
        if now >= question.interview_ends_at:
            return None
        settings = InterviewSettings.from_dict(interview.settings)
        asked = {q.card_id for q in interview.questions if q.kind != FOLLOW_UP}
        position = question.position + 1
        if question.kind == CARD and settings.follow_ups:
            chosen = choose_follow_up(question.card, feedback, self.trainer.deck, asked,
                                      self.likeness)
            if chosen is not None:
                return Asked(position, chosen.card_id, chosen.kind, now, chosen.question,
                             chosen.missed_point)
        upcoming = [card_id for card_id in interview.settings["cards"]
                    if card_id not in asked and self.trainer.deck.get(card_id) is not None]
        return Asked(position, upcoming[0], CARD, now) if upcoming else None

    def _note(self, user_id: int, interview: InterviewRecord, record: QuestionRecord,
              text: str, answered_aloud: bool, recording_id: int | None, seconds: float,
              now: datetime) -> Answer:
        """The answer to a follow-up question, graded on the key points its card's answer
        missed; spoken, it gets a delivery report as an attempt does."""
        card = self.trainer.card(record.card_id)
        recording = self.trainer.finished_recording(user_id, card.id, recording_id)
        text = _note_text(text, self.trainer.max_attempt_chars)
        if not text and not (answered_aloud or recording):
            raise InvalidInput("type your attempt, or say that you answered aloud")
        feedback = None
        if text:
            targets = _missed_by_parent(self.trainer, user_id, interview, record.position)
            feedback = _restricted(self.trainer.grader.grade(card, text), targets)
        return Answer(now, seconds, note=text, recording_id=recording.id if recording else None,
                      note_feedback=feedback.to_dict() if feedback else None,
                      delivery=delivery_of(recording, feedback, text))

    def end(self, user_id: int, interview_id: int, now: datetime | None = None) -> None:
        """End the interview now; the question left open stays unanswered. Ending an ended
        interview changes nothing."""
        self.interview(user_id, interview_id)
        self.store.finish(interview_id, self._now(now))

    def report(self, user_id: int, interview_id: int) -> Report:
        """Everything about a finished interview; Locked while it runs, so no analysis (nor
        feedback) is seen before the last answer."""
        interview = self.interview(user_id, interview_id)
        if interview.finished_at is None:
            raise Locked("finish the interview before opening its report")
        settings = InterviewSettings.from_dict(interview.settings)
        questions = tuple(self._question_report(user_id, interview, settings, record)
                          for record in interview.questions)
        graded = [q for q in questions if q.kind != FOLLOW_UP and q.share is not None]
        recovered = {(q.card.id, point.id) for q in questions if q.kind == FOLLOW_UP
                     for point in q.covered}
        weakest = [WeakPoint(q.card, point, q.analysis_attempt_id)
                   for q in sorted(graded, key=lambda q: (q.share, q.position))
                   for point in q.missed if (q.card.id, point.id) not in recovered]
        strengths = sorted((q for q in graded if q.share >= STRONG_COVERAGE),
                           key=lambda q: (-q.share, q.position))
        return Report(interview, settings, questions, tuple(strengths),
                      tuple(weakest[:WEAKEST_SHOWN]), len(recovered),
                      _summary(interview, {q.attempt_id: (len(q.covered), len(q.covered)
                                                          + len(q.missed))
                                           for q in questions if q.attempt_id and q.graded}))

    def _question_report(self, user_id: int, interview: InterviewRecord,
                         settings: InterviewSettings, record: QuestionRecord) -> QuestionReport:
        card = self.trainer.deck.get(record.card_id)
        number = sum(q.kind == CARD for q in interview.questions[:record.position + 1])
        base = {"position": record.position, "number": number, "kind": record.kind,
                "answered": record.answered, "seconds": record.seconds,
                "budget": settings.budget(record.kind),
                "aimed_at": self._aimed_at(user_id, interview, record)}
        if record.attempt_id is not None:
            attempt = self.trainer.attempt(user_id, record.attempt_id)
            card = self.trainer.store.card_version(attempt.card_version_id)
            review = self.trainer.store.review_of(attempt.id)
            feedback = self.trainer.feedback(attempt)
            return QuestionReport(
                **base, card=card, prompt=card.question or card.title, text=attempt.text,
                answered_aloud=attempt.answered_aloud, **_graded(card, feedback),
                delivery=attempt.delivery, attempt_id=attempt.id,
                analysis_attempt_id=attempt.id, recording_id=attempt.recording_id,
                suggested_rating=feedback.suggested_rating if feedback else 0,
                rating=review.rating if review else None)
        parent = _parent_attempt(interview, record.position)
        if parent is not None and record.kind == FOLLOW_UP:
            card = self.trainer.analysis(user_id, parent)
        card = card or _gone(record.card_id)
        feedback = Feedback.from_dict(record.note_feedback) if record.note_feedback else None
        return QuestionReport(
            **base, card=card, prompt=record.follow_up or card.question or card.title,
            text=record.note or "", answered_aloud=record.answered and not record.note,
            **_graded(card, feedback), delivery=record.delivery,
            recording_id=record.recording_id,
            analysis_attempt_id=parent if record.kind == FOLLOW_UP else None)

    def _aimed_at(self, user_id: int, interview: InterviewRecord,
                  record: QuestionRecord) -> Point | None:
        """The missed key point a follow-up was chosen for, as the main answer's card
        states it."""
        parent = _parent_attempt(interview, record.position)
        if record.missed_point is None or parent is None:
            return None
        statements = {point.id: point.text
                      for point in self.trainer.analysis(user_id, parent).gradable_rubric.key_points}
        return Point(record.missed_point, statements.get(record.missed_point, record.missed_point))

    def rate(self, user_id: int, interview_id: int, ratings: Mapping[int, Rating | int | str],
             now: datetime | None = None) -> int:
        """Rate answers of a finished interview into the schedule; returns how many ratings
        are new. Keys are attempt ids. Every rating is checked before any is stored, so a bad
        one changes nothing; an attempt rated before keeps its rating (the same one sent again
        is fine, another one is a Conflict)."""
        interview = self.interview(user_id, interview_id)
        if interview.finished_at is None:
            raise Locked("finish the interview before rating its answers")
        answers = {q.attempt_id for q in interview.questions if q.attempt_id is not None}
        parsed: dict[int, Rating] = {}
        for attempt_id, rating in ratings.items():
            if attempt_id not in answers:
                raise NotFound(f"attempt {attempt_id} is not an answer of interview "
                               f"{interview_id}")
            try:
                parsed[attempt_id] = Rating.parse(rating)
            except ValueError as error:
                raise InvalidInput(str(error)) from error
        for attempt_id, rating in parsed.items():
            review = self.trainer.store.review_of(attempt_id)
            if review is not None and review.rating != rating:
                raise Conflict(f"attempt {attempt_id} is already rated "
                               f"{Rating(review.rating).name.lower()}")
        now = self._now(now)
        return sum(self.trainer.rate(user_id, attempt_id, rating, now=now)[1]
                   for attempt_id, rating in parsed.items())

    def past(self, user_id: int) -> list[Summary]:
        """The user's interviews, newest first, each with its change in coverage from the
        finished one before it."""
        counts = {attempt_id: _counts(feedback)
                  for attempt_id, feedback in self.store.answer_feedback(user_id).items()}
        summaries: list[Summary] = []
        previous: float | None = None
        for record in self.store.interviews_of(user_id):
            summary = _summary(record, counts)
            if record.finished_at is not None and summary.share is not None:
                if previous is not None:
                    summary = replace(summary, change=(summary.share - previous) * 100)
                previous = summary.share
            summaries.append(summary)
        return summaries[::-1]


def _open_question(interview: InterviewRecord, deck: Deck) -> Question | None:
    if interview.finished_at is not None or not interview.questions:
        return None
    last = interview.questions[-1]
    if last.answered:
        return None
    settings = InterviewSettings.from_dict(interview.settings)
    card = deck.get(last.card_id)
    if card is None:
        raise NotFound(f"no card with id {last.card_id!r}")
    return Question(
        interview_id=interview.id, position=last.position,
        number=sum(q.kind == CARD for q in interview.questions), total=len(
            interview.settings["cards"]), kind=last.kind, card=card, follow_up=last.follow_up,
        asked_at=last.asked_at, budget=settings.budget(last.kind),
        interview_ends_at=interview.started_at + timedelta(minutes=settings.minutes))


def _graded(card: Card, feedback: Feedback | None) -> dict:
    if feedback is None:
        return {"graded": False}
    statements = {item.id: item.text for item in (*card.gradable_rubric.key_points,
                                                  *card.gradable_rubric.mistakes)}

    def points(ids) -> tuple[Point, ...]:
        return tuple(Point(point_id, statements.get(point_id, point_id)) for point_id in ids)

    return {"graded": True, "covered": points(feedback.covered_ids()),
            "missed": points(p.id for p in feedback.key_points if not p.covered),
            "mistakes": points(feedback.mistake_ids())}


def _summary(interview: InterviewRecord, counts: Mapping[int, tuple[int, int]]) -> Summary:
    """Coverage over the answers to cards, from (covered, key points) per attempt id; notes to
    follow-ups are graded on a part of a card, so they do not count."""
    found = [counts[q.attempt_id] for q in interview.questions if q.attempt_id in counts]
    return Summary(interview.id, interview.started_at, interview.finished_at,
                   answered=sum(q.answered for q in interview.questions),
                   asked=len(interview.questions), covered=sum(c for c, _ in found),
                   points=sum(total for _, total in found),
                   seconds=sum(q.seconds or 0.0 for q in interview.questions))


def _counts(feedback: dict | None) -> tuple[int, int]:
    points = (feedback or {}).get("key_points") or ()
    return sum(bool(point["covered"]) for point in points), len(points)


def _parent_attempt(interview: InterviewRecord, position: int) -> int | None:
    """The attempt at the main question a follow-up followed."""
    return next((q.attempt_id for q in reversed(interview.questions[:position])
                 if q.kind == CARD), None)


def _gone(card_id: str) -> Card:
    """A card that has left the deck since it was asked and has no stored attempt: its id."""
    return Card(id=card_id, title=card_id, lang="", topics=(), difficulty=1, short_answer="",
                analysis="", mistakes="", interview="")


def _missed_by_parent(trainer: Trainer, user_id: int, interview: InterviewRecord,
                      position: int) -> set[str] | None:
    """The key points the answer to the main question missed; None (all of them) when that
    answer was not graded."""
    attempt_id = _parent_attempt(interview, position)
    feedback = trainer.feedback(trainer.attempt(user_id, attempt_id)) if attempt_id else None
    if feedback is None:
        return None
    return {point.id for point in feedback.key_points if not point.covered}


def _restricted(feedback: Feedback, targets: set[str] | None) -> Feedback:
    """Feedback on the targeted key points only, its suggested rating recomputed."""
    if targets is None:
        return feedback
    points = tuple(point for point in feedback.key_points if point.id in targets)
    return replace(feedback, key_points=points,
                   suggested_rating=suggest_rating(points, feedback.mistakes))


def _note_text(text: str, limit: int) -> str:
    """A note as it can be stored; refused as an attempt would be (the same messages)."""
    text = storable_text((text or "").strip())
    if len(text) > limit:
        raise InvalidInput(f"the attempt is {len(text)} characters long; the limit is {limit}")
    return text
