"""Mock interviews over HTTP through the ASGI app, with plain forms as a browser without
JavaScript sends them: the flow, nothing revealed before the end, refusals and isolation."""

import re
import time
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from razbor.accounts import hash_password
from razbor.grading.semantic import SemanticGrader
from razbor.practice import Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage import Store
from razbor.storage.accounts import Accounts
from razbor.web import interview
from razbor.web.app import create_app

from .conftest import seed_deck

ANALYSIS_ONLY = ("SyncBatchNorm gathers", "Подробный разбор", "Типичные ошибки", "/attempts/",
                 "Разбор вашей попытки")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def grader():
    """One grader for the module: its sentence encoder loads once, not once a test."""
    return SemanticGrader()


@pytest.fixture
def sqlite_trainer(sqlite_url, clock, grader):
    store = Store.open(sqlite_url)
    yield Trainer(seed_deck(), store, Planner(SchedulerSettings(fuzz=False)), clock=clock,
                  grader=grader)
    store.close()


@pytest.fixture
def client(sqlite_trainer):
    with TestClient(create_app(sqlite_trainer), follow_redirects=False) as http:
        yield http


def start(client, **form) -> str:
    """Start an interview from the setup form; the path of its page."""
    response = client.post("/interviews", data={"questions": "2", "minutes": "20",
                                                 "follow_ups": "on", **form})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def position_on(page) -> str:
    return re.search(r'name="position" value="(\d+)"', page.text).group(1)


def answer(client, path: str, text: str = "", **form):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(f"{path}/answers", data={"position": position_on(page), "text": text,
                                                 **form})


def test_a_whole_interview_with_plain_forms(client, sqlite_trainer):
    setup = client.get("/interviews")
    assert setup.status_code == 200 and 'name="topics" value="deep-learning"' in setup.text
    assert 'href="/interviews"' in setup.text and 'id="no-interviews"' in setup.text
    path = start(client, topics=["deep-learning"])
    asked = []
    while (page := client.get(path)).status_code == 200:
        assert not any(secret in page.text for secret in ANALYSIS_ONLY)
        assert 'id="countdown"' in page.text and "UTC" in page.text
        asked.append(re.search(r'<h1 class="question">([^<]+)', page.text).group(1))
        sent = client.post(f"{path}/answers", data={
            "position": position_on(page), "text": "Mean and variance per channel over the "
            "batch; running statistics at inference; gamma and beta."})
        assert sent.status_code == 303 and sent.headers["location"] == path
    assert page.status_code == 303 and page.headers["location"] == f"{path}/report"
    assert asked[0] == "BatchNorm при обучении, инференсе и multi-GPU" and len(asked) == 4
    assert asked[1] in sqlite_trainer.card("batchnorm").interview

    report = client.get(f"{path}/report")
    assert report.status_code == 200
    for shown in ('id="strengths"', 'id="weakest"', "/attempts/", 'class="checklist"',
                  "Оценить ответы"):
        assert shown in report.text
    chosen = dict(re.findall(r'name="(rating-\d+)" value="(\d)" checked', report.text))
    assert len(chosen) == 2
    saved = client.post(f"{path}/ratings", data=chosen)
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}/report#ratings"
    rated = client.get(f"{path}/report").text
    assert rated.count("Оценка:") == 2 and 'id="save-ratings"' not in rated
    for card_id in ("batchnorm", "mixed-precision"):
        (_attempt, review), = sqlite_trainer.history(1, card_id)
        assert review is not None
    listed = client.get("/interviews").text
    assert f'href="{path}/report"' in listed and 'data-interview-id="1"' in listed


def test_the_report_and_the_ratings_are_locked_until_the_end(client, sqlite_trainer):
    path = start(client)
    answer(client, path, "running statistics at inference")
    attempt_id = sqlite_trainer.history(1, "batchnorm")[0][0].id
    locked = client.get(f"{path}/report")
    assert locked.status_code == 403 and "Отчёт откроется, когда собеседование" in locked.text
    refused = client.post(f"{path}/ratings", data={f"rating-{attempt_id}": "4"})
    assert refused.status_code == 403 and sqlite_trainer.store.review_of(attempt_id) is None
    ended = client.post(f"{path}/end")
    assert ended.status_code == 303 and ended.headers["location"] == f"{path}/report"
    assert client.get(path).headers["location"] == f"{path}/report"
    assert "Без ответа" in client.get(f"{path}/report").text


