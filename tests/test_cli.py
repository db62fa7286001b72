"""The command line: help for every command, deck checks, settings and clear errors."""

import re
from pathlib import Path

import click
from click.testing import CliRunner

from razbor.cli import main
from razbor.config import SETTINGS

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


def test_every_setting_has_a_flag_and_is_documented():
    readme = README.read_text(encoding="utf-8")
    serve_help = CliRunner().invoke(main, ["serve", "--help"]).output
    for spec in SETTINGS:
        assert f"--{spec.name.replace('_', '-')}" in serve_help
        assert spec.env in readme, f"{spec.env} is not documented in the README"


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


def test_a_bad_database_url_or_setting_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--db", "postgresql://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 1 and "cannot open database" in result.output
    assert "Traceback" not in result.output
    bad = CliRunner().invoke(main, ["stats"], env={"RAZBOR_NEW_PER_DAY": "many"})
    assert bad.exit_code == 1 and "RAZBOR_NEW_PER_DAY: expected int" in bad.output


def test_a_broken_deck_stops_the_server_before_it_starts(tmp_path):
    root = write_deck(tmp_path / "deck", {"bad.md": "no front matter"})
    result = CliRunner().invoke(main, ["serve", "--deck", str(root),
                                       "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1 and "bad.md:1: error" in result.output


def test_stats_prints_reviews_retention_and_topics(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--days", "3",
                                       "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0
    assert "Reviews per day" in result.output and "deep-learning" in result.output
    assert "no reviews of learned cards yet" in result.output


def test_rebuild_recomputes_schedules(tmp_path):
    result = CliRunner().invoke(main, ["rebuild", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0 and "0 schedules rebuilt" in result.output
