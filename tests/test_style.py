"""The code stays ruff clean; a lint failure fails the suite like any other test."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    result = subprocess.run([ruff, "check", "--no-cache", "razbor", "tests", "bench"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_razbor_help_runs_in_a_fresh_process():
    result = subprocess.run([sys.executable, "-m", "razbor.cli", "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0 and "serve" in result.stdout
