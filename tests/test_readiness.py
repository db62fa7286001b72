"""Readiness for an interview date: the forecast, the stored date and parameters on SQLite and
PostgreSQL, practice that favours the date's topics, the home page's form and `razbor plan`."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from razbor.cli import main
from razbor.decks.notes import PastReview
from razbor.practice import InvalidInput, Trainer
from razbor.readiness import (
    MIN_REVIEW_DAYS,
    StartedCard,
    TargetDate,
    forecast,
    lead_days,
    needed_new_per_day,
)
from razbor.scheduling import DEFAULT_PARAMETERS, Planner, Rating, Schedule, SchedulerSettings
from razbor.storage import Store
from razbor.storage.preferences import (
    FittedParameters,
    fitted_parameters,
    save_fitted_parameters,
    save_target_date,
    target_date,
)
from razbor.storage.review_log import import_reviews
from razbor.web.app import create_app

from .conftest import NOW, seed_deck

TODAY = NOW.date()
PLANNER = Planner(SchedulerSettings(fuzz=False, new_per_day=0))


def in_days(days: int) -> date:
    return TODAY + timedelta(days=days)


def settled(stability: float, reviewed_days_ago: int) -> StartedCard:
    """A card in review, last seen some days ago, due when FSRS expects 90% recall."""
    last = NOW - timedelta(days=reviewed_days_ago)
    return StartedCard(Schedule("review", None, stability, 5.0, last + timedelta(days=stability),
                                last), review_days=5)


def with_parameter(index: int, value: float) -> tuple[float, ...]:
    changed = list(DEFAULT_PARAMETERS)
    changed[index] = value
    return tuple(changed)


# the forecast


def test_a_stable_card_far_from_its_due_is_on_track_with_nothing_to_review():
    plan = forecast({"roc-auc": settled(stability=200, reviewed_days_ago=10)}, [], NOW,
                    in_days(20), PLANNER)
    (card,) = plan.cards
    assert plan.on_track and card.ready and 0.95 < card.retrievability < 1
    assert sum(plan.daily_reviews) == 0 and len(plan.daily_reviews) == 20


def test_a_new_card_three_days_before_the_date_is_behind():
    plan = forecast({}, ["roc-auc"], NOW, in_days(3), PLANNER)
    (card,) = plan.cards
    assert plan.behind == 1 and not plan.on_track
    assert card.starts_on == TODAY and card.review_days == 2 < MIN_REVIEW_DAYS
    assert card.retrievability > 0.9  # recall alone would pass it: the days of review do not


def test_more_days_before_the_date_improve_the_status():
    new = [f"card-{n}" for n in range(30)]
    behind = [forecast({}, new, NOW, in_days(days), PLANNER).behind for days in (3, 10, 20, 40)]
    assert behind[0] == 30 and behind == sorted(behind, reverse=True) and behind[-1] == 0


def test_the_pace_starts_every_new_card_early_enough_for_three_days_of_review():
    lead = lead_days(PLANNER, NOW)
    assert lead == 14  # Good on the first day, again two days later, then eleven days later
    plan = forecast({}, [f"card-{n}" for n in range(34)], NOW, in_days(30), PLANNER)
    assert plan.needed_new_per_day == needed_new_per_day(34, 0, 30, lead) == 2  # 34 over 17 days
    assert plan.on_track and max(card.starts_on for card in plan.cards) == in_days(16)
    assert plan.reviews_per_day >= 1 and plan.peak_reviews >= plan.reviews_per_day


def test_the_configured_limit_is_kept_when_it_is_faster_and_todays_starts_count():
    fast = Planner(SchedulerSettings(fuzz=False, new_per_day=20))
    plan = forecast({}, [f"card-{n}" for n in range(30)], NOW, in_days(60), fast,
                    started_today=15)
    assert plan.new_per_day == 20 and plan.needed_new_per_day == 1
    assert sum(card.starts_on == TODAY for card in plan.cards) == 5  # 15 of 20 already used
    assert needed_new_per_day(10, 0, 5, lead=14) == 2  # too near for three days: all by the date


def test_overdue_cards_are_reviewed_today_in_the_forecast():
    overdue = settled(stability=3, reviewed_days_ago=10)
    plan = forecast({"batchnorm": overdue}, [], NOW, in_days(10), PLANNER)
    assert plan.daily_reviews[0] == 1 and plan.cards[0].review_days > overdue.review_days


def test_a_date_that_is_not_ahead_is_refused():
    with pytest.raises(ValueError, match="after today"):
        forecast({}, ["a"], NOW, TODAY, PLANNER)


def test_fitted_parameters_change_the_plan():
    """w2 is the stability after a first Good: a learner who keeps new cards longer is reviewed
    later, so needs to start earlier."""
    slow_forgetter = Planner(SchedulerSettings(fuzz=False, parameters=with_parameter(2, 6.0)))
    assert lead_days(slow_forgetter, NOW) > lead_days(PLANNER, NOW)


# storage, on SQLite and PostgreSQL


def test_the_target_date_is_kept_per_user_and_cleared(store):
    anna, boris = store.ensure_user("anna", NOW), store.ensure_user("boris", NOW)
    save_target_date(store, anna, TargetDate(in_days(30), ("metrics", "statistics")), NOW)
    save_target_date(store, anna, TargetDate(in_days(40)), NOW)
    assert target_date(store, anna) == TargetDate(in_days(40), ())
    assert target_date(store, boris) is None
    save_target_date(store, boris, TargetDate(in_days(7), ("metrics",)), NOW)
    save_target_date(store, anna, None, NOW)
    assert target_date(store, anna) is None
    assert target_date(store, boris) == TargetDate(in_days(7), ("metrics",))


def fitted(parameters: tuple[float, ...], loss_after: float = 0.4) -> FittedParameters:
    return FittedParameters(parameters, NOW, NOW - timedelta(days=30), 0.5, loss_after)


def test_fitted_parameters_are_kept_per_user_and_replaced_by_a_new_fit(store):
    anna, boris = store.ensure_user("anna", NOW), store.ensure_user("boris", NOW)
    save_fitted_parameters(store, anna, fitted(with_parameter(3, 20.0)))
    save_fitted_parameters(store, anna, fitted(with_parameter(3, 30.0), loss_after=0.3))
    assert fitted_parameters(store, anna) == fitted(with_parameter(3, 30.0), loss_after=0.3)
    assert fitted_parameters(store, boris) is None


# practice


def answer(trainer: Trainer, user: int, card_id: str, rating: Rating = Rating.EASY):
    attempt = trainer.submit_attempt(user, card_id, "my attempt", False, 30)
    return trainer.rate(user, attempt.id, rating)[0]


def test_each_user_is_scheduled_with_their_own_parameters(trainer):
    """w3 is the stability after a first Easy: the first interval in days at 90% retention."""
    anna, boris, cleo = (trainer.user(name) for name in ("anna", "boris", "cleo"))
    save_fitted_parameters(trainer.store, anna, fitted(with_parameter(3, 20.0)))
    save_fitted_parameters(trainer.store, boris, fitted(with_parameter(3, 40.0)))
    intervals = [(answer(trainer, user, "roc-auc").state_after.due - NOW).days
                 for user in (anna, boris, cleo)]
    assert intervals == [20, 40, 8]
    assert trainer.planner_for(anna).settings.parameters == with_parameter(3, 20.0)
    assert trainer.planner_for(cleo) is trainer.planner


def test_practice_offers_the_dates_topics_first(trainer):
    user = trainer.user()
    trainer.set_target_date(user, in_days(30).isoformat(), ["metrics"])
    assert trainer.next_card(user).id == "roc-auc"
    answer(trainer, user, "roc-auc")
    assert trainer.next_card(user).id == "batchnorm"  # then the rest, in deck order
    assert trainer.next_card(user, "system-design").id == "dental-lesions-3d"


def test_the_daily_limit_rises_to_the_pace_the_plan_needs(trainer, clock):
    trainer.planner.settings = SchedulerSettings(fuzz=False, new_per_day=1)
    user = trainer.user()
    answer(trainer, user, "batchnorm")
    assert trainer.next_card(user) is None
    trainer.set_target_date(user, in_days(3).isoformat())  # three new cards, three days
    assert trainer.readiness(user).new_per_day == 2  # (3 + the one started today) / 2 days
    answer(trainer, user, trainer.next_card(user).id)
    assert trainer.next_card(user) is None


def test_the_plan_adapts_as_cards_are_practised(trainer, clock):
    user = trainer.user()
    trainer.set_target_date(user, in_days(20).isoformat(), ["metrics", "deep-learning"])
    before = trainer.readiness(user)
    assert len(before.cards) == 3 and before.on_track and sum(before.daily_reviews) > 0
    clock.now += timedelta(days=19)  # nothing practised: too late for three days of review
    assert trainer.readiness(user).behind == 3
    clock.now += timedelta(days=1)
    assert trainer.readiness(user) is None and trainer.target_date(user) is None


def test_the_plan_is_kept_until_a_rating_a_new_date_or_a_new_day(trainer, clock):
    """Two trainers on one database stand for two app processes: a change made through one
    reaches the plan the other keeps."""
    other = Trainer(seed_deck(), trainer.store, trainer.planner, clock=clock)
    user = trainer.user()
    trainer.set_target_date(user, in_days(20).isoformat(), ["metrics", "deep-learning"])
    first = trainer.readiness(user)
    assert trainer.readiness(user) is first
    answer(other, user, "roc-auc")
    rated = trainer.readiness(user)
    assert [card.starts_on for card in first.cards if card.card_id == "roc-auc"] == [TODAY]
    assert [card.starts_on for card in rated.cards if card.card_id == "roc-auc"] == [None]
    other.set_target_date(user, in_days(10).isoformat(), ["metrics"])
    assert trainer.readiness(user).target == in_days(10)
    assert [card.card_id for card in trainer.readiness(user).cards] == ["roc-auc"]
    kept = trainer.readiness(user)
    clock.now += timedelta(days=1)
    assert trainer.readiness(user) is not kept and trainer.readiness(user).days_left == 9


def test_history_imported_with_older_dates_reaches_the_kept_plan(trainer, clock):
    """An import (`razbor import --history`, another process) adds reviews dated before the
    user's newest one; the plan a process keeps must still see the cards it started."""
    user = trainer.user()
    trainer.set_target_date(user, in_days(20).isoformat(), ["metrics", "deep-learning"])
    answer(trainer, user, "roc-auc")
    kept = trainer.readiness(user)
    assert [card.starts_on for card in kept.cards if card.card_id == "batchnorm"] == [TODAY]

    def replay(before, rating, at):
        return trainer.planner.review(before, Rating(rating), at)

    older = [PastReview("batchnorm", 3, clock.now - timedelta(days=3), 12.0)]
    assert import_reviews(trainer.store, "local", list(seed_deck()), older, replay,
                          clock.now) == 1
    replanned = trainer.readiness(user)
    assert [card.starts_on for card in replanned.cards if card.card_id == "batchnorm"] == [None]


