"""The practice use cases: next card, attempt, reveal, rate, history and statistics.

The web and terminal front ends call these and nothing deeper, so both behave the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from razbor.cards import Card, Deck
from razbor.grading import Feedback, SemanticGrader
from razbor.grading.backends import Grader
from razbor.progress import FORECAST_DAYS, Progress, summarize, week_of
from razbor.readiness import (
    BadTargetDate,
    Readiness,
    TargetDate,
    forecast,
    lead_days,
    needed_new_per_day,
    parse_target,
)
from razbor.scheduling import Planner, Rating, require_utc
from razbor.speech.delivery import delivery_report
from razbor.speech.transcript import Transcript
from razbor.storage import AttemptRecord, ReviewRecord, Store, TopicCounts, preferences, scope
from razbor.storage.progress import read_practice_log

MAX_ATTEMPT_SECONDS = 24 * 3600
# An attempt's grading while a slow grader has yet to write its feedback.
QUEUED = "queued"
# Seconds a process's claim on an attempt to grade holds: twice the LLM judge's timeout.
GRADING_CLAIM_SECONDS = 120
# Readiness forecasts kept in memory, one per user with a date (see Trainer.readiness).
MAX_KEPT_PLANS = 1000


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
    """Progress over a window of days, and where each topic stands now."""

    progress: Progress
    topics: list[TopicCounts]


class GradingBusy(RuntimeError):
    """Another process holds the attempt to grade; it may have died, so ask again later."""


class Trainer:
    """One deck, one store, a scheduler per user: the whole practice flow."""

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
        self._planners: dict[int, Planner] = {}
        self._plans: dict[int, tuple[tuple, Readiness]] = {}
        self._plans_lock = threading.Lock()

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

        With a target date, cards of its topics come first (due, then new) and the limit rises
        to the pace the plan needs. A topic the deck does not have has no cards, and is not
        sent to the database at all.
        """
        if topic and topic not in self.deck.topics():
            return None
        now = self._now(now)
        state = self.store.next_card_state(user_id, topic, now, _start_of_day(now))
        stored = (TargetDate(state.interview_date, tuple(state.interview_topics or ()))
                  if state.interview_date else None)
        target = _still_ahead(stored, now)
        in_scope = target.topics if target and not topic else ()
        if in_scope:
            due = scope.due_card_ids(self.store, user_id, now, in_scope)
            new = (scope.new_card_ids(self.store, user_id, in_scope, limit=1)
                   if not due and self._new_cards_left(user_id, target, now) else [])
            if due or new:
                return self.card((due or new)[0])
        if state.due_card_id:
            return self.card(state.due_card_id)
        if target is None:
            allowed = state.started < self.planner.settings.new_per_day
        else:
            allowed = self._new_cards_left(user_id, target, now)
        return self.card(state.new_card_id) if state.new_card_id and allowed else None

    def _new_cards_left(self, user_id: int, target: TargetDate | None, now: datetime) -> bool:
        """Whether today's limit allows another new card: the configured one, or the pace the
        target date's plan needs if that is higher."""
        started_today = self.store.introduced_since(user_id, _start_of_day(now))
        limit = self.planner.settings.new_per_day
        if target:
            new_in_scope = len(scope.new_card_ids(self.store, user_id, target.topics))
            limit = max(limit, needed_new_per_day(
                new_in_scope, started_today, (target.day - now.date()).days,
                lead_days(self.planner_for(user_id), now)))
        return started_today < limit

    def planner_for(self, user_id: int) -> Planner:
        """The trainer's planner with the user's own fitted FSRS parameters, if `razbor
        optimize --user` saved any; built once per user, so a new fit applies from the next
        start."""
        planner = self._planners.get(user_id)
        if planner is None:
            fitted = preferences.fitted_parameters(self.store, user_id)
            planner = self.planner.with_parameters(fitted.parameters if fitted else None)
            self._planners[user_id] = planner
        return planner

    def target_date(self, user_id: int, now: datetime | None = None) -> TargetDate | None:
        """The user's target date while it is still ahead; None before one is set or after."""
        return _still_ahead(preferences.target_date(self.store, user_id), self._now(now))

    def set_target_date(self, user_id: int, day: str, topics: list[str] | tuple[str, ...] = (),
                        now: datetime | None = None) -> TargetDate:
        """Set the date (YYYY-MM-DD, after today) and the topics (none: all) to get ready for."""
        now = self._now(now)
        try:
            target = parse_target(day, topics, now.date(), self.deck.topics())
        except BadTargetDate as error:
            raise InvalidInput(str(error)) from error
        preferences.save_target_date(self.store, user_id, target, now)
        return target

    def clear_target_date(self, user_id: int, now: datetime | None = None) -> None:
        preferences.save_target_date(self.store, user_id, None, self._now(now))

    def readiness(self, user_id: int, now: datetime | None = None) -> Readiness | None:
        """The plan for the user's target date (see razbor.readiness); None without one.

        A forecast follows every card in scope through FSRS and takes seconds for thousands
        of cards, so it is made once per user and day and kept while nothing it depends on
        changes: the target date and topics, the user's newest review (each rating makes one)
        and how many cards they have started (an import of older history adds some). Every
        process reads that key from the database, so a change made through one is seen by all.
        """
        now = self._now(now)
        target = self.target_date(user_id, now)
        if target is None:
            return None
        key = (now.date(), target, self.store.history_marker(user_id))
        kept = self._plans.get(user_id)
        if kept is not None and kept[0] == key:
            return kept[1]
        plan = forecast(scope.started_cards(self.store, user_id, target.topics),
                        scope.new_card_ids(self.store, user_id, target.topics), now,
                        target.day, self.planner_for(user_id),
                        self.store.introduced_since(user_id, _start_of_day(now)))
        with self._plans_lock:  # requests of many users evict at once
            if user_id not in self._plans and len(self._plans) >= MAX_KEPT_PLANS:
                self._plans.pop(next(iter(self._plans)), None)
            self._plans[user_id] = (key, plan)
        return plan

    def topic_counts(self, user_id: int, now: datetime | None = None) -> list[TopicCounts]:
        return self.store.topic_counts(user_id, self._now(now))

    def submit_attempt(self, user_id: int, card_id: str, text: str, answered_aloud: bool,
                       seconds: float, now: datetime | None = None,
                       recording_id: int | None = None,
                       grade_later: bool = False) -> AttemptRecord:
        """Record an attempt, which unlocks the card's analysis for it.

        An attempt made from a recording carries its transcript's delivery report. Text that
        cannot be stored as it was typed is refused, not cleaned: a NUL character (PostgreSQL
        text cannot hold one) or an unpaired surrogate (not Unicode text) comes from a broken
        client, and silently changing the attempt would hide that. With grade_later, a typed
        attempt is stored with its grading queued, and grade_attempt writes the feedback (and
        the delivery report) afterwards: a web request must not wait for a slow grader.
        """
        self.card(card_id)
        recording = self.finished_recording(user_id, card_id, recording_id)
        answered_aloud = answered_aloud or recording is not None
        text = storable_text((text or "").strip())
        if len(text) > self.max_attempt_chars:
            raise InvalidInput(f"the attempt is {len(text)} characters long; the limit is "
                               f"{self.max_attempt_chars}")
        if not text and not answered_aloud:
            raise InvalidInput("type your attempt, or say that you answered aloud")
        if not 0 <= seconds <= MAX_ATTEMPT_SECONDS:
            raise InvalidInput(f"seconds must be between 0 and {MAX_ATTEMPT_SECONDS}")
        if grade_later and text:
            return self.store.add_attempt(user_id, card_id, self.versions[card_id], text,
                                          answered_aloud, float(seconds), self._now(now),
                                          recording_id=recording.id if recording else None,
                                          grading=QUEUED)
        feedback = self.grader.grade(self.card(card_id), text) if text else None
        return self.store.add_attempt(user_id, card_id, self.versions[card_id], text,
                                      answered_aloud, float(seconds), self._now(now),
                                      feedback.to_dict() if feedback else None,
                                      recording.id if recording else None,
                                      delivery_of(recording, feedback, text))

    @property
    def grades_slowly(self) -> bool:
        """Whether the grader waits on something outside the process (the LLM judge): a web
        request then stores the attempt with grade_later and leaves the grading to a job."""
        return getattr(self.grader, "slow", False)

    def grade_attempt(self, attempt_id: int, now: datetime | None = None) -> bool:
        """Write the feedback of an attempt stored with grade_later, graded against the card
        as it stood when the attempt was made. False when there is nothing to do: no such
        attempt, or already graded (a job run twice). GradingBusy while another process
        holds the attempt (processes starting together take up the same attempts): ask again
        after GRADING_CLAIM_SECONDS, when a claim that old, longer than the judge's timeout,
        is a dead process's. A grading that fails gives its claim back."""
        now = self._now(now)
        if not self.store.claim_grading(attempt_id, now,
                                        now - timedelta(seconds=GRADING_CLAIM_SECONDS)):
            attempt = self.store.attempt(attempt_id)
            if attempt is not None and attempt.grading is not None:
                raise GradingBusy(f"attempt {attempt_id} is being graded by another process")
            return False
        try:
            attempt = self.store.attempt(attempt_id)
            feedback = self.grader.grade(self.store.card_version(attempt.card_version_id),
                                         attempt.text)
            recording = (self.store.recording(attempt.recording_id) if attempt.recording_id
                         else None)
            return self.store.finish_grading(attempt_id, feedback.to_dict(),
                                             delivery_of(recording, feedback, attempt.text))
        except Exception:
            self.store.release_grading(attempt_id)  # so that a retry may claim it at once
            raise

    def finished_recording(self, user_id: int, card_id: str, recording_id: int | None):
        """The user's transcribed recording of this card (None for no id); NotFound, Conflict or
        InvalidInput say why another cannot be used as an answer."""
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
        return self._attempt_with_review(user_id, attempt_id)[0]

    def _attempt_with_review(self, user_id: int, attempt_id: int
                             ) -> tuple[AttemptRecord, ReviewRecord | None]:
        found = self.store.attempt_with_review(attempt_id)
        if found is None or found[0].user_id != user_id:
            raise NotFound(f"no attempt with id {attempt_id}")
        return found

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
        An attempt already rated is answered from the read that found it; otherwise the
        store checks again while it holds the card's turn.
        """
        try:
            rating = Rating.parse(rating)
        except ValueError as error:
            raise InvalidInput(str(error)) from error
        attempt, review = self._attempt_with_review(user_id, attempt_id)
        if card_id is not None and card_id != attempt.card_id:
            raise Conflict(f"attempt {attempt_id} belongs to card {attempt.card_id!r}, "
                           f"not {card_id!r}")
        now = self._now(now)
        created = False
        if review is None:
            planner = self.planner_for(user_id)
            review, created = self.store.add_review(
                attempt, int(rating), now, lambda before: planner.review(before, rating, now))
        if not created and review.rating != rating:
            raise Conflict(f"attempt {attempt_id} is already rated "
                           f"{Rating(review.rating).name.lower()}")
        return review, created

    def history(self, user_id: int, card_id: str
                ) -> list[tuple[AttemptRecord, ReviewRecord | None]]:
        self.card(card_id)
        return self.store.history(user_id, card_id)

    def stats(self, user_id: int, days: int = 365, now: datetime | None = None) -> Stats:
        """The user's progress over the last `days` days (today included): the review
        calendar, the due forecast, retention against the target, time per answer, key-point
        coverage per topic and the key points missed most."""
        if days < 1:
            raise InvalidInput("days must be 1 or more")
        now = self._now(now)
        today = _start_of_day(now)
        first_week = week_of((today - timedelta(days=days - 1)).date())
        log = read_practice_log(
            self.store, user_id, since=datetime.combine(first_week, time(), UTC),
            until=now + timedelta(seconds=1), due_before=today + timedelta(days=FORECAST_DAYS))
        progress = summarize(log, today.date(), days, self.planner.settings.desired_retention,
                             self.deck)
        return Stats(progress, self.store.topic_counts(user_id, now))


def storable_text(text: str) -> str:
    """The text itself if a database can store it; InvalidInput saying what is wrong if not."""
    if "\x00" in text:
        raise InvalidInput("the attempt contains a NUL character (\\x00), which cannot be "
                           "stored; remove it and send the attempt again")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput("the attempt is not valid Unicode text: it has an unpaired "
                           f"surrogate at character {error.start}") from error
    return text


def delivery_of(recording, feedback: Feedback | None, text: str) -> dict | None:
    """The delivery report of an answer made from a recording (None for a typed one)."""
    if recording is None:
        return None
    transcript = Transcript.from_dict(recording.transcript)
    return delivery_report(transcript, _first_point(feedback, text, transcript.text)).to_dict()


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


def _still_ahead(target: TargetDate | None, now: datetime) -> TargetDate | None:
    """The target date unless it is today or past (a day that came needs no more planning)."""
    return target if target is not None and target.day > now.date() else None


def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
