"""The package as a user gets it: a wheel installed into a fresh virtualenv, run from elsewhere.

Every other test imports the source tree; this one would catch a data file the wheel leaves out
or a command that only works beside the sources.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
import venv
import wave
import zipfile
from pathlib import Path

import httpx
import pytest

from razbor.speech.whisper import speech_installed

from .conftest import free_port
from .test_readme import assert_shows, console_samples

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION_FILES = ("pyproject.toml", "README.md", "LICENSE")


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False, **options)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources, so the build leaves nothing in the checkout."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "razbor", source / "razbor",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in DISTRIBUTION_FILES:
        shutil.copy(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work),
                  str(source)])
    assert built.returncode == 0, built.stderr
    return next(work.glob("razbor-*.whl"))


def _new_virtualenv(folder: Path, requirement: str) -> Path:
    """The bin folder of a new virtualenv holding `requirement`, installed as the README says."""
    venv.create(folder, with_pip=True)
    pip = _run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
               env=_clean_environment())
    if pip.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip could not install the wheel: {pip.stderr[-2000:]}")
        pytest.skip(f"pip could not install the wheel here (no package index?): {pip.stderr[-300:]}")
    return folder / "bin"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """`pip install .` on a fresh machine: the wheel and its dependencies, no extras."""
    return _new_virtualenv(tmp_path_factory.mktemp("venv"), str(wheel))


@pytest.fixture(scope="module")
def installed_with_speech(wheel: Path, tmp_path_factory) -> Path:
    """The same with `razbor[speech,speech-base]`, where this test environment has speech."""
    if not speech_installed():
        pytest.skip("razbor[speech] is not installed in this test environment")
    return _new_virtualenv(tmp_path_factory.mktemp("venv-speech"), f"{wheel}[speech,speech-base]")


def _clean_environment() -> dict[str, str]:
    """The caller's environment without this interpreter's virtualenv or razbor's settings."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("RAZBOR_", "PYTHON", "VIRTUAL_ENV"))}


def _razbor(bin_folder: Path, folder: Path):
    """Runs an installed `razbor` from an empty folder outside the source tree."""
    database = f"sqlite:///{folder / 'razbor.sqlite3'}"

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return _run([str(bin_folder / "razbor"), *arguments], cwd=folder,
                    env={**_clean_environment(), "RAZBOR_DB": database})

    return run


@pytest.fixture
def razbor(installed: Path, tmp_path: Path):
    return _razbor(installed, tmp_path)


def test_the_wheel_holds_every_file_of_the_package(wheel: Path):
    inside = set(zipfile.ZipFile(wheel).namelist())
    sources = {path.relative_to(ROOT).as_posix() for path in (ROOT / "razbor").rglob("*")
               if path.is_file() and "__pycache__" not in path.parts}
    assert sources - inside == set()
    assert not [name for name in inside if name.startswith(("tests/", "bench/"))]


def test_the_installed_package_checks_its_built_in_deck(razbor, installed: Path, tmp_path: Path):
    deck = _run([str(installed / "python"), "-c",
                 "from razbor.decks import builtin_deck_path; print(builtin_deck_path())"],
                cwd=tmp_path, env=_clean_environment())
    assert str(ROOT) not in deck.stdout
    checked = razbor("check", deck.stdout.strip())
    assert checked.returncode == 0 and "cards OK" in checked.stdout, checked.stderr


def test_the_installed_package_runs_a_lab(razbor):
    lab = razbor("lab", "roc-auc")
    assert lab.returncode == 0, lab.stdout + lab.stderr
    assert "PASS" in lab.stdout and "FAIL" not in lab.stdout


def test_the_installed_package_scores_the_grader(razbor, tmp_path: Path):
    attempts = tmp_path / "attempts.jsonl"
    attempts.write_text(json.dumps({
        "id": "smoke-1", "card": "batchnorm", "lang": "en", "covered": ["bn.inference"],
        "mistakes": [], "text": "At inference BatchNorm uses the running mean and variance "
                                "collected during training, not the statistics of the batch."}) + "\n",
        encoding="utf-8")
    scored = razbor("grader", "eval", str(attempts), "--json")
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)
    assert report["attempts"] == 1 and report["keypoint_micro_f1"] == 1.0, report["errors"]


def test_the_quick_start_serves_the_trainer_as_the_readme_shows(installed: Path, tmp_path: Path):
    port = free_port()
    log = tmp_path / "serve.log"
    home = {**_clean_environment(), "HOME": str(tmp_path / "home")}
    home = {name: value for name, value in home.items() if not name.startswith("XDG_")}
    with log.open("w") as output:
        server = subprocess.Popen([str(installed / "razbor"), "serve", "--port", str(port)],
                                  cwd=tmp_path, env=home, stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(server, base, log)
        home_page = httpx.get(base + "/")
        practice = httpx.get(base + "/practice", follow_redirects=True)
        assert home_page.status_code == 200 and "razbor" in home_page.text
        assert practice.status_code == 200 and 'name="text"' in practice.text
        assert httpx.get(base + "/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(10)
    printed = log.read_text().replace(f":{port}/", ":8000/")
    assert "Traceback" not in printed
    assert_shows(console_samples()["pip install . && razbor serve"], printed)
    assert (tmp_path / "home" / ".local" / "share" / "razbor" / "razbor.sqlite3").exists()


def _wait_until_up(server: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"razbor serve exited: {log.read_text()}")
        try:
            httpx.get(base + "/static/style.css", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("razbor serve did not answer within 60 s")


def test_the_installed_package_transcribes(installed_with_speech: Path, tmp_path: Path):
    clip = _tone(tmp_path / "tone.wav", seconds=2.0)
    transcribed = _razbor(installed_with_speech, tmp_path)("transcribe", str(clip), "--card",
                                                           "batchnorm")
    assert transcribed.returncode == 0, transcribed.stdout + transcribed.stderr
    assert "2.0 s" in transcribed.stdout and "key points covered" in transcribed.stdout


def _tone(path: Path, seconds: float, rate: int = 16_000) -> Path:
    """A quiet 440 Hz tone: real audio that loads the whole speech stack, needing no voice."""
    samples = (int(3000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return path
