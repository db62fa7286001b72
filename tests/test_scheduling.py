"""FSRS-6 scheduling with fuzzing off: exact, golden intervals."""

from datetime import UTC, datetime, timedelta

import pytest

from razbor.scheduling import Planner, Rating, Schedule, SchedulerSettings

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def intervals(ratings: list[int], retention: float = 0.9) -> list[timedelta]:
    """Review on the due date each time and collect the intervals FSRS gives."""
    planner = Planner(SchedulerSettings(desired_retention=retention, fuzz=False))
    schedule, now, found = None, START, []
    for rating in ratings:
        schedule = planner.review(schedule, Rating(rating), now)
        found.append(schedule.due - now)
        now = schedule.due
    return found


def test_a_card_answered_well_every_time_spreads_out():
    assert intervals([3, 3, 3, 3, 3]) == [
        timedelta(minutes=10), timedelta(days=2), timedelta(days=11), timedelta(days=46),
        timedelta(days=163),
    ]


def test_a_lapse_sends_the_card_back_to_relearning():
    assert intervals([3, 3, 3, 3, 1, 3, 4]) == [
        timedelta(minutes=10), timedelta(days=2), timedelta(days=11), timedelta(days=46),
        timedelta(minutes=10), timedelta(days=3), timedelta(days=12),
    ]


def test_easy_graduates_a_new_card_at_once():
    assert intervals([4, 4]) == [timedelta(days=8), timedelta(days=66)]


def test_higher_desired_retention_means_shorter_intervals():
    assert intervals([3, 3, 3], retention=0.95)[-1] < intervals([3, 3, 3], retention=0.9)[-1]


def test_schedules_round_trip_through_dicts():
    planner = Planner(SchedulerSettings(fuzz=False))
    schedule = planner.review(None, Rating.GOOD, START)
    assert Schedule.from_dict(schedule.to_dict()) == schedule


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Planner().review(None, Rating.GOOD, datetime(2026, 1, 1))


@pytest.mark.parametrize(("given", "expected"), [
    (1, Rating.AGAIN), ("4", Rating.EASY), ("good", Rating.GOOD), (" Hard ", Rating.HARD)])
def test_ratings_parse_from_numbers_and_names(given, expected):
    assert Rating.parse(given) is expected


@pytest.mark.parametrize("given", [0, 5, "great", None, True, 2.5, "²", "9" * 5_000])
def test_bad_ratings_say_what_is_accepted(given):
    with pytest.raises(ValueError, match="1-4 or again/hard/good/easy"):
        Rating.parse(given)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="desired retention"):
        SchedulerSettings(desired_retention=0.5)
    with pytest.raises(ValueError, match="new-card limit"):
        SchedulerSettings(new_per_day=-1)
