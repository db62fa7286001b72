"""A slow grader (the LLM judge) grades after the request: the page answers at once, the
feedback follows, and a restart or a worker on the job queue finishes what was left."""

import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from razbor.config import Settings
from razbor.deferred_grading import DeferredGrading
from razbor.grading.backends import GraderSettings, make_grader
from razbor.labs.background import QueuedLabs, compute_and_save, labs_version
from razbor.practice import GRADING_CLAIM_SECONDS, GradingBusy, Trainer
from razbor.storage import Store
from razbor.storage.lab_outcomes import save_lab_outcome, saved_lab_outcome
from razbor.web.app import create_app
from razbor.web.factory import build_app

from .conftest import NOW, JudgeServer, free_port, seed_deck

ANSWER = "AUC is the chance that a random positive outranks a random negative."


def judged_trainer(url: str, judge_url: str, clock=None) -> Trainer:
    grader = make_grader(GraderSettings("llm", llm_url=judge_url, llm_model="m"))
    return Trainer(seed_deck(), Store.open(url), grader=grader,
                   **({"clock": clock} if clock else {}))


def wait_for_feedback(client: TestClient, attempt_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        attempt = client.get(f"/api/attempts/{attempt_id}").json()
        if attempt["grading"] is None:
            return attempt
        time.sleep(0.1)
    raise AssertionError(f"attempt {attempt_id} still not graded after 60 s")


def test_an_attempt_graded_later_gets_the_feedback_grading_now_gives_and_only_once(trainer):
    user = trainer.user()
    now = trainer.submit_attempt(user, "roc-auc", ANSWER, False, 30)
    later = trainer.submit_attempt(user, "roc-auc", ANSWER, False, 30, grade_later=True)
    assert later.grading == "queued" and later.feedback is None
    assert trainer.store.ungraded_attempts() == [later.id]
    assert trainer.grade_attempt(later.id)
    graded = trainer.attempt(user, later.id)
    assert graded.grading is None
    assert graded.feedback == trainer.attempt(user, now.id).feedback
    assert not trainer.grade_attempt(later.id)
    assert trainer.store.ungraded_attempts() == []


def test_one_process_at_a_time_holds_an_attempt_to_grade(trainer, clock):
    store = trainer.store
    waiting = trainer.submit_attempt(trainer.user(), "roc-auc", ANSWER, False, 30,
                                     grade_later=True).id
    hold = timedelta(seconds=GRADING_CLAIM_SECONDS)
    start = clock()
    assert store.claim_grading(waiting, start, start - hold)
    soon = start + timedelta(seconds=10)
    assert not store.claim_grading(waiting, soon, soon - hold)
    store.release_grading(waiting)
    assert store.claim_grading(waiting, soon, soon - hold)
    dead = soon + hold + timedelta(seconds=1)
    assert store.claim_grading(waiting, dead, dead - hold)


def test_an_attempt_held_by_a_process_that_died_is_graded_once_the_claim_runs_out(
        sqlite_url, held_judge_url, clock):
    trainer = judged_trainer(sqlite_url, held_judge_url, clock)
    left = trainer.submit_attempt(trainer.user(), "roc-auc", ANSWER, False, 30,
                                  grade_later=True)
    hold = timedelta(seconds=GRADING_CLAIM_SECONDS)
    assert trainer.store.claim_grading(left.id, clock(), clock() - hold)
    with pytest.raises(GradingBusy):
        trainer.grade_attempt(left.id)
    JudgeServer.gate.set()
    grading = DeferredGrading(trainer, recheck_after=0.1)
    grading.start()
    clock.now += hold + timedelta(seconds=1)
    deadline = time.monotonic() + 60
    while trainer.store.ungraded_attempts():
        assert time.monotonic() < deadline, "the dead process's attempt still waits"
        time.sleep(0.1)
    grading.stop()
    assert len(JudgeServer.seen) == 1
    assert not trainer.grade_attempt(left.id)
    trainer.store.close()


def test_with_the_llm_judge_the_page_answers_first_and_the_feedback_follows(
        sqlite_url, held_judge_url):
    trainer = judged_trainer(sqlite_url, held_judge_url)
    with TestClient(create_app(trainer), follow_redirects=False) as client:
        page = client.get("/cards/roc-auc")
        started = re.search(r'name="started_at" value="([^"]+)"', page.text).group(1)
        response = client.post("/cards/roc-auc/attempts",
                               data={"started_at": started, "text": ANSWER})
        assert response.status_code == 303
        attempt_id = int(response.headers["location"].rsplit("/", 1)[1])
        waiting = client.get(f"/attempts/{attempt_id}")
        assert 'id="grading"' in waiting.text and "ещё проверяется" in waiting.text
        assert client.get(f"/api/attempts/{attempt_id}").json()["grading"] == "queued"
        JudgeServer.gate.set()
        graded = wait_for_feedback(client, attempt_id)
        assert graded["feedback"]["backend"] == "llm"
        assert [p["id"] for p in graded["feedback"]["key_points"] if p["covered"]] == \
            ["auc.ranking"]
        assert 'id="grading"' not in client.get(f"/attempts/{attempt_id}").text
    assert len(JudgeServer.seen) == 1
    trainer.store.close()


def test_the_api_answers_201_with_the_grading_queued(sqlite_url, held_judge_url):
    trainer = judged_trainer(sqlite_url, held_judge_url)
    with TestClient(create_app(trainer)) as client:
        created = client.post("/api/cards/roc-auc/attempts",
                              json={"text": ANSWER, "answered_aloud": False, "seconds": 12})
        assert created.status_code == 201
        assert created.json()["grading"] == "queued" and created.json()["feedback"] is None
        JudgeServer.gate.set()
        assert wait_for_feedback(client, created.json()["id"])["feedback"]["backend"] == "llm"
    trainer.store.close()


def test_a_server_started_again_grades_what_the_last_one_left_waiting(sqlite_url, held_judge_url):
    trainer = judged_trainer(sqlite_url, held_judge_url)
    left = trainer.submit_attempt(trainer.user(), "roc-auc", ANSWER, False, 30,
                                  grade_later=True)
    JudgeServer.gate.set()
    with TestClient(create_app(trainer)) as client:
        assert wait_for_feedback(client, left.id)["feedback"]["backend"] == "llm"
    trainer.store.close()


def test_the_built_in_grader_still_grades_within_the_request(client_of_semantic_trainer):
    created = client_of_semantic_trainer.post(
        "/api/cards/roc-auc/attempts",
        json={"text": ANSWER, "answered_aloud": False, "seconds": 12})
    assert created.json()["grading"] is None and created.json()["feedback"]["backend"] == "semantic"


@pytest.fixture
def client_of_semantic_trainer(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer)) as client:
        yield client


