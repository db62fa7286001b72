"""`razbor serve --workers N`: several app processes on one PostgreSQL database, as a team runs it."""

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from razbor.storage import Store
from razbor.storage.tables import attempts, reviews

from .conftest import LiveServer

pytestmark = pytest.mark.postgres


def app_processes(parent: int) -> list[int]:
    """The app processes `razbor serve` started (its children, less multiprocessing's tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def wait_for_processes(parent: int, count: int, other_than: set[int] = frozenset()) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [pid for pid in app_processes(parent) if pid not in other_than]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} app processes after 60 s")


def wait_until_gone(pid: int) -> None:
    """Until the killed process is dead and reaped by its parent. Each process accepts on a
    socket of its own: a connection the kernel queued on a dying one is reset with it, and so
    is one it still hands that socket in the milliseconds the socket takes to close (a user's
    request racing the kill, not one sent after the process is gone)."""
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"app process {pid} still there after 60 s"
        time.sleep(0.05)


def practise(client: httpx.Client, base: str, rounds: int) -> list[int]:
    """Attempt and rate the seed cards `rounds` times; returns the acknowledged attempt ids."""
    made = []
    for number in range(rounds):
        card = ("batchnorm", "roc-auc", "mixed-precision", "dental-lesions-3d")[number % 4]
        attempt = client.post(f"{base}/api/cards/{card}/attempts",
                              json={"text": f"round {number}", "answered_aloud": False,
                                    "seconds": 5})
        assert attempt.status_code == 201, attempt.text
        rating = client.post(f"{base}/api/attempts/{attempt.json()['id']}/rating",
                             json={"rating": "good"})
        assert rating.status_code in (200, 201), rating.text
        made.append(attempt.json()["id"])
    return made


def stored(url: str) -> tuple[list[int], int]:
    store = Store.open(url)
    with store.engine.connect() as db:
        attempt_ids = db.execute(sa.select(attempts.c.id).order_by(attempts.c.id)).scalars().all()
        review_count = db.execute(sa.select(sa.func.count()).select_from(reviews)).scalar_one()
    store.close()
    return attempt_ids, review_count


def test_two_app_processes_serve_one_database_and_a_killed_one_is_replaced(
        postgres_url, seed_deck_dir):
    server = LiveServer(postgres_url, "--workers", "2", "--no-speech", deck=seed_deck_dir).start()
    try:
        server.log.seek(0)
        assert "(2 app processes)" in server.log.read().decode()
        first = wait_for_processes(server.process.pid, 2)
        # No keep-alive: each request opens a connection that either process may accept.
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=30) as client:
            made = practise(client, server.url, 8)
            os.kill(first[0], signal.SIGKILL)
            wait_until_gone(first[0])
            made += practise(client, server.url, 8)
            replacement = wait_for_processes(server.process.pid, 2, other_than={first[0]})
            assert len(replacement) == 2
            made += practise(client, server.url, 4)
        attempt_ids, review_count = stored(postgres_url)
        assert attempt_ids == sorted(made) and review_count == len(made) == 20
    finally:
        server.stop()


def test_a_worker_count_out_of_range_is_refused_in_one_line():
    from click.testing import CliRunner

    from razbor.cli import main

    result = CliRunner().invoke(main, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: --workers: 0 is not between 1 and 64 (fix: pass a "
                                     "number of app processes in that range)")
