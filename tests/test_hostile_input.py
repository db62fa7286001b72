"""Hostile input over HTTP: each finding of the security review, reproduced and refused.

A recording that was HTML served back as a page of the app; NaN, infinity, a lone surrogate,
a NUL or a 64-bit-overflowing id that got a 500 (which also dropped the keep-alive connection);
a chunked body read whole past the size limit, and a 422 that echoed it back. Each now gets a
short 4xx, on SQLite and on PostgreSQL, through the ASGI app and through `razbor serve`.
"""

import asyncio
import contextlib
import io
import json
import re
import select
import socket
from datetime import UTC, datetime
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from razbor.speech.whisper import WhisperTranscriber
from razbor.storage import MAX_ID, Store
from razbor.transcription import TranscriptionService
from razbor.web.app import MAX_BODY_BYTES, create_app

from .conftest import LiveServer
from .test_browser import CHROMIUM, LAUNCH_ARGS

BEYOND_64_BITS = 2**63
BEYOND_POSTGRES_INTEGER = 2**31
SCRIPT = (b"<script>console.log('razbor-xss-ran');fetch('/api/cards/batchnorm/attempts',"
          b"{method:'POST',headers:{'content-type':'application/json'},"
          b"body:JSON.stringify({text:'written by the uploaded script'})})</script>")


def encoded_audio(container: str, codec: str, seconds: float = 0.5) -> bytes:
    """A short 440 Hz tone encoded with PyAV, as a browser or recorder would send it."""
    rate = 48_000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)
    planar_float = codec in ("aac", "libmp3lame", "libvorbis")
    sample_format = "fltp" if planar_float else "flt" if codec == "libopus" else "s16"
    samples = tone.astype(np.float32) if "fl" in sample_format else (tone * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format=sample_format,
                                           layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            output.mux(packet)
    return buffer.getvalue()


def polyglot() -> bytes:
    """A real WAV file with a script after its audio: FFmpeg plays it, a browser would run it."""
    return encoded_audio("wav", "pcm_s16le") + b"<!doctype html><title>x</title>" + SCRIPT


@pytest.fixture
def client(trainer):
    with TestClient(create_app(trainer), follow_redirects=False) as http:
        yield http


@pytest.fixture
def speech(trainer, tmp_path: Path) -> TranscriptionService:
    """The speech service as `serve` builds it, not started: uploads are checked, stored and
    queued, which is all these tests look at; nothing is transcribed."""
    service = TranscriptionService(trainer, WhisperTranscriber(), tmp_path / "audio")
    service.audio_dir.mkdir()
    return service


@pytest.fixture
def speech_client(speech):
    return TestClient(create_app(speech.trainer, speech=speech), follow_redirects=False)


def upload(http, content: bytes, name: str = "answer.html", declared: str = "text/html"):
    return http.post("/api/cards/batchnorm/recordings", files={"audio": (name, content, declared)})


# --- stored XSS through a recording -------------------------------------------------------


def test_a_wav_with_a_script_declared_as_html_is_kept_and_served_only_as_audio(speech_client,
                                                                               speech):
    uploaded = upload(speech_client, polyglot())
    assert uploaded.status_code == 202
    recording = speech.store.recording(uploaded.json()["id"])
    assert recording.mime == "audio/wav" and recording.filename.endswith(".wav")

    served = speech_client.get(uploaded.json()["audio_url"])
    assert served.status_code == 200 and served.content == polyglot()
    assert served.headers["content-type"] == "audio/wav"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"] == (
        f'attachment; filename="recording-{recording.id}.wav"')
    assert "sandbox" in served.headers["content-security-policy"]


@pytest.mark.parametrize(("container", "codec", "mime"), [
    ("wav", "pcm_s16le", "audio/wav"),
    ("webm", "libopus", "audio/webm"),
    ("ogg", "libopus", "audio/ogg"),
    ("mp4", "aac", "audio/mp4"),
    ("mp3", "libmp3lame", "audio/mpeg"),
    ("flac", "flac", "audio/flac"),
])
def test_the_served_type_is_decided_from_the_content(speech_client, container, codec, mime):
    uploaded = upload(speech_client, encoded_audio(container, codec), "clip.bin",
                      "application/octet-stream")
    assert uploaded.status_code == 202, uploaded.text
    served = speech_client.get(uploaded.json()["audio_url"])
    assert served.headers["content-type"] == mime


