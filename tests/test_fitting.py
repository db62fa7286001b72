"""Fitting the scheduler to a review log: scores on held-out reviews, parameters kept per
user, `razbor stats` in a terminal and `razbor optimize` on a simulated learner."""

import math
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.config import Settings
from razbor.decks import load_deck
from razbor.fitting import (
    Fit,
    NotEnoughReviews,
    fit,
    save_fit,
    score,
    split_moment,
)
from razbor.practice import Trainer
from razbor.scheduling import (
    DEFAULT_PARAMETERS,
    PastReview,
    Planner,
    Rating,
    SchedulerSettings,
    optimizer_installed,
    predicted_recalls,
)
from razbor.storage import Store
from razbor.storage.preferences import FittedParameters, fitted_parameters
from razbor.storage.tables import attempts, fsrs_parameters, reviews

from .conftest import NOW
from .test_progress import practise

START = datetime(2025, 6, 2, 8, tzinfo=UTC)


def with_parameter(index: int, value: float) -> tuple[float, ...]:
    changed = list(DEFAULT_PARAMETERS)
    changed[index] = value
    return tuple(changed)


def test_the_planner_schedules_with_fitted_parameters():
    """w3 is the stability after a first Easy: the first interval, in days, at 90% retention."""
    default = Planner(SchedulerSettings(fuzz=False)).review(None, Rating.EASY, NOW)
    fitted = Planner(SchedulerSettings(fuzz=False, parameters=with_parameter(3, 20.0))
                     ).review(None, Rating.EASY, NOW)
    assert ((default.due - NOW).days, (fitted.due - NOW).days) == (8, 20)


def test_parameters_fsrs_cannot_use_are_refused():
    with pytest.raises(ValueError, match="Expected 21 parameters"):
        SchedulerSettings(parameters=(1.0, 2.0))
    with pytest.raises(ValueError, match="out of bounds"):
        SchedulerSettings(parameters=with_parameter(0, -5.0))


def test_held_out_reviews_are_scored_by_the_recall_predicted_for_them():
    history = [PastReview("a", 3, START), PastReview("a", 3, START + timedelta(days=5)),
               PastReview("a", 1, START + timedelta(days=30)),
               PastReview("b", 3, START + timedelta(days=30, hours=1))]
    assert split_moment(history, holdout=0.5) == START + timedelta(days=30)
    predicted = dict(predicted_recalls(history))
    assert set(predicted) == {1, 2}  # a's first review has nothing to predict, b has no past
    held_out = score(history, START + timedelta(days=30), DEFAULT_PARAMETERS)
    forgot = predicted[2]
    assert held_out.reviews == 1 and math.isclose(held_out.log_loss, -math.log(1 - forgot))
    assert math.isclose(held_out.rmse_bins, forgot)


def test_a_log_too_short_to_fit_says_how_many_reviews_it_needs():
    with pytest.raises(NotEnoughReviews, match="empty"):
        fit([])
    few = [PastReview("a", 3, START + timedelta(days=day)) for day in range(0, 100, 10)]
    with pytest.raises(NotEnoughReviews, match=r"7 of the reviews before 2025-08-21 .* needs at "
                                               r"least 512"):
        fit(few)


def test_a_fit_is_kept_for_its_user_with_its_scores(store):
    anna, boris = store.ensure_user("anna", NOW), store.ensure_user("boris", NOW)
    history = [PastReview("a", 3, START), PastReview("a", 3, START + timedelta(days=5))]
    judged = score(history, START, DEFAULT_PARAMETERS)
    save_fit(store, anna, Fit(with_parameter(3, 20.0), DEFAULT_PARAMETERS, START, 600, 150,
                              judged, judged), NOW)
    assert fitted_parameters(store, anna) == FittedParameters(
        with_parameter(3, 20.0), NOW, START, judged.log_loss, judged.log_loss)
    assert fitted_parameters(store, boris) is None


def written_history(url: str) -> Trainer:
    """A database with a few graded and rated attempts, as `razbor practice` leaves it."""
    store = Store.open(url)
    trainer = Trainer(load_deck(), store, Planner(SchedulerSettings(fuzz=False)))
    user = trainer.user()
    for days_ago, rating in ((20, Rating.EASY), (10, Rating.AGAIN), (2, Rating.GOOD)):
        practise(trainer, user, "roc-auc", datetime.now(UTC) - timedelta(days=days_ago), rating,
                 75, covered=["auc.curve"], missed=["auc.ranking"])
    return trainer


