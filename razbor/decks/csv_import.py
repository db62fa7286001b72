"""Spreadsheets of questions and answers (CSV, TSV, Anki's "notes in plain text") as notes.

A file names its columns in a header row, or the caller names them (--columns). Anki's export
starts with '#key:value' lines (separator, html, tags column), which are honoured. A row that
cannot be a card is a problem naming its line; a file with any such row yields no notes.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from razbor.decks.markdown import CARD_ID, LANGUAGES
from razbor.decks.notes import ImportedNote, html_to_markdown
from razbor.decks.problems import DeckError, Problem

COLUMNS = ("question", "answer", "title", "tags", "analysis", "mistakes", "interview", "id",
           "lang", "difficulty", "ignore")
REPEATABLE = {"tags", "analysis", "mistakes", "interview", "ignore"}
SYNONYMS = {"front": "question", "back": "answer", "вопрос": "question", "ответ": "answer",
            "теги": "tags", "tag": "tags", "how-to-say": "interview", "card-id": "id",
            "language": "lang", "skip": "ignore", "-": "ignore"}
DELIMITERS = {"auto": None, ",": ",", ";": ";", "tab": "\t"}
ANKI_SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|",
                   "colon": ":"}
DIRECTIVE = re.compile(r"^#([a-z ]+):(.*)$")
TAG_SPLIT = re.compile(r"[\s,;]+")
COLUMN_FIX = "(fix: name columns from: " + ", ".join(COLUMNS) + ")"


class CsvError(ValueError):
    """A file that cannot be read as a table of notes; the message names the file (and line)."""


def parse_columns(spec: str) -> list[str]:
    """Column names from a comma-separated spec; ValueError naming the first unknown one."""
    raw = spec.split(",")
    names = _known_columns(raw)
    if names is None:
        unknown = next(item.strip() for item in raw if _column_name(item) is None)
        raise ValueError(f"unknown column {unknown!r} {COLUMN_FIX}")
    _check_column_set(names)
    return names


def _known_columns(cells: list[str]) -> list[str] | None:
    """The column names of cells that all name one, else None."""
    names = [_column_name(cell) for cell in cells]
    known = [name for name in names if name is not None]
    return known if known and len(known) == len(names) else None


def _column_name(raw: str) -> str | None:
    name = " ".join(raw.strip().casefold().split()).replace(" ", "-").replace("_", "-")
    name = SYNONYMS.get(name, name)
    return name if name in COLUMNS else None


def _check_column_set(names: list[str]) -> None:
    for required in ("question", "answer"):
        if required not in names:
            raise ValueError(f"no '{required}' column {COLUMN_FIX}")
    for name in set(names) - REPEATABLE:
        if names.count(name) > 1:
            raise ValueError(f"column '{name}' is named twice (fix: name it once)")


def read_notes(path: Path, text: str, delimiter: str = "auto",
               columns: list[str] | None = None) -> list[tuple[int, ImportedNote]]:
    """Every row of the file as a note with its line number.

    CsvError if the file is no table (bad quoting, no header and no columns named); DeckError
    with a problem per bad row otherwise, so nothing is imported from a file with one.
    """
    directives, skipped = _directives(text)
    separator = _separator(path, text, skipped, delimiter, directives)
    rows = _rows(path, text, skipped, separator)
    html = directives.get("html", "").strip().lower() == "true"
    columns, rows = _columns(path, rows, columns, directives)
    notes, problems = [], []
    for line, cells in rows:
        note, found = _note(path, line, cells, columns, html)
        problems.extend(found)
        if note is not None:
            notes.append((line, note))
    problems.extend(_duplicate_ids(path, notes))
    if problems:
        raise DeckError(problems)
    if not notes:
        raise CsvError(f"{path}: no rows to import (fix: add a row per card under the header)")
    return notes


def _directives(text: str) -> tuple[dict[str, str], int]:
    """Anki's leading '#separator:tab' lines, and how many lines they take."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    count = 0
    while count < len(lines) and (match := DIRECTIVE.match(lines[count].strip())):
        found[match.group(1).strip()] = match.group(2).strip()
        count += 1
    return found, count


def _separator(path: Path, text: str, skipped: int, delimiter: str,
               directives: dict[str, str]) -> str:
    if "separator" in directives:
        name = directives["separator"].lower()
        separator = ANKI_SEPARATORS.get(name, name if len(name) == 1 else None)
        if separator is None:
            raise CsvError(f"{path}:1: unknown separator {directives['separator']!r} (fix: "
                           f"use one of {', '.join(ANKI_SEPARATORS)})")
        return separator
    if DELIMITERS[delimiter]:
        return DELIMITERS[delimiter]
    if path.suffix.lower() == ".tsv":
        return "\t"
    first = next((line for line in text.splitlines()[skipped:] if line.strip()), "")
    counts = {separator: first.count(separator) for separator in ("\t", ",", ";")}
    best = max(counts, key=lambda separator: counts[separator])
    return best if counts[best] else ","