def test_audio_in_a_container_outside_the_list_is_refused(speech_client, speech):
    refused = upload(speech_client, encoded_audio("aiff", "pcm_s16be"), "clip.aiff", "audio/aiff")
    assert refused.status_code == 415 and "send WAV, WebM" in refused.json()["detail"]
    assert list(speech.audio_dir.iterdir()) == []


@pytest.mark.parametrize(("stored", "served"), [
    ("text/html", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("audio/webm;codecs=opus", "audio/webm"),
    ("AUDIO/OGG", "audio/ogg"),
])
def test_recordings_stored_with_the_clients_type_are_served_safely(speech_client, speech,
                                                                   stored, served):
    """Rows from before the server decided the type keep whatever the client declared."""
    (speech.audio_dir / "old.upload").write_bytes(polyglot())
    old = speech.store.add_recording(1, "batchnorm", "old.upload", stored, len(polyglot()), 0.5,
                                     speech.trainer.clock())
    response = speech_client.get(f"/recordings/{old.id}/audio")
    assert response.status_code == 200 and response.headers["content-type"] == served
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]


# --- inputs that reached a 500 ------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), [
    ("/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": NaN}'),
    ("/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": Infinity}'),
    ("/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": -Infinity}'),
    ("/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": 1e999}'),
    ("/api/attempts/1/rating", b'{"rating": NaN}'),
    ("/api/attempts/1/rating", b'{"rating": 1e999}'),
])
def test_nan_and_infinity_are_refused_with_a_clear_message(client, path, body):
    assert client.post("/api/cards/batchnorm/attempts", json={"text": "x"}).json()["id"] == 1
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "finite number" in response.json()["detail"][0]["msg"]
    assert client.get("/api/attempts/1").json()["review"] is None


@pytest.mark.parametrize(("body", "message"), [
    (b'{"text": "mean \\u0000 and variance"}', "NUL character"),
    (b'{"text": "mean \\ud800 and variance"}', "unpaired surrogate"),
])
def test_text_that_cannot_be_stored_is_refused_and_nothing_is_kept(client, body, message):
    response = client.post("/api/cards/batchnorm/attempts", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and message in response.json()["detail"]
    assert client.get("/api/cards/batchnorm/attempts").json() == []


def test_a_nul_in_the_plain_form_is_refused_with_the_form_shown_again(client):
    page = client.get("/cards/batchnorm").text
    started = re.search(r'name="started_at" value="([^"]+)"', page).group(1)
    response = client.post("/cards/batchnorm/attempts",
                           data={"started_at": started, "text": "mean\x00variance"})
    assert response.status_code == 400 and "символ NUL" in response.text
    assert client.get("/api/cards/batchnorm/attempts").json() == []


def test_a_topic_with_a_nul_has_no_cards(client):
    assert client.get("/api/next", params={"topic": "metrics\x00"}).json() == {"card": None}
    assert client.get("/practice", params={"topic": "\x00"}).status_code == 200
    assert client.get("/api/next", params={"topic": "metrics"}).json()["card"]["id"] == "roc-auc"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", f"/api/attempts/{BEYOND_64_BITS}", None),
    ("get", f"/api/attempts/{BEYOND_POSTGRES_INTEGER}", None),
    ("get", f"/api/attempts/{BEYOND_64_BITS}/analysis", None),
    ("post", f"/api/attempts/{BEYOND_64_BITS}/rating", {"rating": 3}),
    ("get", f"/api/recordings/{BEYOND_64_BITS}", None),
    ("get", f"/recordings/{BEYOND_64_BITS}/audio", None),
    ("post", "/api/cards/batchnorm/attempts", {"text": "x", "recording_id": BEYOND_64_BITS}),
    ("post", "/api/cards/batchnorm/attempts", {"text": "x", "recording_id": 10**40}),
])
def test_ids_no_row_can_have_are_refused(client, method, path, body):
    response = client.request(method, path, json=body)
    assert response.status_code == 422 and "less than or equal" in response.text