def test_an_answer_sent_twice_is_stored_once(client, sqlite_trainer):
    path = start(client)
    page = client.get(path)
    form = {"position": position_on(page), "text": "gamma and beta"}
    first, second = client.post(f"{path}/answers", data=form), client.post(f"{path}/answers",
                                                                           data=form)
    assert first.status_code == second.status_code == 303
    assert len(sqlite_trainer.history(1, "batchnorm")) == 1
    assert position_on(client.get(path)) == "1"


def test_an_empty_answer_is_refused_with_the_question_shown_again(client, sqlite_trainer):
    path = start(client)
    refused = answer(client, path, "   ")
    assert refused.status_code == 400 and "Напишите попытку" in refused.text
    assert 'name="position" value="0"' in refused.text
    assert sqlite_trainer.history(1, "batchnorm") == []
    aloud = answer(client, path, aloud="1")
    assert aloud.status_code == 303 and sqlite_trainer.history(1, "batchnorm")[0][0].answered_aloud


@pytest.mark.parametrize(("form", "message"), [
    ({"questions": "many"}, "Вопросов может быть от 1 до 20."),
    ({"questions": "0"}, "Вопросов может быть от 1 до 20."),
    ({"minutes": "999"}, "Собеседование может длиться от 1 до 240 минут."),
    ({"topics": ["astrology"]}, "Темы &#39;astrology&#39; в колоде нет."),
    ({"preset": "marathon"}, "no preset named"),
])
def test_a_bad_setup_is_refused_with_the_form_shown_again(client, form, message):
    response = client.post("/interviews", data={"questions": "5", "minutes": "30", **form})
    assert response.status_code == 400 and message in response.text
    assert 'id="interview-setup"' in response.text and 'id="no-interviews"' in response.text


def test_the_system_design_case_is_one_question_for_45_minutes(client):
    path = client.post("/interviews", data={"preset": "system-design"}).headers["location"]
    page = client.get(path).text
    assert "Вопрос 1 из 1" in page and "30:00" in page and "dental" in page


def test_the_pages_speak_english_on_request(client):
    assert "Start the interview" in client.get("/interviews?lang=en").text
    path = start(client)
    page = client.get(path).text
    assert "Question 1 of 2" in page and "Send the answer" in page
    answer(client, path, "gamma and beta")
    assert "Follow-up to question 1" in client.get(path).text


def test_unknown_and_malformed_interviews_are_4xx(client):
    assert client.get("/interviews/999").status_code == 404
    assert "Собеседования с id 999 нет" in client.get("/interviews/999").text
    assert client.get("/interviews/0").status_code == 422
    assert client.get("/interviews/abc").status_code == 422
    path = start(client)
    assert client.post(f"{path}/ratings", data={"rating-x": "3"}).status_code in (403, 404)
    for not_an_id in ("zz", "²", "9" * 5_000):
        assert client.post(f"{path}/ratings", data={f"rating-{not_an_id}": "3"}
                           ).status_code == 404
        assert client.post(f"{path}/answers", data={"position": "0", "text": "x",
                                                    "recording_id": not_an_id}).status_code == 404


def test_hostile_input_gets_a_short_4xx_and_stores_nothing(client, sqlite_trainer):
    refused = client.post("/interviews", data={"topics": ["x" * 100_000]})
    assert refused.status_code == 400 and len(refused.text) < 20_000
    path = start(client)
    nul = answer(client, path, "gamma\x00beta")
    assert nul.status_code == 400 and "NUL" in nul.text and 'name="position" value="0"' in nul.text
    assert sqlite_trainer.history(1, "batchnorm") == []
    assert client.get(f"/interviews/{2**63}").status_code == 422
    assert client.get(f"{path}?recording={2**63}").status_code == 200
    beyond = client.post(f"{path}/answers", data={"position": "0", "text": "gamma",
                                                  "recording_id": str(2**63)})
    assert beyond.status_code == 404 and sqlite_trainer.history(1, "batchnorm") == []


def test_past_interviews_are_listed_with_their_trend(client):
    for text in ("gamma and beta", "mean and variance per channel over the batch, learnable "
                 "gamma and beta, running statistics at inference"):
        path = start(client, questions="1", follow_ups="", topics=["deep-learning"])
        answer(client, path, text)
    listed = client.get("/interviews").text
    shares = re.findall(r"(\d+)%", re.search(r'id="interview-trend">([^<]+)', listed).group(1))
    first, second = map(int, shares)
    assert second > first and '<td class="number change">+' in listed


