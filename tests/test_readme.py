"""The README's examples are what the commands print: each sample is run and compared.

A sample's lines must appear in the command's output in the same order; a line `...` stands for
any lines the README leaves out.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def console_samples() -> dict[str, list[str]]:
    """Each `$ command` of the README's console blocks, with the lines shown after it."""
    samples: dict[str, list[str]] = {}
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        command = None
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:].split("  #")[0].strip()
                samples[command] = []
            elif command is not None:
                samples[command].append(line)
    return samples


def _normal(line: str) -> str:
    return " ".join(line.split())


def assert_shows(sample: list[str], output: str) -> None:
    """Every line of the sample, in order, among the output's lines (whitespace aside)."""
    lines = [_normal(line) for line in ANSI.sub("", output).splitlines()]
    position = 0
    for expected in (_normal(line) for line in sample):
        if expected in ("", "..."):
            continue
        found = next((i for i in range(position, len(lines)) if lines[i] == expected), None)
        assert found is not None, f"README line not printed (in order): {expected!r}\n{output}"
        position = found + 1


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A new user's environment: an empty home, default folders, no razbor settings."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("RAZBOR_", "XDG_"))}
    return {**environment, "HOME": str(tmp_path), "COLUMNS": "80"}


def test_the_lab_sample_is_what_the_lab_prints(home: dict[str, str]):
    printed = subprocess.run([sys.executable, "-m", "razbor.cli", "lab", "roc-auc"], env=home,
                             capture_output=True, text=True, check=True).stdout
    assert_shows(console_samples()["razbor lab roc-auc"], printed)


def test_the_terminal_sample_is_a_real_session(home: dict[str, str]):
    sample = console_samples()["razbor practice --topic metrics"]
    typed = [line[1:].strip() for line in sample if line.startswith(">")]
    rating = next(line.rsplit(":", 1)[1].strip() for line in sample if line.startswith("Оценка"))
    child = pexpect.spawn(sys.executable, ["-m", "razbor.cli", "practice", "--topic", "metrics",
                                           "--no-fuzz"],
                          env={**home, "TERM": "dumb"}, encoding="utf-8", timeout=30,
                          dimensions=(50, 80))
    child.logfile_read = io.StringIO()
    for text in typed:
        child.expect("> ")
        child.sendline(text)
    child.expect("show the analysis")
    child.sendline("")
    child.expect(r"rating \[")
    child.sendline(rating)
    child.expect("next review")
    child.expect("> ")
    child.sendline(":q")
    child.expect(pexpect.EOF)
    shown = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<date>", child.logfile_read.getvalue())
    assert_shows([re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<date>", line) for line in sample],
                 shown)


def test_the_readme_names_the_python_the_package_requires():
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required == ">=3.11" and "Python 3.11 or newer" in README


def test_the_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    command = "pip install '.[test]' && python -m pytest"
    assert command in console_samples() and ci.rstrip().endswith(command)


def test_the_layout_lists_every_module_and_only_real_ones():
    block = README[README.index("## Layout"):]
    listed = re.findall(r"^(\S+)\s{2,}\S", block.split("```")[1], flags=re.M)
    assert all((ROOT / path).exists() for path in listed), listed
    package = ROOT / "razbor"
    modules = {f"razbor/{p.name}" + ("/" if p.is_dir() else "") for p in package.iterdir()
               if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists()
                                               or p.name == "content")}
    assert modules - set(listed) == set()
