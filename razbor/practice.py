"""The practice use cases: next card, attempt, reveal, rate, history and statistics.

The web and terminal front ends call these and nothing deeper, so both behave the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from razbor.cards import Card, Deck
from razbor.grading import Feedback, SemanticGrader
from razbor.grading.backends import Grader
from razbor.scheduling import Planner, Rating, require_utc
from razbor.speech.delivery import delivery_report
from razbor.speech.transcript import Transcript
from razbor.storage import AttemptRecord, ReviewRecord, Store, TopicCounts

MAX_ATTEMPT_SECONDS = 24 * 3600


class PracticeError(Exception):
    """A request the trainer refuses; the message is meant for the user."""


class NotFound(PracticeError):
    """No such card or attempt (for this user)."""


class InvalidInput(PracticeError):
    """The input breaks a rule: too long, empty, out of range."""


class Conflict(PracticeError):
    """The request contradicts what is already recorded."""


class Locked(PracticeError):
    """The analysis opens only after an attempt."""


@dataclass(frozen=True)
class Stats:
    reviews_per_day: list[tuple[date, int]]
    retention: float | None
    recalls: int
    topics: list[TopicCounts]


class Trainer:
    """One deck, one store, one scheduler: the whole practice flow."""

    def __init__(self, deck: Deck, store: Store, planner: Planner | None = None,
                 max_attempt_chars: int = 50_000,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 grader: Grader | None = None):
        self.deck = deck
        self.store = store
        self.planner = planner or Planner()
        self.grader = grader or SemanticGrader()
        self.max_attempt_chars = max_attempt_chars
        self.clock = clock
        self.versions = store.sync_deck(deck, clock())

    def _now(self, now: datetime | None) -> datetime:
        return require_utc(now or self.clock())

    def user(self, name: str = "local") -> int:
        """The id of a user, created on first use; a laptop has the one user 'local'."""
        return self.store.ensure_user(name, self.clock())

    def card(self, card_id: str) -> Card:
        card = self.deck.get(card_id)
        if card is None:
            raise NotFound(f"no card with id {card_id!r}")
        return card

    def next_card(self, user_id: int, topic: str | None = None,
                  now: datetime | None = None) -> Card | None:
        """The most overdue card, else a new one while today's new-card limit allows, else None.

        A topic the deck does not have has no cards, and is not sent to the database at all.
        """
        if topic and topic not in self.deck.topics():
            return None
        now = self._now(now)
        due = self.store.due_card_ids(user_id, now, topic, limit=1)
        if due:
            return self.card(due[0])
        started_today = self.store.introduced_since(user_id, _start_of_day(now))
        if started_today >= self.planner.settings.new_per_day:
            return None
        new = self.store.new_card_ids(user_id, topic, limit=1)
        return self.card(new[0]) if new else None

    def topic_counts(self, user_id: int, now: datetime | None = None) -> list[TopicCounts]:
        return self.store.topic_counts(user_id, self._now(now))

    def submit_attempt(self, user_id: int, card_id: str, text: str, answered_aloud: bool,
                       seconds: float, now: datetime | None = None,
                       recording_id: int | None = None) -> AttemptRecord:
        """Record an attempt, which unlocks the card's analysis for it.

        An attempt made from a recording carries its transcript's delivery report. Text that
        cannot be stored as it was typed is refused, not cleaned: a NUL character (PostgreSQL
        text cannot hold one) or an unpaired surrogate (not Unicode text) comes from a broken
        client, and silently changing the attempt would hide that.
        """
        self.card(card_id)
        recording = self._finished_recording(user_id, card_id, recording_id)
        answered_aloud = answered_aloud or recording is not None
        text = _storable((text or "").strip())
        if len(text) > self.max_attempt_chars:
            raise InvalidInput(f"the attempt is {len(text)} characters long; the limit is "
                               f"{self.max_attempt_chars}")
        if not text and not answered_aloud:
            raise InvalidInput("type your attempt, or say that you answered aloud")
        if not 0 <= seconds <= MAX_ATTEMPT_SECONDS:
            raise InvalidInput(f"seconds must be between 0 and {MAX_ATTEMPT_SECONDS}")
        feedback = self.grader.grade(self.card(card_id), text) if text else None
        delivery = None
        if recording is not None:
            transcript = Transcript.from_dict(recording.transcript)
            delivery = delivery_report(transcript, _first_point(feedback, text,
                                                                transcript.text)).to_dict()
        return self.store.add_attempt(user_id, card_id, self.versions[card_id], text,
                                      answered_aloud, float(seconds), self._now(now),
                                      feedback.to_dict() if feedback else None,
                                      recording.id if recording else None, delivery)

    def _finished_recording(self, user_id: int, card_id: str, recording_id: int | None):
        if recording_id is None:
            return None
        recording = self.store.recording(recording_id)
        if recording is None or recording.user_id != user_id:
            raise NotFound(f"no recording with id {recording_id}")
        if recording.card_id != card_id:
            raise Conflict(f"recording {recording_id} belongs to card {recording.card_id!r}")
        if recording.status != "done":
            raise InvalidInput(f"recording {recording_id} is not transcribed yet "
                               f"({recording.status})")
        return recording

    def feedback(self, attempt: AttemptRecord) -> Feedback | None:
        """The grader's feedback stored with an attempt (None for an attempt made aloud)."""
        return Feedback.from_dict(attempt.feedback) if attempt.feedback else None

    def attempt(self, user_id: int, attempt_id: int) -> AttemptRecord:
        attempt = self.store.attempt(attempt_id)
        if attempt is None or attempt.user_id != user_id:
            raise NotFound(f"no attempt with id {attempt_id}")
        return attempt

    def analysis(self, user_id: int, attempt_id: int) -> Card:
        """The card as it stood when the attempt was made, analysis included."""
        return self.store.card_version(self.attempt(user_id, attempt_id).card_version_id)

    def analysis_of_card(self, user_id: int, card_id: str) -> Card:
        """The analysis of a card, refused unless the user has already attempted it."""
        self.card(card_id)
        history = self.store.history(user_id, card_id)
        if not history:
            raise Locked("make an attempt at this card before opening its analysis")
        return self.store.card_version(history[0][0].card_version_id)

    def rate(self, user_id: int, attempt_id: int, rating: Rating | int | str,
             card_id: str | None = None, now: datetime | None = None
             ) -> tuple[ReviewRecord, bool]:
        """Schedule the card by the user's rating of an attempt; once per attempt.

        Returns the review and whether it is new; repeating the same rating is harmless.
        """
        try:
            rating = Rating.parse(rating)
        except ValueError as error:
            raise InvalidInput(str(error)) from error
        attempt = self.attempt(user_id, attempt_id)
        if card_id is not None and card_id != attempt.card_id:
            raise Conflict(f"attempt {attempt_id} belongs to card {attempt.card_id!r}, "
                           f"not {card_id!r}")
        now = self._now(now)
        review, created = self.store.add_review(
            attempt, int(rating), now,
            lambda before: self.planner.review(before, rating, now))
        if not created and review.rating != rating:
            raise Conflict(f"attempt {attempt_id} is already rated "
                           f"{Rating(review.rating).name.lower()}")
        return review, created

    def history(self, user_id: int, card_id: str
                ) -> list[tuple[AttemptRecord, ReviewRecord | None]]:
        self.card(card_id)
        return self.store.history(user_id, card_id)

    def stats(self, user_id: int, days: int = 14, now: datetime | None = None) -> Stats:
        """Reviews per day, measured retention (recalled reviews of learned cards), topics."""
        now = self._now(now)
        start = _start_of_day(now) - timedelta(days=days - 1)
        log = self.store.reviews_between(user_id, start, now + timedelta(seconds=1))
        per_day = Counter(review.reviewed_at.date() for review in log)
        recalls = [r for r in log if r.state_before and r.state_before.state == "review"]
        retention = (sum(r.rating > Rating.AGAIN for r in recalls) / len(recalls)
                     if recalls else None)
        return Stats(
            reviews_per_day=[((start + timedelta(days=i)).date(),
                              per_day.get((start + timedelta(days=i)).date(), 0))
                             for i in range(days)],
            retention=retention, recalls=len(recalls),
            topics=self.store.topic_counts(user_id, now),
        )


def _storable(text: str) -> str:
    if "\x00" in text:
        raise InvalidInput("the attempt contains a NUL character (\\x00), which cannot be "
                           "stored; remove it and send the attempt again")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput("the attempt is not valid Unicode text: it has an unpaired "
                           f"surrogate at character {error.start}") from error
    return text


def _first_point(feedback: Feedback | None, text: str, spoken: str) -> int | None:
    """Where in the transcript the first covered key point starts.

    The user may have edited the transcript; positions are then scaled to its length.
    """
    starts = [span[0] for point in (feedback.key_points if feedback else ())
              if point.covered for span in point.evidence]
    if not starts or not text:
        return None
    first = min(starts)
    return first if text == spoken else round(first * len(spoken) / len(text))


def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
