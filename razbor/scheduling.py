"""Spaced repetition: when a card comes back. The only module that imports fsrs (FSRS-6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

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
        if isinstance(value, str) and value.strip().isdigit():
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


@dataclass(frozen=True)
class SchedulerSettings:
    desired_retention: float = 0.9
    new_per_day: int = 20
    fuzz: bool = True

    def __post_init__(self) -> None:
        if not 0.7 <= self.desired_retention <= 0.99:
            raise ValueError("desired retention must be between 0.70 and 0.99")
        if self.new_per_day < 0:
            raise ValueError("the daily new-card limit cannot be negative")


def require_utc(moment: datetime) -> datetime:
    """Time is passed in, timezone-aware: a naive datetime is a bug, so refuse it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


class Planner:
    """Turns a rating into the next schedule with the FSRS-6 scheduler."""

    def __init__(self, settings: SchedulerSettings | None = None):
        self.settings = settings or SchedulerSettings()
        self._scheduler = fsrs.Scheduler(
            desired_retention=self.settings.desired_retention,
            enable_fuzzing=self.settings.fuzz,
        )

    def review(self, schedule: Schedule | None, rating: Rating, now: datetime) -> Schedule:
        """The schedule after rating a card (a new card when schedule is None) at `now`."""
        now = require_utc(now)
        card = _to_fsrs(schedule, now)
        reviewed, _ = self._scheduler.review_card(card, fsrs.Rating(int(rating)), now)
        return _from_fsrs(reviewed)



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
