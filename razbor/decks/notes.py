"""Notes from other trainers (Anki, spreadsheets) as card files, written all or nothing.

A note has a question and an answer, perhaps more; a card has four sections. A section the note
lacks says so instead of being invented, and an imported card has no rubric: the grader checks an
attempt against the sentences of its short answer (Card.gradable_rubric).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import secrets
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from markdownify import markdownify

from razbor.cards import Card
from razbor.decks.folder import check_deck
from razbor.decks.markdown import dump_card, parse_card
from razbor.decks.page import detect_language, slugify
from razbor.decks.problems import Problem
from razbor.scheduling import Schedule

MISSING_SECTION = {"ru": "В импортированной заметке этого раздела нет.",
                   "en": "The imported note has no such section."}
UNTITLED = {"ru": "Карточка без заголовка", "en": "Untitled card"}
TITLE_CHARS = 100
MEDIA_FOLDER = "media"
# Headings of levels 1 and 2 would end the card's section in a card file: they become level 3.
TOP_HEADING = re.compile(r"^#{1,2}(?=\s)", re.MULTILINE)
IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))[^>]*>", re.I)
ALT = re.compile(r"\balt\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.I)
SOUND = re.compile(r"\[sound:([^\]\n]+)\]")
FORMULAS = (  # Anki's MathJax and LaTeX delimiters, as razbor's $...$ and $$...$$
    (re.compile(r"\\\((.+?)\\\)", re.S), False),
    (re.compile(r"\\\[(.+?)\\\]", re.S), True),
    (re.compile(r"\[\$\](.+?)\[/\$\]", re.S), False),
    (re.compile(r"\[\$\$\](.+?)\[/\$\$\]", re.S), True),
    (re.compile(r"\[latex\](.+?)\[/latex\]", re.S | re.I), True),
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
PLAIN_TEXT = (  # Markdown marks a title does without, each with what it leaves
    (re.compile(r"!\[[^\]]*\]\([^)]*\)|\[sound:[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^\s*(?:#+|>+)\s*|\*\*|__|(?<![\w\\])[*_]|(?<!\\)[*_](?!\w)|[`$]"), ""),
    (re.compile(r"\\(.)"), r"\1"),
)


@dataclass(frozen=True)
class ImportedNote:
    """What a note of another trainer says, as Markdown; `key` identifies it in its source,
    so importing it again gives the same card id."""

    key: str
    question: str
    answer: str
    title: str = ""
    analysis: str = ""
    mistakes: str = ""
    interview: str = ""
    tags: tuple[str, ...] = ()
    card_id: str = ""
    lang: str = ""
    difficulty: int = 3


@dataclass(frozen=True)
class PastReview:
    """One rating of a card at a moment, as a review log holds it. The schedules around it are
    known when the log is razbor's own and left out when another trainer's log is replayed."""

    card_id: str
    rating: int
    reviewed_at: datetime
    seconds: float
    before: Schedule | None = None
    after: Schedule | None = None


def card_of(note: ImportedNote, topic: str) -> Card:
    """The card for a note, filed under a topic; sections the note lacks say so."""
    question, answer = _section(note.question), _section(note.answer)
    extra = {name: _section(getattr(note, name)) for name in ("analysis", "mistakes", "interview")}
    lang = note.lang or detect_language(" ".join((question, answer, extra["analysis"])))
    title = " ".join(_section(note.title).split()) or title_of(question) or UNTITLED[lang]
    return Card(
        id=note.card_id or card_id_for(title, note.key), title=title, lang=lang,
        topics=tuple(dict.fromkeys((topic, *note.tags))), difficulty=note.difficulty,
        short_answer=answer, question="" if question == title else question,
        **{name: text or MISSING_SECTION[lang] for name, text in extra.items()},
    )


def _section(text: str) -> str:
    """Text fit for a card file: no control characters, no headings that end a section."""
    return demote_headings(CONTROL.sub("", text.replace("\r\n", "\n")).strip())


def demote_headings(markdown: str) -> str:
    return TOP_HEADING.sub("###", markdown)


def title_of(markdown: str) -> str:
    """The first line of a question as plain text, cut at a word near TITLE_CHARS."""
    for line in markdown.splitlines():
        for pattern, replacement in PLAIN_TEXT:
            line = pattern.sub(replacement, line)
        text = " ".join(line.split())
        if text:
            if len(text) <= TITLE_CHARS:
                return text
            return text[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return ""


def card_id_for(title: str, key: str) -> str:
    """A slug of the title and a suffix fixed by the note's key: readable, stable, unique."""
    suffix = hashlib.sha256(key.encode("utf-8")).hexdigest()[:6]
    return f"{slugify(title)[:50].rstrip('-')}-{suffix}"


