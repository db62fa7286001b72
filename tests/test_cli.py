"""The command line: help for every command, deck checks, settings and clear errors.

A bad setting or argument is refused before any work, in one line with the fix, exit status 2.
"""

import json
import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.config import SETTINGS
from razbor.storage import Store

from .conftest import free_port
from .test_decks import VALID, write_deck

README = Path(__file__).resolve().parents[1] / "README.md"


def all_commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    for name, command in all_commands(main):
        result = CliRunner().invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0 and command.help, name
        assert f"razbor {name}" in readme, f"`razbor {name}` is not documented in the README"


def test_every_setting_is_documented_with_the_commands_that_take_it():
    readme = README.read_text(encoding="utf-8")
    documented = {row[1].strip("` "): {c.strip() for c in row[4].split(",")}
                  for row in (line.split("|") for line in readme.splitlines())
                  if len(row) > 5 and row[2].strip().startswith("`RAZBOR_")}
    for spec in SETTINGS:
        flag = f"--{spec.name.replace('_', '-')}"
        taking = {name for name, command in all_commands(main)
                  if any(flag in option.opts for option in command.params)}
        row = next(key for key in documented if key.split("/")[0] == flag)
        assert documented[row] == taking, f"{flag}: README says {documented[row]}, CLI {taking}"
        assert spec.env in readme


def test_check_passes_on_the_builtin_deck():
    from razbor.decks import builtin_deck_path

    result = CliRunner().invoke(main, ["check", str(builtin_deck_path())])
    assert result.exit_code == 0 and re.search(r"\d+ cards OK", result.output)


def test_check_reports_file_and_line_and_fails(tmp_path):
    root = write_deck(tmp_path, {"t/good.md": VALID,
                                 "t/bad.md": VALID.replace("id: dropout", "id: bad")
                                 .replace("difficulty: 2", "difficulty: 11")})
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 1
    assert re.search(r"t/bad\.md:5: error: difficulty 11 is not 1\.\.5 \(fix: ", result.output)
    assert "the deck was not loaded" in result.output