def test_processes_starting_together_ask_the_judge_once_per_attempt(sqlite_url,
                                                                    held_judge_url):
    trainer = judged_trainer(sqlite_url, held_judge_url)
    left = [trainer.submit_attempt(trainer.user(), "roc-auc", ANSWER, False, 30,
                                   grade_later=True).id for _ in range(3)]
    processes = [DeferredGrading(judged_trainer(sqlite_url, held_judge_url)) for _ in range(3)]
    for process in processes:
        process.start()
    JudgeServer.gate.set()
    deadline = time.monotonic() + 60
    while trainer.store.ungraded_attempts():
        assert time.monotonic() < deadline, "attempts still waiting after 60 s"
        time.sleep(0.1)
    for process in processes:
        process.stop()
    assert len(JudgeServer.seen) == len(left)
    trainer.store.close()


def test_attempts_left_waiting_are_graded_by_the_grader_a_server_restarts_with(
        sqlite_url, held_judge_url, sqlite_trainer):
    judged = judged_trainer(sqlite_url, held_judge_url)
    left = judged.submit_attempt(judged.user(), "roc-auc", ANSWER, False, 30, grade_later=True)
    with TestClient(create_app(sqlite_trainer)) as client:
        assert wait_for_feedback(client, left.id)["feedback"]["backend"] == "semantic"
    assert JudgeServer.seen == []
    judged.store.close()


