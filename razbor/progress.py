"""Progress over time, computed from one user's practice log: what the stats page and
`razbor stats` show.

Pure functions of plain records: razbor/storage/progress.py reads the records, the front ends
draw the result. Days and weeks are UTC days, as every stored time is UTC; a week starts on
Monday.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from statistics import median

from razbor.cards import Deck

FORECAST_DAYS = 30
MISSED_LIMIT = 10


@dataclass(frozen=True)
class ReviewEvent:
    """One rating from the review log, as progress needs it."""

    card_id: str
    rating: int
    reviewed_at: datetime
    state_before: str | None  # None: the card's first review

    @property
    def recalled(self) -> bool:
        """Anything but Again means the user remembered the answer."""
        return self.rating > 1


@dataclass(frozen=True)
class AttemptEvent:
    """One attempt: when, how long it took, and which key points the grader found in it."""

    card_id: str
    topic: str
    created_at: datetime
    seconds: float
    points: tuple[tuple[str, bool], ...] = ()  # (key point id, covered); () when not graded


@dataclass(frozen=True)
class PracticeLog:
    """The records progress is computed from; `due` holds the schedules' due moments."""

    reviews: list[ReviewEvent]
    attempts: list[AttemptEvent]
    due: list[datetime]


@dataclass(frozen=True)
class WeekTally:
    """How many of a week's events hit (a review recalled, a key point covered)."""

    week: date
    total: int
    hits: int

    @property
    def share(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass(frozen=True)
class WeekTime:
    week: date
    attempts: int
    median_seconds: float | None


@dataclass(frozen=True)
class TopicCoverage:
    """Key points covered in a topic's graded attempts, week by week and overall."""

    topic: str
    weeks: list[WeekTally]

    @property
    def total(self) -> int:
        return sum(week.total for week in self.weeks)

    @property
    def hits(self) -> int:
        return sum(week.hits for week in self.weeks)

    @property
    def share(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass(frozen=True)
class MissedPoint:
    """A key point of a card in the deck, and how many of the user's attempts left it out."""

    card_id: str
    title: str
    point_id: str
    text: str
    missed: int
    attempts: int

    @property
    def share(self) -> float:
        return self.missed / self.attempts


@dataclass(frozen=True)
class Progress:
    """Everything the stats views draw, for a window of `days` days ending `today`."""

    today: date
    reviews_per_day: list[tuple[date, int]]
    forecast: list[tuple[date, int]]
    target: float
    retention: float | None
    recalls: int
    retention_by_week: list[WeekTally]
    time_by_week: list[WeekTime]
    coverage: list[TopicCoverage]
    missed: list[MissedPoint]


@lru_cache(maxsize=1024)
def week_of(day: date) -> date:
    """The Monday that starts the day's week (cached: asked for every event of a year)."""
    return day - timedelta(days=day.weekday())


def summarize(log: PracticeLog, today: date, days: int, target: float, deck: Deck) -> Progress:
    """The series of the stats page from a log read since the Monday of the window's first day.

    Measured retention counts reviews of cards in the review state: a card still in its
    learning steps was just shown, so recalling it says nothing about memory. Weekly series
    start at the first week with practice in the window, so a new user's charts are not
    mostly empty weeks.
    """
    first = today - timedelta(days=days - 1)
    weeks = _weeks(_first_active_week(log, first, today), today)
    recalls = [review for review in log.reviews
               if review.state_before == "review" and review.reviewed_at.date() >= first]
    return Progress(
        today=today,
        reviews_per_day=_per_day((r.reviewed_at.date() for r in log.reviews), first, days),
        forecast=_per_day((max(due.date(), today) for due in log.due), today, FORECAST_DAYS),
        target=target,
        retention=(sum(r.recalled for r in recalls) / len(recalls)) if recalls else None,
        recalls=len(recalls),
        retention_by_week=_tallies(((r.reviewed_at.date(), 1, r.recalled) for r in log.reviews
                                    if r.state_before == "review"), weeks),
        time_by_week=_times(log.attempts, weeks),
        coverage=_coverage(log.attempts, weeks, deck),
        missed=_missed([a for a in log.attempts if a.created_at.date() >= first], deck),
    )


def _first_active_week(log: PracticeLog, first: date, today: date) -> date:
    active = [review.reviewed_at.date() for review in log.reviews]
    active += [attempt.created_at.date() for attempt in log.attempts]
    return week_of(max(first, min(active))) if active else week_of(today)


def _weeks(first_monday: date, today: date) -> list[date]:
    return [first_monday + timedelta(weeks=n)
            for n in range((week_of(today) - first_monday).days // 7 + 1)]


def _per_day(days: Iterable[date], first: date, count: int) -> list[tuple[date, int]]:
    counts = Counter(days)
    return [(first + timedelta(days=n), counts.get(first + timedelta(days=n), 0))
            for n in range(count)]


def _tallies(events: Iterable[tuple[date, int, int]], weeks: Sequence[date]
             ) -> list[WeekTally]:
    """Sum (day, total, hits) events into the given weeks."""
    totals: Counter = Counter()
    hits: Counter = Counter()
    for day, total, hit in events:
        week = week_of(day)
        totals[week] += total
        hits[week] += hit
    return [WeekTally(week, totals[week], hits[week]) for week in weeks]


def _times(attempts: Sequence[AttemptEvent], weeks: Sequence[date]) -> list[WeekTime]:
    """The median, not the mean: one attempt left open over lunch must not hide a week."""
    by_week: dict[date, list[float]] = {}
    for attempt in attempts:
        by_week.setdefault(week_of(attempt.created_at.date()), []).append(attempt.seconds)
    return [WeekTime(week, len(by_week.get(week, ())),
                     median(by_week[week]) if week in by_week else None) for week in weeks]


def _coverage(attempts: Sequence[AttemptEvent], weeks: Sequence[date], deck: Deck
              ) -> list[TopicCoverage]:
    """Per primary topic with graded attempts, in deck order (then other topics by name)."""
    events: dict[str, list[tuple[date, int, int]]] = {}
    for attempt in attempts:
        if attempt.points:
            events.setdefault(attempt.topic, []).append(
                (attempt.created_at.date(), len(attempt.points),
                 sum(covered for _, covered in attempt.points)))
    order = {topic: number for number, topic in enumerate(deck.topics())}
    topics = sorted(events, key=lambda topic: (order.get(topic, len(order)), topic))
    return [TopicCoverage(topic, _tallies(events[topic], weeks)) for topic in topics]


def _missed(attempts: Sequence[AttemptEvent], deck: Deck) -> list[MissedPoint]:
    """The key points missed most often, then by the largest share of attempts.

    Only points the deck's cards still have count: a point since removed from its card, or a
    card no longer in the deck, is nothing the user can go and practise.
    """
    tried: Counter = Counter()
    missed: Counter = Counter()
    for attempt in attempts:
        for point_id, covered in attempt.points:
            tried[attempt.card_id, point_id] += 1
            missed[attempt.card_id, point_id] += not covered
    texts: dict[str, dict[str, str]] = {}
    found = []
    for (card_id, point_id), count in missed.items():
        card = deck.get(card_id)
        if card and card_id not in texts:
            texts[card_id] = {point.id: point.text for point in card.gradable_rubric.key_points}
        if count and point_id in texts.get(card_id, {}):
            found.append(MissedPoint(card_id, card.title, point_id, texts[card_id][point_id],
                                     count, tried[card_id, point_id]))
    found.sort(key=lambda point: (-point.missed, -point.share, point.card_id, point.point_id))
    return found[:MISSED_LIMIT]
