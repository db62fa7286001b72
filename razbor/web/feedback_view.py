"""Feedback arranged for a page: the checklist beside the card's statements, evidence marked."""

from __future__ import annotations

from dataclasses import dataclass

from razbor.cards import Card
from razbor.grading import Feedback


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool


@dataclass(frozen=True)
class Line:
    id: str
    statement: str
    hit: bool
    quotes: tuple[str, ...]


@dataclass(frozen=True)
class FeedbackView:
    points: tuple[Line, ...]
    mistakes: tuple[Line, ...]
    segments: tuple[Segment, ...]
    suggested_rating: int
    notice: str

    @property
    def covered(self) -> int:
        return sum(line.hit for line in self.points)


def segments(text: str, spans: list[tuple[int, int]]) -> tuple[Segment, ...]:
    """The text cut into plain and marked runs; overlapping spans merge. Escaping is Jinja's."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif start < end:
            merged.append([start, end])
    found, cursor = [], 0
    for start, end in merged:
        if start > cursor:
            found.append(Segment(text[cursor:start], False))
        found.append(Segment(text[start:end], True))
        cursor = end
    if cursor < len(text):
        found.append(Segment(text[cursor:], False))
    return tuple(found)


def feedback_view(card: Card, text: str, feedback: Feedback | None) -> FeedbackView | None:
    if feedback is None:
        return None
    statements = {item.id: item.text for item in (*card.gradable_rubric.key_points,
                                                  *card.gradable_rubric.mistakes)}

    def quotes(evidence) -> tuple[str, ...]:
        return tuple(text[start:end] for start, end in evidence)

    points = tuple(Line(p.id, statements.get(p.id, p.id), p.covered, quotes(p.evidence))
                   for p in feedback.key_points)
    mistakes = tuple(Line(m.id, statements.get(m.id, m.id), m.asserted, quotes(m.evidence))
                     for m in feedback.mistakes if m.asserted)
    spans = [span for p in feedback.key_points if p.covered for span in p.evidence]
    return FeedbackView(points, mistakes, segments(text, spans), feedback.suggested_rating,
                        feedback.notice)
