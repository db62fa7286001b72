"""`razbor practice` driven through a pseudo-terminal, as a person types."""

import os
import sys
from pathlib import Path

import pexpect

from razbor.storage import Store


def spawn_practice(sqlite_url: str, deck: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "RAZBOR_DB": sqlite_url, "RAZBOR_FUZZ": "false", "COLUMNS": "100",
           "TERM": "xterm", "RAZBOR_DECK": str(deck)}
    return pexpect.spawn(sys.executable, ["-m", "razbor.cli", "practice", *args], env=env,
                         encoding="utf-8", timeout=30, dimensions=(40, 100))


def test_a_typed_attempt_then_an_aloud_one_then_quit(sqlite_url, seed_deck_dir):
    child = spawn_practice(sqlite_url, seed_deck_dir)
    child.expect("BatchNorm при обучении")
    child.expect("> ")
    child.sendline("mean and variance per channel over the batch")
    child.expect("> ")
    child.sendline("then gamma and beta are learnable")
    child.expect("> ")
    child.sendline("")
    child.expect("показать разбор")
    child.sendline("")
    child.expect("Подробный разбор")
    child.expect("feedback: 2/7")
    child.expect("✓")
    child.expect(r"rating \[1 Again · 2 Hard · 3 Good · 4 Easy\] \(Enter = 2\)")
    child.sendline("7")
    child.expect("Введите 1, 2, 3 или 4")
    child.sendline("3")
    child.expect("next review")
    child.expect("Обучение со смешанной точностью")
    child.expect("> ")
    child.sendline("")
    child.expect("показать разбор")
    child.sendline("")
    child.expect("rating")
    child.sendline("2")
    child.expect("ROC-AUC")
    child.expect("> ")
    child.sendline(":q")
    child.expect("Bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    store = Store.open(sqlite_url)
    user = 1
    (typed, review), = store.history(user, "batchnorm")
    assert typed.text == ("mean and variance per channel over the batch\n"
                          "then gamma and beta are learnable")
    assert set(typed.feedback and [p["id"] for p in typed.feedback["key_points"]
                                   if p["covered"]]) == {"bn.stats", "bn.affine"}
    assert review.rating == 3
    (aloud, aloud_review), = store.history(user, "mixed-precision")
    assert aloud.answered_aloud and aloud.text == "" and aloud_review.rating == 2
    store.close()


def test_topic_filter_and_end_of_input(sqlite_url, seed_deck_dir):
    child = spawn_practice(sqlite_url, seed_deck_dir, "--topic", "metrics")
    child.expect("ROC-AUC, ранжирующая")
    child.expect("> ")
    child.sendeof()
    child.expect("Bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