def test_stats_prints_the_charts_as_text(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    written_history(url).store.close()
    result = CliRunner().invoke(main, ["stats", "--days", "30", "--db", url])
    assert result.exit_code == 0, result.output
    for expected in ("Reviews per day", "3 reviews on 3 days", "Mon ", "Due in the next 30 days",
                     "Measured retention: 0% of 1 reviews", "Week by week", "75 s",
                     "Key-point coverage per topic", "metrics", "Key points you miss most",
                     "roc-auc", "3/3", "Progress per topic"):
        assert expected in result.output, expected


def test_optimize_without_its_extra_says_what_to_install(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    Store.open(url).close()
    without_pandas = ("import sys; sys.modules['pandas'] = None; from razbor.cli import main; "
                      "sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", without_pandas, "optimize", "--db", url],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("Error: the FSRS optimizer is not installed (fix: pip install "
                             "'razbor[optimizer]', which brings torch and pandas)\n")


@pytest.fixture(scope="module")
def optimizer() -> None:
    """The FSRS optimizer's extra: CI installs it; elsewhere the tests that fit skip."""
    if not optimizer_installed():
        if os.environ.get("CI"):
            pytest.fail("the FSRS optimizer is not installed (pip install '.[optimizer]')")
        pytest.skip("needs the FSRS optimizer: pip install '.[optimizer]'")


@pytest.mark.usefixtures("optimizer")
def test_optimize_refuses_an_unknown_user_and_a_short_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    written_history(url).store.close()
    unknown = CliRunner().invoke(main, ["optimize", "--db", url, "--user", "nobody"])
    assert unknown.exit_code == 2 and "--user: there is no user named 'nobody'" in unknown.output
    short = CliRunner().invoke(main, ["optimize", "--db", url])
    assert short.exit_code == 1 and "fitting needs at least 512" in short.output
    assert "Traceback" not in short.output
    store = Store.open(url)
    assert fitted_parameters(store, store.ensure_user("local", NOW)) is None
    store.close()


def simulate_learner(store: Store, cards: int, days: int, seed: int = 7) -> None:
    """A learner whose memory grows stabler more slowly than FSRS's defaults assume (w8 0.8
    instead of 1.87), practising each card whenever the default scheduler says it is due.

    Whether a review is recalled is drawn from the learner's own FSRS memory model. The
    history is written in one transaction (one per rating would take half a minute), then the
    schedules are rebuilt from it as `razbor rebuild` does.
    """
    rng = random.Random(seed)
    deck = load_deck()
    versions = store.sync_deck(deck, START)
    user = store.ensure_user("local", START)
    razbor, learner = (Planner(SchedulerSettings(fuzz=False, parameters=parameters))
                       for parameters in (None, with_parameter(8, 0.8)))
    decay = -DEFAULT_PARAMETERS[20]
    factor = 0.9 ** (1 / decay) - 1
    with store.writing() as db:
        for card in list(deck)[:cards]:
            at = START + timedelta(days=rng.randrange(30), minutes=rng.randrange(600))
            schedule = memory = None
            while at < START + timedelta(days=days):
                if memory is None:
                    rating = rng.choice([Rating.AGAIN, Rating.GOOD, Rating.GOOD])
                else:
                    elapsed = (at - memory.last_review).days
                    recall = (1 + factor * elapsed / memory.stability) ** decay
                    rating = (Rating.AGAIN if rng.random() > recall
                              else rng.choice([Rating.HARD, Rating.GOOD, Rating.GOOD, Rating.EASY]))
                memory = learner.review(memory, rating, at)
                before, schedule = schedule, razbor.review(schedule, rating, at)
                attempt = db.execute(attempts.insert().values(
                    user_id=user, card_id=card.id, card_version_id=versions[card.id], text="",
                    answered_aloud=True, seconds=30.0, created_at=at)).inserted_primary_key[0]
                db.execute(reviews.insert().values(
                    user_id=user, card_id=card.id, attempt_id=attempt, rating=int(rating),
                    state_before=before.to_dict() if before else None,
                    state_after=schedule.to_dict(), reviewed_at=at))
                at = max(schedule.due, at + timedelta(days=1)) + timedelta(hours=rng.randrange(12))
    store.rebuild_schedules()


@pytest.mark.usefixtures("optimizer")
def test_optimize_fits_a_learner_better_than_the_defaults_and_the_scheduler_uses_it(
        tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store.open(url)
    simulate_learner(store, cards=50, days=240)
    store.close()
    result = CliRunner().invoke(main, ["optimize", "--db", url])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): [float(cell) for cell in line.split("│")[2:4]]
             for line in result.output.splitlines() if line.count("│") == 4}
    before, after = lines["current (defaults)"], next(
        figures for name, figures in lines.items() if name.startswith("fitted on"))
    assert after[0] < before[0], result.output
    assert "saved for local in the database" in result.output
    trainer = Settings.load(db=url).open_trainer(create=False)
    user = trainer.user()
    fitted = fitted_parameters(trainer.store, user).parameters
    assert trainer.planner_for(user).settings.parameters == fitted != DEFAULT_PARAMETERS
    assert trainer.planner_for(trainer.user("someone else")).settings.parameters is None
    trainer.store.close()


def test_stored_parameters_fsrs_refuses_stop_commands_with_one_line(tmp_path,
                                                                     seed_deck_dir):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store.open(url)
    user = store.ensure_user("local", NOW)
    with store.writing() as db:
        db.execute(fsrs_parameters.insert().values(
            user_id=user, parameters=[1.0, 2.0], fitted_at=NOW,
            held_out_from=NOW, log_loss_before=0.5, log_loss_after=0.4))
    store.close()
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    result = CliRunner().invoke(main, ["plan", "--db", url, "--deck", str(seed_deck_dir),
                                       "--date", in_a_month])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1, result.output
    assert "Expected 21 parameters" in result.output
    assert "fix: run `razbor optimize --user NAME` again" in result.output
