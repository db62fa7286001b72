"""Spaced repetition: when a card comes back, and FSRS fitted to a user's own review log.
The only module that imports fsrs (FSRS-6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import IntEnum
from typing import NamedTuple

import fsrs


class Rating(IntEnum):
    """The user's self-assessment after seeing the analysis."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @classmethod
    def parse(cls, value: object) -> Rating:
        """Accept 1-4 or a name such as 'good'; raise ValueError with the accepted forms."""
        if isinstance(value, str) and value.strip() in ("1", "2", "3", "4"):
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
            return cls(value)
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise ValueError(f"rating must be 1-4 or again/hard/good/easy, not {value!r}")


@dataclass(frozen=True)
class Schedule:
    """A card's memory state for one user: the cache that the review log can rebuild."""

    state: str
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None

    def to_dict(self) -> dict:
        return {
            "state": self.state, "step": self.step, "stability": self.stability,
            "difficulty": self.difficulty, "due": self.due.isoformat(),
            "last_review": self.last_review.isoformat() if self.last_review else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Schedule:
        return cls(
            state=data["state"], step=data["step"], stability=data["stability"],
            difficulty=data["difficulty"], due=datetime.fromisoformat(data["due"]),
            last_review=(datetime.fromisoformat(data["last_review"])
                         if data["last_review"] else None),
        )


DEFAULT_PARAMETERS: tuple[float, ...] = fsrs.Scheduler().parameters


@dataclass(frozen=True)
class SchedulerSettings:
    """parameters: FSRS-6 weights fitted to the user's reviews (`razbor optimize`); None for
    the defaults."""

    desired_retention: float = 0.9
    new_per_day: int = 20
    fuzz: bool = True
    parameters: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.7 <= self.desired_retention <= 0.99:
            raise ValueError("desired retention must be between 0.70 and 0.99")
        if self.new_per_day < 0:
            raise ValueError("the daily new-card limit cannot be negative")
        if self.parameters is not None:
            _fsrs_scheduler(self.parameters)


def require_utc(moment: datetime) -> datetime:
    """Time is passed in, timezone-aware: a naive datetime is a bug, so refuse it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


class Planner:
    """Turns a rating into the next schedule with the FSRS-6 scheduler."""

    def __init__(self, settings: SchedulerSettings | None = None):
        self.settings = settings or SchedulerSettings()
        self._scheduler = _fsrs_scheduler(self.settings.parameters or DEFAULT_PARAMETERS,
                                          self.settings.desired_retention, self.settings.fuzz)

    def review(self, schedule: Schedule | None, rating: Rating, now: datetime) -> Schedule:
        """The schedule after rating a card (a new card when schedule is None) at `now`."""
        now = require_utc(now)
        card = _to_fsrs(schedule, now)
        reviewed, _ = self._scheduler.review_card(card, fsrs.Rating(int(rating)), now)
        return _from_fsrs(reviewed)

    def retrievability(self, schedule: Schedule | None, at: datetime) -> float:
        """The predicted probability of recalling the card at `at` (FSRS's forgetting curve
        over whole days since its last review); 0 for a card never reviewed."""
        at = require_utc(at)
        return self._scheduler.get_card_retrievability(_to_fsrs(schedule, at), at)

    def with_parameters(self, parameters: Sequence[float] | None) -> Planner:
        """This planner with other FSRS parameters (one user's fitted ones); itself for None."""
        if parameters is None:
            return self
        return Planner(replace(self.settings, parameters=tuple(parameters)))


class PastReview(NamedTuple):
    """A review from the log, as fitting and judging the scheduler's parameters need it."""

    card_id: str
    rating: int
    at: datetime


class OptimizerUnavailable(RuntimeError):
    """The FSRS optimizer's dependencies (torch, pandas) are not installed."""


OPTIMIZER_MISSING = ("the FSRS optimizer is not installed (fix: pip install 'razbor[optimizer]', "
                     "which brings torch and pandas)")


def optimizer_installed() -> bool:
    """Whether fit_parameters can run; imports torch, so it takes a moment."""
    try:
        fsrs.Optimizer([])
    except ImportError:
        return False
    return True


def predicted_recalls(history: Sequence[PastReview],
                      parameters: Sequence[float] = DEFAULT_PARAMETERS) -> list[tuple[int, float]]:
    """Replay the log with the given parameters: for each review a day or more after its
    card's previous one, its index in `history` and the predicted probability of recall.

    Same-day reviews are left out, as the FSRS optimizer leaves them out of its loss: the
    model predicts memory across days, and the learning steps of one sitting are not that.
    """
    scheduler = _fsrs_scheduler(parameters)
    cards: dict[str, fsrs.Card] = {}
    predictions = []
    for index in sorted(range(len(history)), key=lambda number: history[number].at):
        review = history[index]
        at = require_utc(review.at)
        card = cards.get(review.card_id) or fsrs.Card(card_id=0, due=at)
        if card.last_review is not None and (at - card.last_review).days > 0:
            predictions.append((index, scheduler.get_card_retrievability(card, at)))
        cards[review.card_id], _ = scheduler.review_card(card, fsrs.Rating(review.rating), at)
    return predictions


def fit_parameters(history: Sequence[PastReview]) -> tuple[float, ...]:
    """FSRS-6 parameters fitted to a review log by the fsrs package's optimizer.

    The optimizer keeps the defaults when it has fewer than 512 reviews to learn from.
    OptimizerUnavailable when its extra is not installed.
    """
    numbers = {card_id: number for number, card_id
               in enumerate(sorted({review.card_id for review in history}), start=1)}
    logs = [fsrs.ReviewLog(numbers[review.card_id], fsrs.Rating(review.rating),
                           require_utc(review.at), None) for review in history]
    try:
        optimizer = fsrs.Optimizer(logs)
    except ImportError as error:
        raise OptimizerUnavailable(OPTIMIZER_MISSING) from error
    return tuple(float(value) for value in optimizer.compute_optimal_parameters())


def _fsrs_scheduler(parameters: Sequence[float], desired_retention: float = 0.9,
                    fuzz: bool = False) -> fsrs.Scheduler:
    """An FSRS scheduler; ValueError naming the problem if the parameters are unusable."""
    return fsrs.Scheduler(parameters=tuple(parameters), desired_retention=desired_retention,
                          enable_fuzzing=fuzz)


def _to_fsrs(schedule: Schedule | None, now: datetime) -> fsrs.Card:
    if schedule is None:
        return fsrs.Card(card_id=0, due=now)
    return fsrs.Card(
        card_id=0, state=fsrs.State[schedule.state.capitalize()], step=schedule.step,
        stability=schedule.stability, difficulty=schedule.difficulty,
        due=require_utc(schedule.due),
        last_review=require_utc(schedule.last_review) if schedule.last_review else None,
    )


def _from_fsrs(card: fsrs.Card) -> Schedule:
    return Schedule(
        state=card.state.name.lower(), step=card.step, stability=card.stability,
        difficulty=card.difficulty, due=card.due, last_review=card.last_review,
    )
