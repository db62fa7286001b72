"""Readiness for a date: will the cards of an interview's topics be remembered on that day?

The plan follows each card in scope through the reviews FSRS will schedule before the date and
predicts its recall on the date with FSRS's forgetting curve. Cards not started yet are started
in deck order at the plan's rate of new cards a day. It is recomputed from the schedules as
they stand each time it is asked for, so it adapts as reviews happen or are missed.

Simplifications, and why:

- Every review in the forecast is rated Good and happens on the day it falls due (overdue cards
  today). Good is what a recalled card is rated most often, and one path per card keeps the
  forecast a few FSRS steps per card; a lapse would set that card back, so the forecast is the
  usual path, not the worst one.
- Reviewed on schedule, a started card is always at or above the desired retention when its
  next review falls due, so recall alone would only ever flag cards never started. What the
  date's nearness decides is whether a card has had time to settle: a card counts as ready only
  with at least MIN_REVIEW_DAYS days of review before the date (its first day included), as
  well as a predicted recall at or above the desired retention at the start of the date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from razbor.scheduling import Planner, Rating, Schedule, require_utc

MIN_REVIEW_DAYS = 3  # the first day and two spaced reviews
MAX_DAYS_AHEAD = 730
MAX_TOPICS = 100


class BadTargetDate(ValueError):
    """A target date or topic the plan cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class TargetDate:
    """The day of an interview and the topics it covers (none: every topic)."""

    day: date
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class StartedCard:
    """A card the user has started: its schedule and on how many days it has been reviewed."""

    schedule: Schedule
    review_days: int


@dataclass(frozen=True)
class CardOutlook:
    """One card on the date: predicted recall, days of review by then, and (for a card not
    started yet) the day the plan starts it."""

    card_id: str
    retrievability: float
    review_days: int
    starts_on: date | None
    ready: bool


@dataclass(frozen=True)
class Readiness:
    """The plan for a date: its pace and what it leads to.

    new_per_day is the pace of new cards practice will allow (the configured limit, raised to
    what the plan needs); daily_reviews counts the in-scope cards due on each day from today to
    the day before the date.
    """

    target: date
    today: date
    desired_retention: float
    new_per_day: int
    needed_new_per_day: int
    daily_reviews: tuple[int, ...]
    cards: tuple[CardOutlook, ...]

    @property
    def behind(self) -> int:
        """In-scope cards predicted not ready on the date."""
        return sum(not card.ready for card in self.cards)

    @property
    def on_track(self) -> bool:
        return self.behind == 0

    @property
    def days_left(self) -> int:
        return (self.target - self.today).days

    @property
    def reviews_per_day(self) -> int:
        """The average daily review load until the date, rounded up."""
        return math.ceil(sum(self.daily_reviews) / len(self.daily_reviews))

    @property
    def peak_reviews(self) -> int:
        return max(self.daily_reviews)