# Another account

@pytest.fixture
def two_accounts(sqlite_trainer):
    accounts = Accounts(sqlite_trainer.store)
    now = datetime.now(UTC)
    for name in ("anna", "boris"):
        accounts.add_user(name, hash_password(PASSWORD), "member", now)
    app = create_app(sqlite_trainer, accounts=accounts)
    return app, sqlite_trainer


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", data={"name": name, "password": PASSWORD}).status_code == 303
    return client


def test_another_account_gets_404_on_every_route_of_your_interview(two_accounts):
    app, trainer = two_accounts
    anna, boris = signed_in(app, "anna"), signed_in(app, "boris")
    path = start(anna)
    answer(anna, path, "anna-private-answer gamma and beta")
    anna_id = trainer.user("anna")
    before = [attempt.text for attempt, _ in trainer.history(anna_id, "batchnorm")]
    interview_id = path.rsplit("/", 1)[1]
    walked = 0
    for route in interview.router.routes:
        if not isinstance(route, APIRoute) or "{interview_id}" not in route.path:
            continue
        target = route.path.replace("{interview_id}", interview_id)
        for method in route.methods:
            response = boris.request(method, target, data={"position": "1", "text": "boris"},
                                     files={"audio": ("a.wav", b"RIFF")}
                                     if target.endswith("/recordings") else None)
            assert response.status_code == 404, (method, target, response.status_code)
            assert "anna-private-answer" not in response.text
            walked += 1
    assert walked == 6
    assert [attempt.text for attempt, _ in trainer.history(anna_id, "batchnorm")] == before
    assert position_on(anna.get(path)) == "1"
    assert 'id="no-interviews"' in boris.get("/interviews").text
    assert signed_in(app, "anna").get("/interviews").status_code == 200


def test_the_interview_pages_need_a_sign_in(two_accounts):
    app, _trainer = two_accounts
    anonymous = TestClient(app, follow_redirects=False)
    for method, path in (("get", "/interviews"), ("post", "/interviews"),
                         ("get", "/interviews/1"), ("post", "/interviews/1/end")):
        response = anonymous.request(method, path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


# A spoken answer, without JavaScript

def test_a_spoken_answer_uploaded_without_javascript(sqlite_trainer, tmp_path):
    from razbor.speech.whisper import WhisperTranscriber, speech_installed
    from razbor.transcription import TranscriptionService

    from .test_speech import ENGLISH, ENGLISH_VOICE, missing_tool, synthesise

    if not speech_installed():
        missing_tool("needs razbor[speech]")
    clip = synthesise(ENGLISH, tmp_path / "answer.wav", ENGLISH_VOICE)
    speech = TranscriptionService(sqlite_trainer, WhisperTranscriber(), tmp_path / "audio",
                                  max_seconds=30, max_bytes=2_000_000)
    with TestClient(create_app(sqlite_trainer, speech=speech), follow_redirects=False) as client:
        path = start(client, follow_ups="")
        with clip.open("rb") as audio:
            uploaded = client.post(f"{path}/recordings",
                                   files={"audio": ("answer.wav", audio, "audio/wav")})
        assert uploaded.status_code == 303
        following = uploaded.headers["location"]
        recording_id = following.rsplit("=", 1)[1]
        deadline = time.monotonic() + 90
        while 'http-equiv="refresh"' in (page := client.get(following)).text:
            assert time.monotonic() < deadline, "transcription did not finish"
            time.sleep(0.3)
        assert f'id="recording-id" value="{recording_id}"' in page.text
        transcript = re.search(r'<textarea[^>]*>([^<]+)</textarea>', page.text).group(1)
        assert "variance" in transcript.lower()
        sent = client.post(f"{path}/answers", data={"position": "0", "text": transcript,
                                                    "recording_id": recording_id})
        assert sent.status_code == 303
        client.post(f"{path}/end")
        report = client.get(f"{path}/report").text
    assert 'id="delivery"' in report and f"/recordings/{recording_id}/audio" in report
    attempt, _ = sqlite_trainer.history(1, "batchnorm")[0]
    assert attempt.answered_aloud and attempt.recording_id == int(recording_id)
