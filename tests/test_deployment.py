"""The hosted setup exactly as deploy/ describes it: the settings file, two app processes from
the web unit and a worker from the worker unit, on PostgreSQL, with transcription on the job
queue. A worker killed in the middle of a job loses nothing: the next one finishes it."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from razbor.speech.whisper import speech_installed
from razbor.storage import Store
from razbor.storage.tables import recordings

from .conftest import free_port
from .test_speech import ENGLISH, ENGLISH_VOICE, missing_tool, synthesise

pytestmark = pytest.mark.postgres
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PASSWORD = "deployment password"
# A worker is taken for dead after this many seconds without a heartbeat.
STALLED_AFTER = 10


def unit_command(unit: str) -> list[str]:
    """The ExecStart of a systemd unit, run with this test's Python instead of /opt/razbor."""
    text = (DEPLOY / "systemd" / unit).read_text()
    command = re.search(r"^ExecStart=(.+)$", text, flags=re.M).group(1).split()
    assert command[0] == "/opt/razbor/bin/razbor"
    return [sys.executable, "-m", "razbor.cli", *command[1:]]


def environment(database_url: str, audio: Path) -> dict[str, str]:
    """deploy/razbor.env, with this machine's database, folder and two app processes."""
    values = dict(line.split("=", 1) for line in (DEPLOY / "razbor.env").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert values["RAZBOR_JOBS"] == "queue" and values["RAZBOR_ACCOUNTS"] == "true"
    values.update(RAZBOR_DB=database_url, RAZBOR_AUDIO_DIR=str(audio), RAZBOR_WORKERS="2",
                  RAZBOR_ALLOWED_HOSTS="127.0.0.1")
    return {**os.environ, **values}


class Process:
    def __init__(self, command: list[str], env: dict[str, str]):
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(command, env=env, stdout=self.log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self.log.close()


def web_process(env: dict[str, str], port: int) -> Process:
    command = [part if part != "8000" else str(port) for part in unit_command("razbor-web.service")]
    web = Process(command, env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert web.popen.poll() is None, web.output()
        try:
            httpx.get(f"http://127.0.0.1:{port}/static/style.css", timeout=1)
            return web
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"the app processes did not start: {web.output()}")


def status_of(database_url: str, recording_id: int) -> str:
    store = Store.open(database_url)
    with store.engine.connect() as db:
        status = db.execute(sa.select(recordings.c.status)
                            .where(recordings.c.id == recording_id)).scalar_one()
    store.close()
    return status


def wait_for(database_url: str, recording_id: int, wanted: set[str], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while (status := status_of(database_url, recording_id)) not in wanted:
        assert time.monotonic() < deadline, f"recording {recording_id} still {status}"
        time.sleep(0.2)
    return status


@pytest.fixture
def clip(tmp_path) -> Path:
    if not speech_installed():
        missing_tool("needs razbor[speech]")
    # Long enough (about half a minute) that the worker is caught in the middle of it.
    return synthesise(" ".join([ENGLISH] * 4), tmp_path / "answer.wav", ENGLISH_VOICE)


def test_the_documented_setup_transcribes_on_a_worker_that_survives_being_killed(
        postgres_url, seed_deck_dir, tmp_path, clip):
    env = environment(postgres_url, tmp_path / "audio")
    env["RAZBOR_DECK"] = str(seed_deck_dir)
    added = subprocess.run([sys.executable, "-m", "razbor.cli", "user", "add", "teacher",
                            "--admin", "--password-stdin"], input=PASSWORD + "\n", text=True,
                           env=env, capture_output=True)
    assert added.returncode == 0, added.stderr
    port = free_port()
    web = web_process(env, port)
    worker = None
    try:
        assert "(2 app processes)" in web.output()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            signed = client.post("/login", data={"name": "teacher", "password": PASSWORD})
            assert signed.status_code == 303
            upload = client.post("/api/cards/batchnorm/recordings",
                                 files={"audio": ("a.wav", clip.read_bytes(), "audio/wav")})
            assert upload.status_code == 202, upload.text
            first = upload.json()["id"]
            time.sleep(2)
            assert status_of(postgres_url, first) == "queued", "no worker runs it yet"

            worker = Process([*unit_command("razbor-worker.service"), "--stalled-after", str(STALLED_AFTER)],
                             env)
            assert wait_for(postgres_url, first, {"running", "done"}, 120) == "running"
            worker.stop(signal.SIGKILL)
            assert status_of(postgres_url, first) == "running", "the killed job stays begun"
            # Once the dead worker's heartbeat is older than --stalled-after, a worker that
            # starts puts its job back in the queue at once, not at the next minute.
            time.sleep(STALLED_AFTER + 1)
            worker = Process([*unit_command("razbor-worker.service"), "--stalled-after", str(STALLED_AFTER)],
                             env)
            finished = wait_for(postgres_url, first, {"done", "failed"}, 120)
            assert finished == "done", worker.output()
            transcript = client.get(f"/api/recordings/{first}").json()["transcript"]
            assert "running statistics" in transcript.lower()
    finally:
        if worker:
            worker.stop()
        web.stop()
