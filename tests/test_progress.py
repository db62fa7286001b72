"""Progress from a practice history the test writes, on SQLite and on PostgreSQL.

Attempts are stored with the grader's feedback written out, so which key points count as
covered is fixed by the test and not by the grader of the day.
"""

from datetime import date, datetime, timedelta

import pytest

from razbor.practice import InvalidInput, Trainer
from razbor.progress import week_of
from razbor.scheduling import Rating
from razbor.storage.progress import review_log, user_id_named

from .conftest import NOW


def practise(trainer: Trainer, user: int, card_id: str, at: datetime, rating: Rating | None,
             seconds: float, covered=(), missed=()):
    """An attempt at `at` graded as given, rated (unless rating is None) at the same moment."""
    points = [{"id": point, "covered": True, "confidence": 1.0, "evidence": []}
              for point in covered]
    points += [{"id": point, "covered": False, "confidence": 1.0, "evidence": []}
               for point in missed]
    feedback = {"card_id": card_id, "backend": "test", "key_points": points, "mistakes": []}
    attempt = trainer.store.add_attempt(user, card_id, trainer.versions[card_id], "an answer",
                                        False, seconds, at, feedback if points else None)
    if rating is not None:
        trainer.rate(user, attempt.id, rating, now=at)
    return attempt


@pytest.fixture
def history(trainer: Trainer) -> int:
    """Three weeks of one user's practice ending at NOW (a Monday), and a stranger's review.

    batchnorm and roc-auc start Easy (straight to review); a week later batchnorm is recalled
    and roc-auc forgotten; the day before NOW roc-auc is forgotten again, so it is overdue.
    """
    user = trainer.user()
    day = lambda n: NOW + timedelta(days=n)  # noqa: E731 - reads as "day -15"
    practise(trainer, user, "batchnorm", day(-15), Rating.EASY, 40,
             covered=["bn.stats"], missed=["bn.normalize", "bn.affine"])
    practise(trainer, user, "roc-auc", day(-15), Rating.EASY, 60, missed=["auc.ranking"])
    practise(trainer, user, "batchnorm", day(-8), Rating.GOOD, 50,
             covered=["bn.stats", "bn.normalize"], missed=["bn.affine"])
    practise(trainer, user, "roc-auc", day(-8), Rating.AGAIN, 120, missed=["auc.ranking"])
    practise(trainer, user, "roc-auc", day(-1), Rating.AGAIN, 30, covered=["auc.ranking"])
    practise(trainer, user, "mixed-precision", day(0), None, 90)
    stranger = trainer.user("someone-else")
    practise(trainer, stranger, "batchnorm", day(-2), Rating.AGAIN, 999, missed=["bn.stats"])
    return user


def test_the_calendar_counts_each_days_reviews_and_only_the_users_own(trainer, history):
    progress = trainer.stats(history, days=30).progress
    assert len(progress.reviews_per_day) == 30 and progress.reviews_per_day[-1][0] == NOW.date()
    counts = {day: count for day, count in progress.reviews_per_day if count}
    assert counts == {date(2026, 2, 15): 2, date(2026, 2, 22): 2, date(2026, 3, 1): 1}


def test_retention_counts_reviews_of_learned_cards_week_by_week(trainer, history):
    progress = trainer.stats(history, days=30).progress
    assert progress.retention == 0.5 and progress.recalls == 2 and progress.target == 0.9
    weeks = {week.week: (week.total, week.hits) for week in progress.retention_by_week}
    assert weeks == {date(2026, 2, 9): (0, 0), date(2026, 2, 16): (2, 1),
                     date(2026, 2, 23): (0, 0), date(2026, 3, 2): (0, 0)}


def test_time_per_answer_is_the_weekly_median_of_every_attempt(trainer, history):
    times = {week.week: (week.attempts, week.median_seconds)
             for week in trainer.stats(history, days=30).progress.time_by_week}
    assert times == {date(2026, 2, 9): (2, 50), date(2026, 2, 16): (2, 85),
                     date(2026, 2, 23): (1, 30), date(2026, 3, 2): (1, 90)}


def test_coverage_per_topic_follows_the_deck_order_week_by_week(trainer, history):
    coverage = trainer.stats(history, days=30).progress.coverage
    assert [topic.topic for topic in coverage] == ["deep-learning", "metrics"]
    deep, metrics = coverage
    assert [(week.hits, week.total) for week in deep.weeks] == [(1, 3), (2, 3), (0, 0), (0, 0)]
    assert [(week.hits, week.total) for week in metrics.weeks] == [(0, 1), (0, 1), (1, 1), (0, 0)]
    assert (deep.hits, deep.total, metrics.share) == (3, 6, 1 / 3)


def test_the_most_missed_key_points_come_first_with_their_text(trainer, history):
    missed = trainer.stats(history, days=30).progress.missed
    assert [(p.card_id, p.point_id, p.missed, p.attempts) for p in missed] == [
        ("batchnorm", "bn.affine", 2, 2), ("roc-auc", "auc.ranking", 2, 3),
        ("batchnorm", "bn.normalize", 1, 2)]
    texts = {point.id: point.text for point in trainer.card("batchnorm").rubric.key_points}
    assert missed[0].text == texts["bn.affine"] and missed[0].title == trainer.card("batchnorm").title


def test_the_forecast_counts_due_cards_per_day_and_overdue_ones_today(trainer, history):
    forecast = trainer.stats(history, days=30).progress.forecast
    assert len(forecast) == 30 and forecast[0][0] == NOW.date()
    expected: dict[date, int] = {}
    for card_id in ("batchnorm", "roc-auc"):
        due = max(trainer.store.schedule(history, card_id).due.date(), NOW.date())
        if due < NOW.date() + timedelta(days=30):
            expected[due] = expected.get(due, 0) + 1
    assert {day: count for day, count in forecast if count} == expected
    assert forecast[0][1] >= 1  # roc-auc, relearning since yesterday


def test_a_short_window_leaves_older_practice_out(trainer, history):
    progress = trainer.stats(history, days=7).progress
    assert sum(count for _, count in progress.reviews_per_day) == 1
    assert progress.retention is None and progress.recalls == 0
    assert [week.week for week in progress.time_by_week] == [date(2026, 2, 23), date(2026, 3, 2)]
    assert [(p.point_id, p.missed) for p in progress.missed] == []


def test_a_new_user_has_empty_but_complete_progress(trainer):
    stats = trainer.stats(trainer.user(), days=14)
    progress = stats.progress
    assert [count for _, count in progress.reviews_per_day] == [0] * 14
    assert [week.week for week in progress.retention_by_week] == [week_of(NOW.date())]
    assert progress.coverage == [] and progress.missed == [] and progress.retention is None
    assert {row.topic for row in stats.topics} >= {"deep-learning", "metrics"}


def test_a_window_of_no_days_is_refused(trainer):
    with pytest.raises(InvalidInput, match="days must be 1 or more"):
        trainer.stats(trainer.user(), days=0)


def test_the_review_log_is_the_users_whole_history_oldest_first(trainer, history):
    log = review_log(trainer.store, history)
    assert [(review.card_id, review.rating) for review in log] == [
        ("batchnorm", 4), ("roc-auc", 4), ("batchnorm", 3), ("roc-auc", 1), ("roc-auc", 1)]
    assert [review.state_before for review in log] == [None, None, "review", "review",
                                                       "relearning"]
    assert user_id_named(trainer.store, "local") == history
    assert user_id_named(trainer.store, "nobody") is None
