"""Spreadsheets of questions and answers become card files; a bad row is named, nothing written."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from razbor.cli import main
from razbor.decks import load_deck

from .test_cli import refused

TABLE = '''question,answer,tags,difficulty
Что такое dropout?,"Dropout зануляет нейроны при обучении. На инференсе он выключен.",regularization dl,2
"Why does Adam need bias correction?","The moment estimates start at zero and are biased towards it early on.
Dividing by one minus beta to the power t removes that bias.",optimizers,
'''


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="razbor")


def test_a_table_with_a_header_becomes_cards_that_pass_check(tmp_path):
    table = write(tmp_path, "cards.csv", TABLE)
    out = tmp_path / "deck"
    result = invoke("import", "csv", str(table), "--out", str(out), "--topic", "ml")
    assert result.exit_code == 0 and "2 cards imported" in result.output, result.output
    checked = invoke("check", str(out))
    assert checked.exit_code == 0 and "warning" not in checked.output
    assert "2 of them have no rubric" in checked.output
    dropout, adam = sorted(load_deck(out), key=lambda card: card.lang, reverse=True)
    assert dropout.id.startswith("chto-takoe-dropout-") and dropout.lang == "ru"
    assert dropout.topics == ("ml", "regularization", "dl") and dropout.difficulty == 2
    assert adam.short_answer.endswith("removes that bias.") and adam.difficulty == 3
    assert adam.analysis == "The imported note has no such section."


def test_a_tsv_without_a_header_takes_its_columns_from_the_option(tmp_path):
    table = write(tmp_path, "cards.txt", "bn\tWhat does batch norm do?\tIt normalises "
                  "activations with batch statistics and learns a scale and a shift.\n")
    out = tmp_path / "deck"
    result = invoke("import", "csv", str(table), "--out", str(out), "--columns", "id,question,answer")
    assert result.exit_code == 0, result.output
    assert load_deck(out).get("bn").title == "What does batch norm do?"


def test_ankis_plain_text_export_is_read_with_its_directives(tmp_path):
    table = write(tmp_path, "anki.txt", "#separator:tab\n#html:true\n#tags column:3\n"
                  "What is <b>ROC AUC</b>?\tThe probability that a random positive is ranked "
                  "above a random negative.<br>It ignores calibration.\tmetrics ranking\n")
    out = tmp_path / "deck"
    assert invoke("import", "csv", str(table), "--out", str(out)).exit_code == 0
    card = load_deck(out).cards[0]
    assert card.title == "What is ROC AUC?" and card.question == "What is **ROC AUC**?"
    assert card.short_answer.endswith("negative.\nIt ignores calibration.")
    assert card.topics == ("imported", "metrics", "ranking")


def test_every_bad_row_is_named_by_line_and_nothing_is_written(tmp_path):
    table = write(tmp_path, "cards.csv", TABLE + 'Empty answer?,,x,\n"Multi\nline",Yes it '
                  "is fine,,9\nSquared?,Yes,,²\n")
    out = tmp_path / "deck"
    result = invoke("import", "csv", str(table), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{table}:5: error: the answer is empty (fix: write the answer, or remove the row)",
        f"{table}:6: error: difficulty '9' is not 1..5 (fix: use a whole number from 1 to 5, or "
        "leave it empty)",
        f"{table}:8: error: difficulty '²' is not 1..5 (fix: use a whole number from 1 to 5, or "
        "leave it empty)",
        f"Error: 3 bad row(s) in {table}; nothing was imported"]
    assert not out.exists()


def test_importing_over_existing_cards_needs_force(tmp_path):
    table = write(tmp_path, "cards.csv", TABLE)
    out = tmp_path / "deck"
    assert invoke("import", "csv", str(table), "--out", str(out)).exit_code == 0
    again = invoke("import", "csv", str(table), "--out", str(out))
    assert again.exit_code == 1 and "use --force" in again.output
    assert invoke("import", "csv", str(table), "--out", str(out), "--force").exit_code == 0


@pytest.mark.parametrize(("text", "args", "message"), [
    ('question,answer\n"What is it?,unclosed\n', (), ":2: not valid CSV (unexpected end of data)"),
    ("What is dropout?,Zeroing units.\n", (), ":1: the first row ('What is dropout?', 'Zeroing "
                                              "units.') is not a header of known columns"),
    ("question,reply\nq,a\n", (), ":1: the first row ('question', 'reply') is not a header"),
    ("question,question,answer\nq,q,a\n", (), ":1: header: column 'question' is named twice"),
    ("question,answer\n", (), ": no rows to import"),
    ("#separator:weird\nq\ta\n", (), ":1: unknown separator 'weird'"),
])
def test_a_file_that_is_no_table_is_one_line(tmp_path, text, args, message):
    table = write(tmp_path, "bad.csv", text)
    out = tmp_path / "deck"
    assert refused("import", "csv", str(table), "--out", str(out), *args).startswith(
        f"{table}{message}")
    assert not out.exists()


def test_bad_options_and_binary_files_are_refused(tmp_path):
    table = write(tmp_path, "cards.csv", TABLE)
    assert refused("import", "csv", str(table), "--out", str(tmp_path / "d"), "--columns",
                   "question,reply").startswith("--columns: unknown column 'reply' (fix: name "
                                                "columns from: question, answer,")
    assert refused("import", "csv", str(table), "--out", str(tmp_path / "d"), "--topic",
                   "../outside") == ("--topic: '../outside' is not a folder name (fix: pass a "
                                     "name such as 'anki')")
    binary = tmp_path / "cards.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe binary")
    assert refused("import", "csv", str(binary), "--out", str(tmp_path / "d")) == (
        f"{binary}: not UTF-8 text (fix: save the table as UTF-8 CSV)")
    assert not (tmp_path / "d").exists()
