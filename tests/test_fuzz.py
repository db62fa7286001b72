"""A property-based fuzz of the whole JSON API, generated from its OpenAPI document.

Schemathesis makes requests for every operation: ones that fit the schema, ones that break it,
and ones aimed at rows that exist (a card, an attempt, a queued recording), so the fuzz gets past
the 404s into grading, rating and storage. Each runs through the ASGI app on an SQLite file and
on PostgreSQL. No request may get a 5xx, and every answer the schema documents must match it.
The examples are few and derandomized, so a run is quick and the same on every machine.

The generator seldom writes a NUL and never NaN or a lone surrogate (JSON as it serialises it
has neither), so those inputs have their own tests in test_hostile_input.py.
"""

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from razbor.practice import Trainer
from razbor.speech.whisper import WhisperTranscriber
from razbor.transcription import TranscriptionService
from razbor.web.app import create_app

from .test_hostile_input import encoded_audio

EXAMPLES_PER_OPERATION = 50
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def api(trainer: Trainer, tmp_path: Path):
    """The app's OpenAPI schema, bound to the app, with one attempt and one recording stored.

    The speech service is not started: uploads are checked and queued, never transcribed.
    """
    speech = TranscriptionService(trainer, WhisperTranscriber(), tmp_path / "audio")
    speech.audio_dir.mkdir()
    app = create_app(trainer, speech=speech)
    client = TestClient(app)
    assert client.post("/api/cards/batchnorm/attempts", json={"text": "mean and variance"}
                       ).json()["id"] == 1
    assert client.post("/api/cards/batchnorm/recordings", files={
        "audio": ("a.wav", encoded_audio("wav", "pcm_s16le"), "audio/wav")}).json()["id"] == 1
    return schemathesis.openapi.from_asgi("/openapi.json", app)


STORED = {"card_id": "batchnorm", "attempt_id": 1, "recording_id": 1}


def request_kinds(operation) -> list[st.SearchStrategy]:
    """Valid requests at the stored rows; then valid or invalid requests at anything.

    An operation whose only input is a free-form string has no invalid requests; Hypothesis
    then draws the valid ones.
    """
    names = {parameter.name for parameter in operation.path_parameters}
    stored = {name: value for name, value in STORED.items() if name in names}
    return [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=stored),
            st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))]


def test_no_request_to_the_api_gets_a_server_error(api):
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for requests in request_kinds(operation):

            @given(case=requests)
            @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                      deadline=None, suppress_health_check=list(HealthCheck))
            def answered_without_a_server_error(case):
                case.validate_response(case.call(), checks=CHECKS)

            answered_without_a_server_error()
