"""`razbor export` and `razbor import history` carry everything a user made, mock interviews and
preferences included, from one database into an empty one."""

import json
from datetime import date, timedelta

from click.testing import CliRunner

from razbor.cli import main
from razbor.readiness import TargetDate
from razbor.scheduling import DEFAULT_PARAMETERS, Rating
from razbor.storage import Store, export_records, import_records
from razbor.storage.interviews import Answer, Asked, InterviewStore
from razbor.storage.preferences import (
    FittedParameters,
    fitted_parameters,
    save_fitted_parameters,
    save_target_date,
    target_date,
)


def practise_and_interview(trainer, clock) -> int:
    """A user with reviews, one finished mock interview (a card answer and a follow-up note),
    a target date and fitted FSRS parameters; returns the user's id."""
    user = trainer.user()
    attempt = trainer.submit_attempt(user, "batchnorm", "normalises activations", False, 20)
    trainer.rate(user, attempt.id, Rating.GOOD)
    interviews = InterviewStore(trainer.store)
    asked_at = clock.now
    interview_id = interviews.start(user, {"topics": ["deep-learning"], "questions": 1},
                                    Asked(1, "roc-auc", "main", asked_at), asked_at)
    answer = trainer.submit_attempt(user, "roc-auc", "area under the curve", False, 40)
    interviews.record_answer(interview_id, 1, Answer(asked_at + timedelta(seconds=40), 40.0,
                                                     attempt_id=answer.id),
                             Asked(2, "roc-auc", "follow_up", asked_at + timedelta(seconds=41),
                                   follow_up="Why is it threshold-free?",
                                   missed_point="roc.threshold"))
    interviews.record_answer(interview_id, 2, Answer(asked_at + timedelta(seconds=90), 49.0,
                                                     note="It ranks pairs.",
                                                     note_feedback={"covered": True}), None)
    save_target_date(trainer.store, user, TargetDate(date(2026, 4, 1), ("statistics",)),
                     clock.now)
    save_fitted_parameters(trainer.store, user, FittedParameters(
        tuple(round(value * 1.01, 4) for value in DEFAULT_PARAMETERS), clock.now,
        clock.now - timedelta(days=7), 0.41, 0.37))
    return user


def test_interviews_and_preferences_survive_export_and_import(trainer, clock, tmp_path):
    user = practise_and_interview(trainer, clock)
    exported = list(export_records(trainer.store))
    target = Store.open(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    counts = import_records(target, json.loads(json.dumps(exported)))
    assert counts["interview"] == 1 and counts["interview_question"] == 2
    assert counts["preference"] == 1 and counts["fsrs_fit"] == 1
    assert list(export_records(target)) == exported
    assert InterviewStore(target).interviews_of(user) == \
        InterviewStore(trainer.store).interviews_of(user)
    assert target_date(target, user) == target_date(trainer.store, user)
    assert fitted_parameters(target, user) == fitted_parameters(trainer.store, user)
    later = clock.now + timedelta(days=1)
    another = InterviewStore(target).start(user, {}, Asked(1, "batchnorm", "main", later), later)
    assert another == 2
    target.close()


def test_the_command_line_round_trip_keeps_interviews_and_preferences(trainer, clock, tmp_path):
    practise_and_interview(trainer, clock)
    source = trainer.store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    dump = tmp_path / "history.jsonl"
    exported = runner.invoke(main, ["export", "--db", source, "--output", str(dump)])
    assert exported.exit_code == 0, exported.output
    copy = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    imported = runner.invoke(main, ["import", "history", str(dump), "--db", copy])
    assert imported.exit_code == 0, imported.output
    assert "1 interviews" in imported.output and "1 preferences" in imported.output
    again = runner.invoke(main, ["export", "--db", copy])
    assert again.output == dump.read_text(encoding="utf-8")
