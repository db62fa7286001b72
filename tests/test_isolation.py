"""Isolation between accounts: every route, walked as user B with user A's ids, shows B nothing
of A's and changes nothing of A's."""

import importlib
import pkgutil
import re
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from razbor import web
from razbor.accounts import hash_password
from razbor.speech.whisper import WhisperTranscriber
from razbor.storage.accounts import Accounts
from razbor.transcription import TranscriptionService
from razbor.web.app import create_app

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
SECRET = "anna-private-marker-7f3c"


@pytest.fixture
def two_users(sqlite_trainer, tmp_path):
    """Anna has an attempt, a rating and a recording; Boris has nothing."""
    accounts = Accounts(sqlite_trainer.store)
    anna = accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    accounts.add_user("boris", hash_password(PASSWORD), "member", NOW)
    attempt = sqlite_trainer.submit_attempt(anna.id, "batchnorm", f"{SECRET} running mean",
                                            False, 30)
    sqlite_trainer.rate(anna.id, attempt.id, 3)
    (tmp_path / "audio").mkdir()
    recording = sqlite_trainer.store.add_recording(anna.id, "batchnorm", "anna.wav",
                                                   "audio/wav", 44, 1.0, NOW)
    (tmp_path / "audio" / "anna.wav").write_bytes(b"RIFF" + SECRET.encode())
    speech = TranscriptionService(sqlite_trainer, WhisperTranscriber(), tmp_path / "audio")
    app = create_app(sqlite_trainer, accounts=accounts, speech=speech)
    ids = {"card_id": "batchnorm", "attempt_id": str(attempt.id),
           "recording_id": str(recording.id), "name": "anna", "token": "not-a-token",
           "interview_id": "1"}
    return app, sqlite_trainer, anna, ids


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", data={"name": name, "password": PASSWORD}).status_code == 303
    return client


def anna_state(trainer, anna) -> tuple:
    history = trainer.history(anna.id, "batchnorm")
    return ([(attempt.text, review.rating if review else None) for attempt, review in history],
            trainer.store.schedule(anna.id, "batchnorm"))


def every_route() -> list[APIRoute]:
    """The routes of every router in razbor.web, those left out of the OpenAPI schema included
    (pages, media, interviews; tests/test_interview_web.py walks an interview's routes with a
    real one)."""
    modules = (importlib.import_module(f"razbor.web.{info.name}")
               for info in pkgutil.iter_modules(web.__path__))
    return [route for module in modules if hasattr(module, "router")
            for route in module.router.routes if isinstance(route, APIRoute)]


FORMS = {
    "/cards/{card_id}/attempts": {"text": "boris's attempt", "started_at": NOW.isoformat()},
    "/attempts/{attempt_id}/rating": {"rating": "1"},
    "/api/attempts/{attempt_id}/review": {"rating": 1},
    "/api/cards/{card_id}/attempts": {"text": "boris via api", "answered_aloud": False,
                                      "seconds": 3},
}


def test_boris_walking_every_route_with_annas_ids_sees_and_changes_nothing_of_hers(two_users):
    app, trainer, anna, ids = two_users
    before = anna_state(trainer, anna)
    boris = signed_in(app, "boris")
    walked = set()
    for route in every_route():
        if route.path in ("/login", "/logout"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], route.path)
        for method in route.methods - {"HEAD"}:
            body = FORMS.get(route.path, {})
            if route.path.startswith("/api/"):
                response = boris.request(method, path, json=body or None)
            else:
                response = boris.request(method, path, data=body or None)
            walked.add(route.path)
            assert SECRET not in response.text, (method, route.path)
            assert response.status_code < 500, (method, route.path, response.text[:200])
    assert set(app.openapi()["paths"]) <= walked and {"/media/{name}", "/admin"} <= walked
    assert anna_state(trainer, anna) == before


def test_boris_cannot_open_annas_attempt_analysis_recording_or_audio(two_users):
    app, _trainer, _anna, ids = two_users
    boris = signed_in(app, "boris")
    for path in (f"/attempts/{ids['attempt_id']}", f"/api/attempts/{ids['attempt_id']}",
                 f"/api/attempts/{ids['attempt_id']}/analysis",
                 f"/recordings/{ids['recording_id']}", f"/recordings/{ids['recording_id']}/audio",
                 f"/api/recordings/{ids['recording_id']}"):
        assert boris.get(path).status_code == 404, path
    assert boris.get("/api/cards/batchnorm/analysis").status_code == 403
    assert boris.get("/api/cards/batchnorm/attempts").json() == []
    assert boris.get("/cards/batchnorm/lab").status_code == 403


def test_anna_still_sees_her_own(two_users):
    app, _trainer, _anna, ids = two_users
    anna = signed_in(app, "anna")
    assert SECRET in anna.get(f"/attempts/{ids['attempt_id']}").text
    assert SECRET in anna.get("/cards/batchnorm/history").text
    assert anna.get(f"/recordings/{ids['recording_id']}/audio").status_code == 200
