"""The original trainer's page as plain text: turn it into cards, leaving its UI chrome behind.

A card on the page starts with its title written twice (page heading, then card heading),
followed by the attempt instruction, the "show analysis" button label and four titled sections.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from razbor.cards import DEFAULT_INSTRUCTION, Card, KeyPoint, Mistake, Rubric
from razbor.decks.problems import DeckError, Problem

SECTION_TITLES = {
    "Короткий ответ": "short_answer",
    "Подробный разбор": "analysis",
    "Типичные ошибки": "mistakes",
    "Как сказать на собеседовании": "interview",
}
LIST_SECTIONS = {"mistakes", "interview"}
LOCK_NOTICE = "Откройте разбор только после своей попытки."
REVEAL_BUTTON = "Показать разбор"
TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))


def slugify(title: str) -> str:
    """A latin slug for a title in any mix of Russian and English."""
    latin = "".join(TRANSLIT.get(char, char) for char in title.casefold())
    return re.sub(r"[^a-z0-9]+", "-", latin).strip("-")[:60].rstrip("-") or "card"


def detect_language(text: str) -> str:
    """'ru' when most letters are Cyrillic, else 'en'."""
    cyrillic = len(re.findall(r"[а-яё]", text, re.IGNORECASE))
    latin = len(re.findall(r"[a-z]", text, re.IGNORECASE))
    return "ru" if cyrillic > latin else "en"


def _card_starts(lines: list[str]) -> list[int]:
    """Indexes where a card begins: a non-section line immediately repeated."""
    return [
        index for index in range(len(lines) - 1)
        if lines[index] and lines[index] == lines[index + 1] and lines[index] not in SECTION_TITLES
        and (index == 0 or lines[index - 1] != lines[index])
    ]


def parse_page(path: Path, text: str) -> list[Card]:
    """Every card on the page, with empty rubrics; raises DeckError naming the line at fault."""
    lines = [line.strip() for line in text.splitlines()]
    starts = _card_starts(lines)
    if not starts:
        raise DeckError([Problem(path, 1, "no card found on the page",
                                 "each card starts with its title on two consecutive lines")])
    cards, problems = [], []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        card, found = _parse_block(path, lines, start, end)
        problems.extend(found)
        if card is not None:
            cards.append(card)
    if problems:
        raise DeckError(problems)
    return cards


def _parse_block(path: Path, lines: list[str], start: int, end: int) -> tuple[Card | None, list]:
    title = lines[start]
    instruction: list[str] = []
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[start + 2:end]:
        if line in SECTION_TITLES:
            current = SECTION_TITLES[line]
            sections[current] = []
        elif current is not None:
            if line:
                sections[current].append(line)
        elif line and line not in (LOCK_NOTICE, REVEAL_BUTTON):
            instruction.append(line)
    problems = [
        Problem(path, start + 1, f"card '{title}' has no section '{heading}'",
                f"add the line '{heading}' followed by its text")
        for heading, name in SECTION_TITLES.items() if not sections.get(name)
    ]
    if problems:
        return None, problems
    body = {name: _as_markdown(name, sections[name]) for name in SECTION_TITLES.values()}
    return Card(
        id=slugify(title), title=title,
        lang=detect_language(body["short_answer"] + body["analysis"]),
        topics=("general",), difficulty=3,
        instruction=" ".join(instruction) or DEFAULT_INSTRUCTION, **body,
    ), []


def _as_markdown(name: str, lines: list[str]) -> str:
    if name in LIST_SECTIONS:
        return "\n".join(line if line.startswith("- ") else f"- {line}" for line in lines)
    return "\n\n".join(lines)


def attach_rubrics(cards: list[Card], rubric_text: str, topic: str) -> list[Card]:
    """Give cards the ids and rubrics of a rubric file (matched by Russian title)."""
    document = yaml.safe_load(rubric_text) or {}
    by_title = {entry["title_ru"]: entry for entry in document.get("cards", [])}
    attached = []
    for card in cards:
        entry = by_title.get(card.title)
        rubric = card.rubric
        card_id = card.id
        if entry:
            card_id = entry["id"]
            rubric = Rubric(
                key_points=tuple(KeyPoint(p["id"], p["text"]) for p in entry.get("key_points", [])),
                mistakes=tuple(Mistake(m["id"], m["text"]) for m in entry.get("mistakes", [])),
            )
        attached.append(Card(**{**card.__dict__, "id": card_id, "rubric": rubric,
                                "topics": (topic,)}))
    return attached