@pytest.mark.parametrize("path", [f"/api/attempts/{MAX_ID}", f"/api/attempts/{MAX_ID}/analysis",
                                  f"/attempts/{MAX_ID}", f"/attempts/{BEYOND_POSTGRES_INTEGER}",
                                  f"/attempts/{BEYOND_64_BITS}"])
def test_ids_no_row_has_are_not_found(client, path):
    """The HTML pages take any integer; those beyond the columns' range are simply not there."""
    response = client.get(path)
    message = "no attempt with id" if path.startswith("/api/") else "Попытки с id"
    assert response.status_code == 404 and message in response.text


def test_a_form_naming_a_recording_beyond_64_bits_is_not_found(client):
    page = client.get("/cards/batchnorm").text
    started = re.search(r'name="started_at" value="([^"]+)"', page).group(1)
    response = client.post("/cards/batchnorm/attempts", data={
        "started_at": started, "text": "x", "recording_id": str(BEYOND_64_BITS)})
    assert response.status_code == 404 and "Записи с id" in response.text


# --- error replies and body sizes ---------------------------------------------------------


@pytest.mark.parametrize("body", [
    json.dumps({"text": "x", "seconds": "9" * 500_000}),
    json.dumps({"text": "x", "k" * 500_000: 1}),
    '{"text": "x", "\\ud800": 1}',
])
def test_validation_errors_say_what_and_where_without_echoing_the_input(client, body):
    response = client.post("/api/cards/batchnorm/attempts", content=body.encode(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and len(response.content) < 1000
    problem = response.json()["detail"][0]
    assert problem.keys() == {"type", "loc", "msg"} and problem["loc"][0] == "body"


def test_a_refusal_quotes_at_most_a_short_part_of_the_input(client):
    attempt = client.post("/api/cards/batchnorm/attempts", json={"text": "x"}).json()
    response = client.post(f"/api/attempts/{attempt['id']}/rating", json={"rating": "z" * 500_000})
    assert response.status_code == 400 and len(response.content) < 1000
    assert response.json()["detail"].startswith("rating must be")


def test_a_chunked_body_over_the_limit_is_refused_with_413(client):
    chunks = (b"x" * 65_536 for _ in range(40))
    response = client.post("/api/cards/batchnorm/attempts", content=chunks,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over 1000000 bytes" in response.json()["detail"]
    assert client.get("/api/cards/batchnorm/attempts").json() == []


def test_reading_an_endless_body_stops_at_the_limit(sqlite_trainer):
    """The app is called as a server calls it, with a body that never ends."""
    app = create_app(sqlite_trainer)
    pulled, sent = [], []

    async def endless_body():
        pulled.append(65_536)
        return {"type": "http.request", "body": b" " * 65_536, "more_body": True}

    async def keep(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/cards/batchnorm/attempts",
             "raw_path": b"/api/cards/batchnorm/attempts", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
             "http_version": "1.1", "scheme": "http", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1234), "root_path": ""}
    asyncio.run(app(scope, endless_body, keep))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert sum(pulled) <= MAX_BODY_BYTES + 65_536


def send_chunked_until_answered(url: str, path: str, megabytes: int) -> tuple[bytes, int]:
    """POST a chunked JSON body of up to `megabytes`, stopping as soon as the server answers.

    Returns the reply and how many megabytes were sent by then.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                           "application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        megabyte = b"x" * 1_000_000
        sent = 0
        while sent < megabytes and not select.select([connection], [], [], 0)[0]:
            connection.sendall(b"%x\r\n%s\r\n" % (len(megabyte), megabyte))
            sent += 1
        connection.settimeout(30)
        reply = connection.recv(65_536)
    return reply, sent


def peak_memory_kb(pid: int) -> int | None:
    """The process's peak resident memory, where /proc tells it (Linux)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    return int(re.search(r"VmHWM:\s+(\d+) kB", status.read_text()).group(1))


def test_a_200_mb_chunked_body_to_a_live_server_gets_413_and_memory_stays_bounded(live_server):
    before = peak_memory_kb(live_server.process.pid)
    reply, sent = send_chunked_until_answered(live_server.url, "/api/cards/batchnorm/attempts",
                                              megabytes=200)
    assert reply.startswith(b"HTTP/1.1 413 ") and sent < 200
    after = peak_memory_kb(live_server.process.pid)
    if before is not None:
        assert after - before < 50_000
    assert httpx.get(live_server.url + "/api/cards/batchnorm/attempts").json() == []


HOSTILE_REQUESTS = [
    ("post", "/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": NaN}', 422),
    ("post", "/api/cards/batchnorm/attempts", b'{"text": "x", "seconds": 1e999}', 422),
    ("post", "/api/cards/batchnorm/attempts", b'{"text": "\\ud800"}', 400),
    ("post", "/api/cards/batchnorm/attempts", b'{"text": "a\\u0000b"}', 400),
    ("get", f"/api/attempts/{BEYOND_64_BITS}", None, 422),
    ("get", f"/attempts/{BEYOND_64_BITS}", None, 404),
    ("get", f"/api/recordings/{BEYOND_64_BITS}", None, 422),
    ("get", "/api/next?topic=metrics%00", None, 200),
]


def test_hostile_requests_to_a_live_server_keep_one_connection_alive(database_url,
                                                                     seed_deck_dir):
    """Over one keep-alive connection, as a browser sends them; a 500 would have closed it."""
    server = LiveServer(database_url, deck=seed_deck_dir).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            local_ports = set()
            for method, path, body, status in HOSTILE_REQUESTS:
                response = http.request(method, path, content=body,
                                        headers={"content-type": "application/json"})
                assert response.status_code == status, (path, response.text)
                stream = response.extensions["network_stream"]
                local_ports.add(stream.get_extra_info("client_addr")[1])
            assert len(local_ports) == 1
    finally:
        server.stop()


# --- in a real browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as running:
        launched = running.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.mark.browser
def test_opening_an_uploaded_polyglot_in_chromium_runs_nothing_and_it_still_plays(
        chromium, sqlite_url, seed_deck_dir, tmp_path):
    from playwright.sync_api import Error as PlaywrightError

    audio_dir = tmp_path / "audio"
    server = LiveServer(sqlite_url, "--audio-dir", str(audio_dir), deck=seed_deck_dir).start()
    try:
        fresh = httpx.post(server.url + "/api/cards/batchnorm/recordings",
                           files={"audio": ("a.html", polyglot(), "text/html")}).json()
        (audio_dir / "old.html").write_bytes(polyglot())
        store = Store.open(sqlite_url)
        old = store.add_recording(1, "batchnorm", "old.html", "text/html", 1, 0.5,
                                  datetime.now(UTC))
        store.close()

        page = chromium.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        page.set_content(polyglot().decode("latin-1"))
        assert "razbor-xss-ran" in console, "the payload runs when a browser renders it as a page"
        console.clear()

        for recording_id in (fresh["id"], old.id):
            # The navigation ends where the download starts: Playwright calls that an error.
            with page.expect_download() as download, contextlib.suppress(PlaywrightError):
                page.goto(f"{server.url}/recordings/{recording_id}/audio")
            assert download.value.suggested_filename.startswith(f"recording-{recording_id}.")
        assert "razbor-xss-ran" not in console
        assert httpx.get(server.url + "/api/cards/batchnorm/attempts").json() == []

        page.goto(server.url + "/")
        duration = page.evaluate("""src => new Promise((played, failed) => {
            const audio = new Audio(src);
            audio.onloadedmetadata = () => played(audio.duration);
            audio.onerror = () => failed(new Error(audio.error.message)); })""",
                                 fresh["audio_url"])
        assert duration == pytest.approx(0.5, abs=0.05)
        page.close()
    finally:
        server.stop()