def html_to_markdown(source: str, media_path: Callable[[str], str] = lambda name: name) -> str:
    """Markdown for an HTML field of another trainer, keeping images, sounds and formulas.

    Images become Markdown images at media_path(name); sounds stay Anki's [sound:name], which
    Anki plays after an export; MathJax becomes $...$. These are set aside under tokens of
    letters and digits while markdownify converts the rest, so nothing escapes them.
    """
    kept: list[str] = []
    nonce = secrets.token_hex(4)

    def keep(markdown: str) -> str:
        kept.append(markdown)
        return f"K{nonce}T{len(kept) - 1}K"

    source = INVISIBLE.sub("", source)
    for pattern, display in FORMULAS:
        source = pattern.sub(lambda m, d=display: keep(_formula(m.group(1), d)), source)
    source = SOUND.sub(lambda m: keep(f"[sound:{html.unescape(m.group(1)).strip()}]"), source)
    source = IMAGE.sub(lambda m: keep(_image(m, media_path)), source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BeautifulSoup's guesses about short inputs
        markdown = markdownify(source, heading_style="ATX", bullets="-")
    markdown = re.sub(r"[ \t]+\n", "\n", markdown.replace("\xa0", " "))
    markdown = re.sub(r"\n{3,}", "\n\n", markdown).strip()
    return re.sub(f"K{nonce}T(\\d+)K", lambda m: kept[int(m.group(1))], markdown)


def _formula(latex: str, display: bool) -> str:
    latex = html.unescape(re.sub(r"<br\s*/?>", "\n", latex)).strip()
    return f"\n\n$$\n{latex}\n$$\n\n" if display else f"${latex}$"


def _image(match: re.Match, media_path: Callable[[str], str]) -> str:
    source = html.unescape(next(group for group in match.groups() if group is not None))
    alt = ALT.search(match.group(0))
    text = html.unescape(next(g for g in alt.groups() if g is not None)) if alt else ""
    text = re.sub(r"[\[\]\n]", " ", text).strip()
    return f"![{text}](<{media_path(source.strip())}>)"


def media_reference(name: str) -> str:
    """How a card file (in a topic folder) points at a file of the deck's media folder."""
    return f"../{MEDIA_FOLDER}/{name}"


class ImportConflict(Exception):
    """Writing the cards would overwrite files or clash with cards already in the deck."""


class StagedFiles:
    """Files written under temporary names beside their targets and renamed into place only
    once every one is written, so a failed import leaves the deck folder as it was."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []
        self._made: list[Path] = []

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.discard()

    def add(self, target: Path, write: Callable[[BinaryIO], None]) -> None:
        self._make_folder(target.parent)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        self._staged.append((Path(name), target))
        with os.fdopen(handle, "wb") as file:
            write(file)

    def add_text(self, target: Path, text: str) -> None:
        self.add(target, lambda file: file.write(text.encode("utf-8")))

    def _make_folder(self, folder: Path) -> None:
        missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self._made.extend(reversed(missing))

    def commit(self) -> list[Path]:
        """Move every staged file into place; returns the targets."""
        for temporary, target in self._staged:
            os.replace(temporary, target)
        targets = [target for _, target in self._staged]
        self._staged, self._made = [], []
        return targets

    def discard(self) -> None:
        for temporary, _ in self._staged:
            temporary.unlink(missing_ok=True)
        for folder in reversed(self._made):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        self._staged, self._made = [], []


def card_path(out: Path, topic: str, card: Card) -> Path:
    return out / topic / f"{card.id}.md"


def stage_cards(staged: StagedFiles, cards: list[Card], out: Path, topic: str,
                sources: list[tuple[Path, int]], force: bool, media: tuple[str, ...] = ()
                ) -> None:
    """Check and stage the card files an import writes (media names are checked too).

    Each card must read back from its file exactly (sources give the file and line, or note
    number, it came from); it must not overwrite a file without force, nor take the id of a card
    already in the deck. ImportConflict before anything is staged otherwise.
    """
    texts = [dump_card(card, (topic,)) for card in cards]
    problems = _round_trip_problems(cards, texts, out, topic, sources)
    if problems:
        raise ImportConflict("\n".join(str(problem) for problem in problems))
    targets = [card_path(out, topic, card) for card in cards]
    existing = [path for path in (*targets, *(out / MEDIA_FOLDER / name for name in media))
                if path.exists()]
    if existing and not force:
        shown = ", ".join(str(path) for path in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ImportConflict(f"would overwrite {shown}{more}; use --force")
    _refuse_taken_ids(cards, out, set(targets))
    for text, target in zip(texts, targets, strict=True):
        staged.add_text(target, text)


def _round_trip_problems(cards: list[Card], texts: list[str], out: Path, topic: str,
                         sources: list[tuple[Path, int]]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for card, text, (source, line) in zip(cards, texts, sources, strict=True):
        path = card_path(out, topic, card)
        parsed, found = parse_card(path, text, (topic,))
        problems.extend(Problem(source, line, f"{problem.message} (in the card file "
                                f"{path.name})", problem.hint) for problem in found)
        if parsed is not None and parsed.to_dict() != card.to_dict():
            problems.append(Problem(source, line, "the card would not read back as imported",
                                    "report this input as a razbor bug"))
        if card.id in seen:
            problems.append(Problem(source, line, f"card id '{card.id}' is also the id of "
                                    f"the card from {seen[card.id]}", "give each its own id"))
        seen.setdefault(card.id, f"{source}:{line}")
    return problems


def _refuse_taken_ids(cards: list[Card], out: Path, targets: set[Path]) -> None:
    if not out.is_dir():
        return
    present, _ = check_deck(out)
    owners = {other.id: other.source for other in present if Path(other.source) not in targets}
    clashes = [f"'{card.id}' ({owners[card.id]})" for card in cards if card.id in owners]
    if clashes:
        raise ImportConflict(f"card ids already used in {out}: {', '.join(clashes[:5])} "
                             "(fix: import into another folder, or remove those cards)")
