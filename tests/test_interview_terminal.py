"""`razbor interview` driven through a pseudo-terminal, as a person types."""

import os
import sys
from pathlib import Path

import pexpect
from click.testing import CliRunner

from razbor.cli import main
from razbor.storage import Store
from razbor.storage.interviews import InterviewStore


def spawn_interview(sqlite_url: str, deck: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "RAZBOR_DB": sqlite_url, "RAZBOR_FUZZ": "false", "COLUMNS": "100",
           "TERM": "xterm", "RAZBOR_DECK": str(deck)}
    return pexpect.spawn(sys.executable, ["-m", "razbor.cli", "interview", *args], env=env,
                         encoding="utf-8", timeout=60, dimensions=(40, 100))


def test_an_interview_with_a_follow_up_then_the_report_and_ratings(sqlite_url, seed_deck_dir):
    child = spawn_interview(sqlite_url, seed_deck_dir, "--topics", "deep-learning",
                            "--questions", "1", "--minutes", "10")
    child.expect("question 1 of 1")
    child.expect("BatchNorm при обучении")
    child.expect(r"time for this answer: 6:40")
    child.expect("> ")
    child.sendline("mean and variance per channel over the batch, gamma and beta")
    child.expect("> ")
    child.sendline("")
    child.expect("answer recorded")
    child.expect("follow-up to question 1")
    child.expect(r"time for this answer: 3:20")
    child.expect("> ")
    child.sendline("in eval mode the running mean and variance are used")
    child.expect("> ")
    child.sendline("")
    child.expect("report")
    child.expect(r"answered 2/2 · key points covered \d+% \(\d/7\)")
    child.expect("weakest key points")
    child.expect(r"show the analyses\? \[y/N\]")
    child.sendline("y")
    child.expect("Подробный разбор")
    child.expect(r"rating \[1 Again · 2 Hard · 3 Good · 4 Easy\] \(Enter = 2\)")
    child.sendline("")
    child.expect("ratings saved: 1")
    child.expect("past interviews")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    store = Store.open(sqlite_url)
    interview, = InterviewStore(store).interviews_of(1)
    main_question, follow_up = interview.questions
    assert interview.finished_at is not None
    assert main_question.card_id == "batchnorm" and main_question.attempt_id is not None
    assert follow_up.kind == "follow-up" and follow_up.note.startswith("in eval mode")
    (attempt, review), = store.history(1, "batchnorm")
    assert attempt.id == main_question.attempt_id and review.rating == 2
    store.close()


def test_quitting_ends_the_interview_and_still_shows_the_report(sqlite_url, seed_deck_dir):
    child = spawn_interview(sqlite_url, seed_deck_dir, "--questions", "2", "--no-follow-ups")
    child.expect("> ")
    child.sendline(":q")
    child.expect("interview ended early")
    child.expect(r"answered 0/1")
    child.expect("not answered")
    child.expect("past interviews")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    listed = CliRunner().invoke(main, ["interview", "--past", "--db", sqlite_url,
                                       "--deck", str(seed_deck_dir)])
    assert listed.exit_code == 0 and "0/1" in listed.output


def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, seed_deck_dir):
    database = tmp_path / "never.sqlite3"
    for args, message in ((["--topics", "astrology"], "--topics: no topic named 'astrology'"),
                          (["--questions", "21"], "'--questions': 21 is not in the range"),
                          (["--minutes", "0"], "'--minutes': 0 is not in the range")):
        result = CliRunner().invoke(main, ["interview", *args, "--db", f"sqlite:///{database}",
                                           "--deck", str(seed_deck_dir)])
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not database.exists()