def refused(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a command that must be refused as a bad setting or argument; its one-line message."""
    result = CliRunner().invoke(main, list(args), env=env, prog_name="razbor")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0].removeprefix("Error: ")


def existing_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    Store.open(url).close()
    return url


def test_an_unreachable_database_server_is_a_one_line_failure_not_a_bad_setting():
    result = CliRunner().invoke(main, ["stats", "--db", "postgresql://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 1 and "cannot open database" in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--desired-retention", "5", "--desired-retention: 5 is not between 0.70 and 0.99 (fix: "),
    ("--desired-retention", "nan", "--desired-retention: nan is not between 0.70 and 0.99"),
    ("--new-per-day", "-3", "--new-per-day: -3 is less than 0 (fix: pass 0 or more)"),
    ("--max-attempt-chars", "0", "--max-attempt-chars: 0 is less than 1 (fix: pass 1 or more)"),
    ("--max-recording-seconds", "0", "--max-recording-seconds: 0 is less than 1 (fix: "),
    ("--max-recording-mb", "-1", "--max-recording-mb: -1 is less than 1 (fix: "),
    ("--lang", "de", "--lang: 'de' is not one of ru, en (fix: "),
    ("--speech-language", "xx", "--speech-language: 'xx' is not one of auto, card, ru, en"),
    ("--grader", "embedding", "--grader: embedding needs embedding-model (fix: set "
                              "--embedding-model or RAZBOR_EMBEDDING_MODEL"),
    ("--grader", "llm", "--grader: llm needs llm-url (fix: "),
    ("--llm-url", "ftp://x", "--llm-url: 'ftp://x' is not an http(s) URL (fix: "),
    ("--speech-model", "", "--speech-model: empty value (fix: "),
    ("--new-per-day", "many", "Invalid value for '--new-per-day': 'many' is not a valid integer"),
])
def test_a_bad_setting_names_its_flag_and_nothing_is_created(tmp_path, flag, value, message):
    database = tmp_path / "x.db"
    commands = (["serve", "--port", str(free_port())], ["practice"], ["stats"])
    for command in (c for c in commands if flag in taken_by(c[0])):
        assert refused(*command, flag, value, "--db", f"sqlite:///{database}").startswith(message)
    assert not database.exists()


def taken_by(command: str) -> set[str]:
    """The flags a command takes."""
    return {flag for option in main.commands[command].params for flag in option.opts}


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("RAZBOR_FUZZ", "maybe", "RAZBOR_FUZZ: expected true or false, got 'maybe' (fix: set "
                             "RAZBOR_FUZZ to true or false, or unset it)"),
    ("RAZBOR_LANG", "de", "RAZBOR_LANG: 'de' is not one of ru, en (fix: use one of them)"),
    ("RAZBOR_NEW_PER_DAY", "many", "RAZBOR_NEW_PER_DAY: expected a whole number, got 'many'"),
    ("RAZBOR_DESIRED_RETENTION", "0.5", "RAZBOR_DESIRED_RETENTION: 0.5 is not between 0.70"),
    ("RAZBOR_GRADER", "rulez", "RAZBOR_GRADER: 'rulez' is not one of semantic, rules, embedding, llm"),
])
def test_a_bad_environment_variable_is_named(variable, value, message):
    command = ["serve", "--port", str(free_port())] if variable == "RAZBOR_LANG" else ["practice"]
    assert refused(*command, env={variable: value}).startswith(message)


def test_a_command_ignores_the_variables_of_settings_it_does_not_take(tmp_path):
    url = existing_database(tmp_path)
    result = CliRunner().invoke(main, ["stats", "--db", url],
                                env={"RAZBOR_LANG": "de", "RAZBOR_GRADER": "embedding"})
    assert result.exit_code == 0, result.output


def test_a_flag_wins_over_a_bad_variable_and_is_named_when_it_is_the_bad_one(tmp_path):
    url = existing_database(tmp_path)
    fine = CliRunner().invoke(main, ["practice", "--db", url, "--grader", "rules"],
                              env={"RAZBOR_GRADER": "rulez"}, input=":q\n")
    assert fine.exit_code == 0, fine.output
    assert refused("practice", "--grader", "rulez",
                   env={"RAZBOR_GRADER": "rules"}).startswith("--grader:")


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(url):
    assert refused("stats", "--db", url) == (
        "--db: an SQLite URL needs a file path; an in-memory database would lose every answer "
        "on exit (fix: use sqlite:///path/to/razbor.sqlite3)")


def test_a_database_path_that_is_not_an_sqlite_file_is_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("my notes\n")
    assert refused("stats", "--db", f"sqlite:///{text}") == (
        f"--db: {text} is not an SQLite database (fix: point the URL at a razbor database or at "
        "a file that does not exist yet)")
    assert text.read_text() == "my notes\n"
    assert refused("practice", "--db", f"sqlite:///{tmp_path}") == (
        f"--db: {tmp_path} is a folder, not an SQLite file (fix: name a file in it, e.g. "
        f"sqlite:///{tmp_path / 'razbor.sqlite3'})")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_an_sqlite_database_of_another_application_is_not_touched(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE bookmarks (url TEXT)")
    message = refused("stats", "--db", f"sqlite:///{other}")
    assert message.startswith("--db: sqlite:///") and "holds tables that are not razbor's " \
        "(bookmarks) (fix: use a new or razbor's own database)" in message
    with sqlite3.connect(other) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("bookmarks",)]


def test_an_unsupported_database_scheme_lists_the_supported_ones():
    assert refused("stats", "--db", "mysql://me@localhost/razbor") == (
        "--db: the scheme mysql:// is not supported (fix: use sqlite:///path/to/razbor.sqlite3 "
        "or postgresql://user@host/name)")
    assert refused("stats", env={"RAZBOR_DB": "nonsense"}).startswith(
        "RAZBOR_DB: 'nonsense' is not a database URL (fix: use sqlite:///")


def test_postgresql_without_its_driver_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    result = CliRunner().invoke(main, ["stats", "--db", "postgresql://me@127.0.0.1/razbor"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "(fix: pip install 'razbor[postgres]' for PostgreSQL)" in result.output
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize("command", ["export", "stats", "rebuild"])
def test_a_reading_command_does_not_create_a_missing_database(tmp_path, command):
    missing = tmp_path / "typo.sqlite3"
    assert refused(command, "--db", f"sqlite:///{missing}") == (
        f"--db: there is no database at {missing} (fix: check the path; `razbor serve` or "
        "`razbor practice` creates one)")
    assert not missing.exists()


def test_serve_creates_the_default_database_on_first_run(monkeypatch):
    import platformdirs
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    default = Path(platformdirs.user_data_dir("razbor")) / "razbor.sqlite3"
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())], env={"RAZBOR_DB": ""})
    assert result.exit_code == 0, result.output
    assert default.exists() and "open http://127.0.0.1:" in result.output


def test_export_of_a_database_without_history_says_so_and_writes_no_file(tmp_path):
    output = tmp_path / "history.jsonl"
    result = CliRunner().invoke(main, ["export", "--db", existing_database(tmp_path),
                                       "-o", str(output)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: nothing to export: sqlite:///")
    assert "holds no history (fix: practise first" in result.stderr
    assert not output.exists()


def test_export_into_a_missing_folder_is_refused_before_reading(tmp_path):
    target = tmp_path / "no" / "history.jsonl"
    assert refused("export", "-o", str(target)) == (
        f"--output: the folder {target.parent} does not exist (fix: create it or write elsewhere)")


def test_import_of_a_file_that_is_not_an_export_names_file_and_line(tmp_path):
    dump = tmp_path / "notes.jsonl"
    dump.write_text('{"type": "user", "id": 1, "name": "me", "created_at": "2026-01-01"}\n'
                    "\nnot json\n")
    database = tmp_path / "new.db"
    assert refused("import", "history", str(dump), "--db", f"sqlite:///{database}") == (
        f"nothing imported: {dump}:3: not JSON (Expecting value, column 1) (fix: pass a file "
        "written by `razbor export`)")
    dump.write_text("[1, 2]\n")
    assert refused("import", "history", str(dump), "--db", f"sqlite:///{database}") == (
        f"nothing imported: {dump}:1: expected a JSON object, got list (fix: pass a file written "
        "by `razbor export`)")
    assert not database.exists()


def test_transcribe_checks_the_card_before_reading_the_audio(tmp_path):
    audio = tmp_path / "answer.wav"
    audio.write_bytes(b"not even audio")
    assert refused("transcribe", str(audio), "--card", "nope") == (
        "--card: no card with id 'nope' in the deck (fix: pass the id from a card file's front "
        "matter)")


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "--port", "70000"], "Invalid value for '--port': 70000 is not in the range "
                                   "1<=x<=65535. (fix: see `razbor serve --help`)"),
    (["serve", "--host", "junk..host"], "--host: cannot resolve 'junk..host' (fix: pass an "
                                        "address such as 127.0.0.1"),
    (["stats", "--days", "0"], "Invalid value for '--days': 0 is not in the range 1<=x<=3650. "
                               "(fix: see `razbor stats --help`)"),
    (["lab", "roc-auc", "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range "
                                         "x>=0. (fix: see `razbor lab --help`)"),
    (["lab", "nope"], "no card or lab named 'nope' (fix: pass a card id or a lab name: "),
    (["stats", "--bogus"], "No such option '--bogus'. (fix: see `razbor stats --help`)"),
    (["import", "history", "missing.jsonl"], "Invalid value for 'FILE': 'missing.jsonl': No "
                                             "such file or directory"),
    (["grader", "eval", "missing.jsonl", "--backend", "embedding"], "Invalid value for 'FILE'"),
])
def test_a_bad_argument_is_one_line_with_the_fix(args, message):
    assert refused(*args).startswith(message)


def test_a_port_in_use_is_refused_before_the_database_is_opened(tmp_path):
    import socket

    database = tmp_path / "x.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = refused("serve", "--port", str(port), "--db", f"sqlite:///{database}")
    assert message.startswith(f"--host/--port: cannot listen on 127.0.0.1:{port}: Address "
                              "already in use (fix: pick a free --port")
    assert not database.exists()


def test_a_deck_that_does_not_exist_or_is_a_file_is_refused(tmp_path):
    card = write_deck(tmp_path / "deck", {"t/good.md": VALID}) / "t" / "good.md"
    fix = "(fix: pass a folder of card files, or leave it unset for the built-in deck)"
    assert refused("stats", "--deck", str(tmp_path / "nope")) == (
        f"--deck: {tmp_path / 'nope'} does not exist {fix}")
    assert refused("lab", "roc-auc", "--deck", str(card)) == (
        f"--deck: {card} is a file, not a folder {fix}")
    assert refused("serve", "--deck", str(tmp_path / "deck" / "t" / "empty"), "--port",
                   str(free_port())).endswith(f"does not exist {fix}")


def test_a_recordings_folder_that_cannot_be_used_is_refused(tmp_path):
    from razbor.speech.whisper import speech_installed

    notes = tmp_path / "notes.txt"
    notes.write_text("")
    assert refused("serve", "--audio-dir", str(notes), "--port", str(free_port())) == (
        f"--audio-dir: {notes} is a file, not a folder (fix: pass a folder for recordings)")
    if speech_installed():
        assert refused("serve", "--audio-dir", str(notes / "audio"), "--port", str(free_port()),
                       "--db", f"sqlite:///{tmp_path / 'x.db'}") == (
            f"--audio-dir: cannot create {notes / 'audio'}: Not a directory (fix: pass a folder "
            "you can write to)")


def test_grader_eval_checks_its_backend_and_its_file_format(tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("id,card,text\n")
    assert refused("grader", "eval", str(labelled), "--backend", "llm").startswith(
        "--backend: llm needs llm-url (fix: set --llm-url or RAZBOR_LLM_URL")
    assert refused("grader", "eval", str(labelled)) == (
        f"{labelled}:1: not JSON (Expecting value, column 1) (fix: pass a JSON Lines file of "
        "labelled attempts)")


def test_grader_explain_shows_what_decided_each_verdict():
    attempt = ("На inference берутся running mean и var, накопленные на обучении. "
               "Нормируем, деля на дисперсию.")
    result = CliRunner().invoke(main, ["grader", "explain", "batchnorm", attempt])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("✓ bn.inference") and "«running mean" in result.output
               for line in lines)
    assert any(line.startswith("✗ bn.m.divide_var") for line in lines)
    assert any(line.startswith("○ bn.sync 0.00") for line in lines)


def test_grader_explain_reads_standard_input_and_prints_json():
    result = CliRunner().invoke(main, ["grader", "explain", "batchnorm", "-", "--json"],
                                input="SyncBatchNorm all-reduces sums and counts across GPUs.")
    assert result.exit_code == 0, result.output
    feedback = json.loads(result.output)
    assert feedback["card_id"] == "batchnorm"
    assert "bn.sync" in [point["id"] for point in feedback["key_points"] if point["covered"]]


def test_grader_explain_refuses_an_unknown_card_in_one_line():
    assert refused("grader", "explain", "no-such-card", "text") == (
        "no card with id 'no-such-card' in the deck (fix: pass the id from a card file's front "
        "matter)")


def test_a_broken_deck_stops_the_server_before_it_starts(tmp_path):
    root = write_deck(tmp_path / "deck", {"bad.md": "no front matter"})
    result = CliRunner().invoke(main, ["serve", "--deck", str(root), "--port", str(free_port()),
                                       "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1 and "bad.md:1: error" in result.output


def test_stats_prints_reviews_retention_and_topics(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--days", "3", "--db", existing_database(tmp_path)])
    assert result.exit_code == 0
    assert "Reviews per day" in result.output and "deep-learning" in result.output
    assert "no reviews of learned cards yet" in result.output


def test_rebuild_recomputes_schedules(tmp_path):
    result = CliRunner().invoke(main, ["rebuild", "--db", existing_database(tmp_path)])
    assert result.exit_code == 0 and "0 schedules rebuilt" in result.output