def _rows(path: Path, text: str, skipped: int, separator: str) -> list[tuple[int, list[str]]]:
    """Non-empty rows with the line each starts on; CsvError at the line of bad quoting."""
    body = io.StringIO("".join(text.splitlines(keepends=True)[skipped:]), newline="")
    reader = csv.reader(body, delimiter=separator, strict=True)
    rows, last_line = [], 0
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((skipped + last_line + 1, cells))
            last_line = reader.line_num
    except csv.Error as error:
        raise CsvError(f"{path}:{skipped + last_line + 1}: not valid CSV ({error}) (fix: "
                       "quote fields that hold the separator or a line break, and close every "
                       "quote)") from error
    return rows


def _columns(path: Path, rows: list[tuple[int, list[str]]], columns: list[str] | None,
             directives: dict[str, str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The columns, and the rows without the header if there is one."""
    header = _known_columns(rows[0][1]) if rows else None
    if columns is not None:
        return columns, rows[1:] if header == columns else rows
    if header is not None:
        try:
            _check_column_set(header)
        except ValueError as error:
            raise CsvError(f"{path}:{rows[0][0]}: header: {error}") from error
        return header, rows[1:]
    if "separator" in directives and rows:
        return _anki_columns(len(rows[0][1]), directives), rows
    shown = ", ".join(repr(cell) for cell in (rows[0][1] if rows else [])[:4])
    raise CsvError(f"{path}:{rows[0][0] if rows else 1}: the first row ({shown}) is not a "
                   "header of known columns (fix: add a header such as 'question,answer,tags' "
                   "or pass --columns question,answer)")


def _anki_columns(width: int, directives: dict[str, str]) -> list[str]:
    """Anki's export: the note's fields in order (front, back, then more), tags where it says."""
    tags_column = directives.get("tags column", "")
    tags_at = int(tags_column) - 1 if tags_column.isascii() and tags_column.isdigit() else None
    fields = iter(("question", "answer"))
    return ["tags" if index == tags_at else next(fields, "analysis") for index in range(width)]


def _note(path: Path, line: int, cells: list[str], columns: list[str], html: bool
          ) -> tuple[ImportedNote | None, list[Problem]]:
    def problem(message: str, hint: str) -> tuple[None, list[Problem]]:
        return None, [Problem(path, line, message, hint)]

    if len(cells) > len(columns) and not any(cell.strip() for cell in cells[len(columns):]):
        cells = cells[:len(columns)]
    if len(cells) != len(columns):
        return problem(f"the row has {len(cells)} fields, the columns are {len(columns)} "
                       f"({', '.join(columns)})", "quote fields that contain the separator")
    values: dict[str, list[str]] = {}
    for name, cell in zip(columns, cells, strict=True):
        text = html_to_markdown(cell) if html and name not in ("id", "lang", "difficulty",
                                                               "tags") else cell.strip()
        if text:
            values.setdefault(name, []).append(text)
    joined = {name: "\n\n".join(texts) for name, texts in values.items()}
    for required in ("question", "answer"):
        if not joined.get(required):
            return problem(f"the {required} is empty", f"write the {required}, or remove the row")
    card_id, lang, difficulty = joined.get("id", ""), joined.get("lang", ""), joined.get(
        "difficulty", "3")
    if card_id and not CARD_ID.match(card_id):
        return problem(f"id {card_id!r} is not a slug", "use lowercase latin letters, digits "
                       "and '-', or leave the id empty to have one made")
    if lang and lang not in LANGUAGES:
        return problem(f"language {lang!r} is not supported", "use 'ru' or 'en', or leave it "
                       "empty to have it detected")
    if difficulty not in ("1", "2", "3", "4", "5"):
        return problem(f"difficulty {difficulty!r} is not 1..5", "use a whole number from 1 "
                       "to 5, or leave it empty")
    tags = tuple(tag for tag in TAG_SPLIT.split(" ".join(values.get("tags", []))) if tag)
    return ImportedNote(
        key=card_id or joined["question"], question=joined["question"], answer=joined["answer"],
        title=joined.get("title", ""), analysis=joined.get("analysis", ""),
        mistakes=joined.get("mistakes", ""), interview=joined.get("interview", ""), tags=tags,
        card_id=card_id, lang=lang, difficulty=int(difficulty)), []


def _duplicate_ids(path: Path, notes: list[tuple[int, ImportedNote]]) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for line, note in notes:
        if note.card_id and note.card_id in first:
            problems.append(Problem(path, line, f"id '{note.card_id}' is already used on line "
                                    f"{first[note.card_id]}", "give each row its own id"))
        elif note.card_id:
            first[note.card_id] = line
    return problems