@pytest.mark.parametrize(("day", "topics", "message"), [
    ("", [], "choose the interview date"),
    ("next friday", [], "must be written YYYY-MM-DD"),
    (TODAY.isoformat(), [], "must be after today"),
    (in_days(731).isoformat(), [], "within 730 days"),
    (in_days(9).isoformat(), ["metrics", "astrology"], "no topic named 'astrology'"),
])
def test_a_date_or_topic_the_plan_cannot_use_is_refused(sqlite_trainer, day, topics, message):
    user = sqlite_trainer.user()
    with pytest.raises(InvalidInput, match=message):
        sqlite_trainer.set_target_date(user, day, topics)
    assert sqlite_trainer.target_date(user) is None


# the home page


@pytest.fixture
def client(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), follow_redirects=False) as http:
        yield http


def readiness_section(page: str) -> str:
    return page[page.index('id="readiness"'):page.index("</section>")]


def test_the_home_form_sets_the_date_and_shows_the_status(client):
    empty = readiness_section(client.get("/?lang=en").text)
    assert 'name="date" value=""' in empty and "readiness-status" not in empty
    saved = client.post("/plan", data={"date": in_days(3).isoformat(), "topics": ["metrics"]})
    assert saved.status_code == 303 and saved.headers["location"] == "/"
    section = readiness_section(client.get("/?lang=en").text)
    assert f'value="{in_days(3).isoformat()}"' in section
    assert re.search(r'value="metrics" checked', section)
    assert "Behind by 1 cards" in section and "new cards per day: 20" in section
    client.post("/plan", data={"date": in_days(60).isoformat()})
    russian = readiness_section(client.get("/?lang=ru").text)
    assert "Успеваете" in russian and "новых в день: 20" in russian
    assert "checked" not in russian