def test_a_judge_that_fails_leaves_the_built_in_feedback_and_says_why(sqlite_url):
    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    trainer = judged_trainer(sqlite_url, unreachable)
    attempt = trainer.submit_attempt(trainer.user(), "roc-auc", ANSWER, False, 30,
                                     grade_later=True)
    assert trainer.grade_attempt(attempt.id)
    feedback = trainer.attempt(trainer.user(), attempt.id).feedback
    assert feedback["backend"] == "rules" and "llm grader failed" in feedback["notice"]
    trainer.store.close()


@pytest.mark.postgres
def test_with_the_job_queue_an_app_process_defers_and_a_worker_grades_and_runs_the_lab(
        postgres_url, held_judge_url, tmp_path, seed_deck_dir):
    settings = Settings.load(db=postgres_url, jobs="queue", grader="llm",
                             llm_url=held_judge_url, llm_model="m", speech=False)
    trainer = judged_trainer(postgres_url, held_judge_url)
    app = build_app(settings, trainer, None, "127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        created = client.post("/api/cards/roc-auc/attempts",
                              json={"text": ANSWER, "answered_aloud": False, "seconds": 12})
        assert created.json()["grading"] == "queued"
        assert client.get("/cards/roc-auc/lab").status_code == 202
    attempt_id = created.json()["id"]
    assert JudgeServer.seen == []
    JudgeServer.gate.set()
    with (tmp_path / "worker.log").open("w+b") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "razbor.cli", "worker", "--db", postgres_url, "--no-speech",
             "--grader", "llm", "--llm-url", held_judge_url, "--llm-model", "m"],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "RAZBOR_DECK": str(seed_deck_dir)})
        try:
            deadline = time.monotonic() + 60
            while trainer.store.attempt(attempt_id).grading is not None:
                assert worker.poll() is None, log_text(log)
                assert time.monotonic() < deadline, log_text(log)
                time.sleep(0.2)
            while saved_lab_outcome(trainer.store, "roc-auc", 0, labs_version()) is None:
                assert worker.poll() is None, log_text(log)
                assert time.monotonic() < deadline, log_text(log)
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert trainer.store.attempt(attempt_id).feedback["backend"] == "llm"
    assert len(JudgeServer.seen) == 1
    with TestClient(build_app(settings, trainer, None, "127.0.0.1"),
                    base_url="http://127.0.0.1") as client:
        lab = client.get("/cards/roc-auc/lab")
    assert lab.status_code == 200 and 'id="lab-claims"' in lab.text
    trainer.store.close()


def log_text(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")


@pytest.mark.postgres
def test_a_lab_asked_for_again_and_again_is_queued_once_and_computed_once(postgres_url):
    from razbor.jobs import JobQueue

    store = Store.open(postgres_url)
    labs = QueuedLabs(store, JobQueue(postgres_url))
    labs.start()
    try:
        assert [labs.outcome("roc-auc") for _ in range(3)] == [None] * 3
        with store.engine.begin() as db:
            db.execute(sa.text("UPDATE procrastinate_jobs SET status = 'doing' "
                               "WHERE task_name = 'razbor.lab'"))
        assert labs.outcome("roc-auc") is None
        with store.engine.connect() as db:
            assert db.execute(sa.text("SELECT count(*) FROM procrastinate_jobs "
                                      "WHERE task_name = 'razbor.lab'")).scalar() == 1
        compute_and_save(store, "roc-auc", 0)
        first = saved_lab_outcome(store, "roc-auc", 0, labs_version())
        compute_and_save(store, "roc-auc", 0)
        assert saved_lab_outcome(store, "roc-auc", 0, labs_version()) == first
        assert labs.outcome("roc-auc").result.passed
    finally:
        labs.stop()
        store.close()


def test_a_labs_saved_problem_gives_way_to_its_claims_and_claims_stay(sqlite_url):
    store = Store.open(sqlite_url)
    version = labs_version()
    save_lab_outcome(store, "roc-auc", 0, version, None, "needs torch", NOW)
    assert saved_lab_outcome(store, "roc-auc", 0, version).problem == "needs torch"
    claims = [{"statement": "s", "passed": True, "detail": "d"}]
    save_lab_outcome(store, "roc-auc", 0, version, claims, "", NOW)
    save_lab_outcome(store, "roc-auc", 0, version, None, "a crash", NOW)
    saved = saved_lab_outcome(store, "roc-auc", 0, version)
    assert saved.claims == claims and saved.problem == ""
    store.close()
