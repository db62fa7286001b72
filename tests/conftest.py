"""Real parts for tests: temp SQLite files, a throwaway PostgreSQL database, live servers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from razbor.cards import Deck
from razbor.decks import load_deck
from razbor.practice import Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage import Store

PG_ADMIN_URL = os.environ.get("RAZBOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHARED = Path(os.environ.get("RAZBOR_SHARED", Path(__file__).resolve().parents[2] / "shared"))
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SEED_IDS = ("batchnorm", "mixed-precision", "roc-auc", "dental-lesions-3d")


def pytest_configure(config) -> None:
    """Point every per-user directory at a temporary one, for this process and its children.

    Commands under test fall back to the user's data and cache folders (the default database,
    the joined Whisper model); a test run must not write there.
    """
    home = Path(tempfile.mkdtemp(prefix="razbor-test-home-"))
    config.razbor_home = home
    for variable in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[variable] = str(home / variable.lower())
    set_hypothesis_home_dir(str(home / "hypothesis"))
    settings.register_profile("razbor", database=None)
    settings.load_profile("razbor")


def pytest_unconfigure(config) -> None:
    shutil.rmtree(getattr(config, "razbor_home", ""), ignore_errors=True)


def seed_deck() -> Deck:
    """The four cards of the original page, from the built-in deck, in the page's order.

    Practice tests run on these so that the built-in deck can grow without changing them.
    """
    deck = load_deck()
    return Deck(tuple(deck.get(card_id) for card_id in SEED_IDS))


@pytest.fixture(scope="session")
def seed_deck_dir(tmp_path_factory) -> Path:
    """The seed cards as a deck folder, for servers and commands started as processes."""
    folder = tmp_path_factory.mktemp("seed-deck")
    for card in seed_deck():
        source = Path(card.source)
        target = folder / source.parent.name / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(source, target)
    return folder


class Clock:
    """A clock the test moves by hand, so schedules are exact."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: the folder named by RAZBOR_TEST_ARTIFACTS to keep them, else the
    test's own temporary folder."""
    kept = os.environ.get("RAZBOR_TEST_ARTIFACTS")
    folder = Path(kept) if kept else tmp_path / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'razbor.sqlite3'}"


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server; CI must have one, a laptop may not."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str):
    """A fresh, empty database on the server, dropped after the test."""
    name = f"razbor_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield str(sa.engine.make_url(postgres_server).set(database=name).render_as_string(
        hide_password=False))
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """Each storage test runs once on an SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url: str):
    opened = Store.open(database_url)
    yield opened
    opened.close()


@pytest.fixture
def trainer(store: Store, clock: Clock) -> Trainer:
    return Trainer(seed_deck(), store, Planner(SchedulerSettings(fuzz=False, new_per_day=20)),
                   clock=clock)


@pytest.fixture
def sqlite_trainer(sqlite_url: str, clock: Clock):
    opened = Store.open(sqlite_url)
    yield Trainer(seed_deck(), opened, Planner(SchedulerSettings(fuzz=False)), clock=clock)
    opened.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`razbor serve` in a child process, as a user starts it."""

    def __init__(self, database_url: str, *extra: str, deck: Path | None = None):
        self.deck = deck
        self.database_url = database_url
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.output = ""

    def start(self) -> LiveServer:
        env = {**os.environ, "RAZBOR_DB": self.database_url, "RAZBOR_FUZZ": "false",
               "RAZBOR_AUDIO_DIR": str(Path(tempfile.mkdtemp()) / "audio"),
               "RAZBOR_DECK": str(self.deck or "")}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "razbor.cli", "serve", "--port", str(self.port), *self.extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode()}")
            try:
                httpx.get(self.url + "/static/style.css", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start within 30 s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process and not self.log.closed:
            self.log.seek(0)
            self.output = self.log.read().decode(errors="replace")
            self.log.close()

    def errors_logged(self) -> str:
        """The tracebacks the stopped server printed: what a failed test needs to say why."""
        return self.output[self.output.find("Traceback"):] if "Traceback" in self.output else ""


@pytest.fixture
def live_server(sqlite_url: str, seed_deck_dir: Path):
    server = LiveServer(sqlite_url, deck=seed_deck_dir).start()
    yield server
    server.stop()


class JudgeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint on loopback, standing in for the remote LLM service: it
    answers `reply` once `gate` is open (the held judge keeps it shut, as a slow model would
    answer, later) and keeps what it was asked."""

    reply = ""
    gate: ClassVar[threading.Event] = threading.Event()
    seen: ClassVar[list] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        JudgeServer.seen.append((self.path, self.headers.get("Authorization"), body))
        JudgeServer.gate.wait(timeout=60)
        payload = json.dumps({"choices": [{"message": {"content": JudgeServer.reply}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


def _judge(reply: str, answers_at_once: bool):
    JudgeServer.reply = reply
    JudgeServer.seen.clear()
    if answers_at_once:
        JudgeServer.gate.set()
    else:
        JudgeServer.gate.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), JudgeServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    JudgeServer.gate.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def judge_url():
    """A judge that answers at once; the test sets JudgeServer.reply."""
    yield from _judge("", answers_at_once=True)


@pytest.fixture
def held_judge_url():
    """A judge that answers the roc-auc card's ranking point, quoted, once the test opens
    JudgeServer.gate."""
    yield from _judge(json.dumps({"covered": ["auc.ranking"], "mistakes": [],
                                  "evidence": {"auc.ranking": "random positive"}}),
                      answers_at_once=False)