def test_a_refused_date_is_shown_again_with_the_reason(client):
    page = client.post("/plan", data={"date": "31.12.2026", "topics": ["metrics"]})
    assert page.status_code == 400
    assert "Дату нужно записать как ГГГГ-ММ-ДД, а не &#39;31.12.2026&#39;." in page.text
    assert 'value="31.12.2026"' in page.text and 'value="metrics" checked' in page.text
    unknown = client.post("/plan?lang=en", data={"date": in_days(5).isoformat(),
                                                  "topics": ["<script>"]})
    assert unknown.status_code == 400 and "no topic named &#39;&lt;script&gt;&#39;" in unknown.text


def test_the_home_form_clears_the_date(client):
    client.post("/plan", data={"date": in_days(10).isoformat()})
    assert "readiness-status" in client.get("/").text
    cleared = client.post("/plan", data={"date": in_days(10).isoformat(), "clear": "1"})
    assert cleared.status_code == 303 and "readiness-status" not in client.get("/").text


# the command line


def test_plan_sets_shows_and_clears_the_date(sqlite_url, seed_deck_dir):
    Store.open(sqlite_url).close()
    today = datetime.now(UTC).date()
    common = ["--db", sqlite_url, "--deck", str(seed_deck_dir)]
    soon = CliRunner().invoke(main, ["plan", *common, "--date",
                                     (today + timedelta(days=3)).isoformat(),
                                     "--topics", "metrics,deep-learning"])
    assert soon.exit_code == 0, soon.output
    assert "metrics, deep-learning (3 cards)" in soon.output and "behind by 3 cards" in soon.output
    assert "new cards per day: 20" in soon.output and "reviews per day: about" in soon.output
    later = (today + timedelta(days=60)).isoformat()
    assert "on track" in CliRunner().invoke(main, ["plan", *common, "--date", later]).output
    shown = CliRunner().invoke(main, ["plan", *common])
    assert f"interview on {later}, in 60 days: every topic (4 cards)" in shown.output
    assert CliRunner().invoke(main, ["plan", *common, "--clear"]).output == (
        "razbor: interview date cleared\n")
    assert "no interview date is set" in CliRunner().invoke(main, ["plan", *common]).output


@pytest.mark.parametrize(("arguments", "message"), [
    (["--date", "2020-01-01"], "--date/--topics: the interview date must be after today"),
    (["--date", "tomorrow"], "--date/--topics: the date must be written YYYY-MM-DD"),
    (["--date", "2099-01-01"], "within 730 days"),
    (["--topics", "metrics"], "--topics: also pass --date"),
    (["--clear", "--date", "2099-01-01"], "--clear: pass it alone"),
    (["--user", "nobody"], "--user: there is no user named 'nobody'"),
])
def test_plan_refuses_bad_arguments_in_one_line(sqlite_url, seed_deck_dir, arguments, message):
    Store.open(sqlite_url).close()
    result = CliRunner().invoke(main, ["plan", "--db", sqlite_url, "--deck", str(seed_deck_dir),
                                       *arguments])
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.splitlines()) == 1


def test_plan_refuses_a_database_that_does_not_exist(tmp_path):
    result = CliRunner().invoke(main, ["plan", "--db", f"sqlite:///{tmp_path / 'typo.db'}"])
    assert result.exit_code == 2 and "there is no database" in result.output
    assert not (tmp_path / "typo.db").exists()
