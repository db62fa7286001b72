"""bench/load.py in small: three users practise on two app processes, one of which is killed.

The figures belong to the bench; this checks that its client and its audit work, that nothing
fails before the kill, and that nothing the server acknowledged is lost or stored twice.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres
BENCH = Path(__file__).resolve().parents[1] / "bench" / "load.py"


@pytest.fixture
def bench():
    """bench/load.py as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("razbor_bench_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_a_killed_app_process_loses_and_doubles_nothing_acknowledged(
        bench, postgres_url, seed_deck_dir):
    names = bench.add_accounts(postgres_url, 3)
    run = bench.run_practice(postgres_url, names, seconds=10, workers=2, kill=True, think=0.2,
                             deck=seed_deck_dir)

    killed_at = run.processes.killed_at
    assert killed_at is not None and run.processes.replaced_after is not None
    assert run.processes.unexpected_exits == []
    assert [failure for failure in run.recorder.failures if failure.at < killed_at] == []
    assert run.rounds > 3 and run.audit.acknowledged_reviews > 0
    assert run.audit.exactly_once, run.audit.problems
