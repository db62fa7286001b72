"""Deck problems as values with a place, so every error names its file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from razbor.cards import Card


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a deck: where, what, and how to fix it."""

    path: Path
    line: int
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.severity}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class DeckError(Exception):
    """A deck could not be loaded; nothing from it was used."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def rubric_problems(card: Card, path: Path) -> list[Problem]:
    """Warnings about a card's rubric.

    A card with no rubric at all (a note imported from Anki or a spreadsheet, a quick card) is
    graded against the sentences of its short answer by design, so it is no problem; it is one
    only when that answer has no sentence to grade against. A rubric that lists mistakes but
    no key point is a rubric begun and left broken, and is warned about.
    """
    if card.rubric.key_points:
        return []
    if card.rubric.mistakes:
        return [Problem(path, 1, "the rubric lists mistakes but no key points",
                        "add 'key_points:' under 'rubric:' so attempts are graded against them",
                        severity="warning")]
    if not card.gradable_rubric.key_points:
        return [Problem(path, 1, "the card has no rubric and its short answer has no sentence "
                        "of three words or more to grade an attempt against",
                        "add 'rubric: key_points:' or write the short answer as sentences",
                        severity="warning")]
    return []


def graded_by_short_answer(cards: Iterable[Card]) -> list[Card]:
    """The cards without a rubric whose attempts are graded against their short answer."""
    return [card for card in cards if not card.rubric.key_points and not card.rubric.mistakes
            and card.gradable_rubric.key_points]