def parse_target(day: str, topics: Sequence[str], today: date,
                 known_topics: Sequence[str]) -> TargetDate:
    """A target date from what a user typed (YYYY-MM-DD and topic names); BadTargetDate with
    the fix for a date that is not after today, too far ahead, or an unknown topic."""
    if not day.strip():
        raise BadTargetDate("choose the interview date (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(day.strip())
    except ValueError as error:
        raise BadTargetDate(f"the date must be written YYYY-MM-DD, not {day.strip()[:40]!r}"
                            ) from error
    if parsed <= today:
        raise BadTargetDate(f"the interview date must be after today ({today.isoformat()})")
    if (parsed - today).days > MAX_DAYS_AHEAD:
        raise BadTargetDate(f"the interview date must be within {MAX_DAYS_AHEAD} days of today")
    chosen = tuple(dict.fromkeys(topic.strip() for topic in topics if topic.strip()))
    if len(chosen) > MAX_TOPICS:
        raise BadTargetDate(f"choose at most {MAX_TOPICS} topics")
    unknown = [topic for topic in chosen if topic not in known_topics]
    if unknown:
        raise BadTargetDate(f"no topic named {unknown[0][:100]!r} in the deck")
    return TargetDate(parsed, chosen)


def forecast(started: Mapping[str, StartedCard], new_cards: Sequence[str], now: datetime,
             target: date, planner: Planner, started_today: int = 0) -> Readiness:
    """The plan for reaching `target` with the cards in scope: the started ones and the new
    ones (in the order they will be started); started_today counts new cards of any topic
    already started today, which use up today's allowance."""
    now = require_utc(now)
    planner = _exact(planner)
    today = now.date()
    days_left = (target - today).days
    if days_left < 1:
        raise ValueError("the target date must be after today")
    needed = needed_new_per_day(len(new_cards), started_today, days_left,
                                lead_days(planner, now))
    pace = max(planner.settings.new_per_day, needed)
    reviews = [0] * days_left
    outlooks = [_started_outlook(card_id, card, now, target, planner, reviews)
                for card_id, card in started.items()]
    new_paths: dict[int, tuple[float, list[date]]] = {}
    for position, card_id in enumerate(new_cards):
        offset = _start_offset(position, pace, started_today)
        if offset not in new_paths:
            final, days = _follow(planner, None, now + timedelta(days=offset), target)
            new_paths[offset] = (_recall_on(planner, final, target), days)
        recall, days = new_paths[offset]
        for day in days[1:]:
            reviews[(day - today).days] += 1
        outlooks.append(CardOutlook(card_id, recall, len(days), today + timedelta(days=offset),
                                    _ready(recall, len(days), planner)))
    return Readiness(target, today, planner.settings.desired_retention, pace, needed,
                     tuple(reviews), tuple(outlooks))


def needed_new_per_day(new_cards: int, started_today: int, days_left: int,
                       lead: int | None) -> int:
    """New cards a day that start every card in scope early enough for MIN_REVIEW_DAYS days of
    review before the date (lead: days that takes). When the date is too near for that, the
    pace that at least starts every card before the date."""
    if new_cards == 0:
        return 0
    window = days_left - lead + 1 if lead is not None else 0
    if window < 1:
        window = days_left
    return math.ceil((new_cards + started_today) / window)


def lead_days(planner: Planner, now: datetime) -> int | None:
    """How many days before a date a new card must start to be reviewed on MIN_REVIEW_DAYS
    days before it; None if not within MAX_DAYS_AHEAD."""
    planner = _exact(planner)
    _, days = _follow(planner, None, now, now.date() + timedelta(days=MAX_DAYS_AHEAD + 1))
    if len(days) < MIN_REVIEW_DAYS:
        return None
    return (days[MIN_REVIEW_DAYS - 1] - days[0]).days + 1


def _exact(planner: Planner) -> Planner:
    """The planner without fuzzing: a forecast must not change from one look to the next."""
    if not planner.settings.fuzz:
        return planner
    return Planner(replace(planner.settings, fuzz=False))


def _started_outlook(card_id: str, card: StartedCard, now: datetime, target: date,
                     planner: Planner, reviews: list[int]) -> CardOutlook:
    final, days = _follow(planner, card.schedule, now, target)
    for day in days:
        reviews[(day - now.date()).days] += 1
    recall = _recall_on(planner, final, target)
    review_days = card.review_days + len(days) - (
        1 if days and card.schedule.last_review and card.schedule.last_review.date() == days[0]
        else 0)
    return CardOutlook(card_id, recall, review_days, None, _ready(recall, review_days, planner))


def _follow(planner: Planner, schedule: Schedule | None, start: datetime, target: date
            ) -> tuple[Schedule | None, list[date]]:
    """Review the card, rated Good, each time it falls due from `start` until the target date
    begins; the schedule it is left with and the days it was reviewed on."""
    end = _start_of(target)
    moment = start if schedule is None else max(schedule.due, start)
    days: list[date] = []
    while moment < end:
        schedule = planner.review(schedule, Rating.GOOD, moment)
        if not days or days[-1] != moment.date():
            days.append(moment.date())
        moment = schedule.due
    return schedule, days


def _recall_on(planner: Planner, schedule: Schedule | None, target: date) -> float:
    return planner.retrievability(schedule, _start_of(target))


def _ready(recall: float, review_days: int, planner: Planner) -> bool:
    return recall >= planner.settings.desired_retention and review_days >= MIN_REVIEW_DAYS


def _start_offset(position: int, pace: int, started_today: int) -> int:
    """The day, counted from today, on which the plan starts the new card at `position`."""
    today_left = max(0, pace - started_today)
    if position < today_left:
        return 0
    return 1 + (position - today_left) // pace


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
