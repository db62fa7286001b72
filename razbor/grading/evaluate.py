"""Scoring a grader against labelled attempts: per label precision, recall and F1, by language.

Follows the labelling and metric rules of the public development set: each (attempt, label)
pair of the attempt's own card is one decision; undefined ratios are None, never 0 or 1.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from razbor.cards import Card, Deck
from razbor.grading.feedback import Feedback


class EvalError(ValueError):
    """A labelled file that cannot be scored: named line and reason."""


class NotLabelledFile(EvalError):
    """The file is not UTF-8 JSON Lines at all: the wrong file was given, not a wrong label."""


@dataclass(frozen=True)
class Labelled:
    id: str
    card: str
    lang: str
    text: str
    covered: frozenset[str]
    mistakes: frozenset[str]


def load_labelled(path: Path, deck: Deck) -> list[Labelled]:
    """Read a JSON Lines file of labelled attempts, checking every id against the deck.

    NotLabelledFile when the file is not UTF-8 JSON Lines at all; EvalError for a row that is
    JSON but not a valid labelled attempt.
    """
    fix = "(fix: pass a JSON Lines file of labelled attempts)"
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise NotLabelledFile(f"{path}: not UTF-8 text {fix}") from error
    attempts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise NotLabelledFile(f"{path}:{number}: not JSON ({error.msg}, column "
                                  f"{error.colno}) {fix}") from error
        try:
            card = deck.get(row["card"])
            if card is None:
                raise EvalError(f"{path}:{number}: unknown card {row['card']!r}")
            known = set(card.gradable_rubric.ids())
            labels = set(row.get("covered", [])) | set(row.get("mistakes", []))
            if labels - known:
                raise EvalError(f"{path}:{number}: ids {sorted(labels - known)} are not in the "
                                f"rubric of {card.id!r}")
            attempts.append(Labelled(row["id"], row["card"], row["lang"], row["text"],
                                     frozenset(row.get("covered", [])),
                                     frozenset(row.get("mistakes", []))))
        except (KeyError, TypeError) as error:
            raise EvalError(f"{path}:{number}: not a labelled attempt ({error})") from error
    return attempts


class Counts:
    def __init__(self):
        self.tp = self.fp = self.fn = 0

    def add(self, predicted: bool, gold: bool) -> None:
        self.tp += predicted and gold
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def f1(self) -> float | None:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else None

    def support(self) -> int:
        return self.tp + self.fn


def _slice_report(rows: list[tuple[Labelled, Feedback]], deck: Deck) -> dict:
    per_point: dict[str, Counts] = defaultdict(Counts)
    per_mistake: dict[str, Counts] = defaultdict(Counts)
    pooled_points, pooled_mistakes = Counts(), Counts()
    for gold, feedback in rows:
        card: Card = deck.get(gold.card)
        covered, asserted = set(feedback.covered_ids()), set(feedback.mistake_ids())
        for point in card.gradable_rubric.key_points:
            for counts in (per_point[point.id], pooled_points):
                counts.add(point.id in covered, point.id in gold.covered)
        for mistake in card.gradable_rubric.mistakes:
            for counts in (per_mistake[mistake.id], pooled_mistakes):
                counts.add(mistake.id in asserted, mistake.id in gold.mistakes)
    scored = [c.f1() for c in per_point.values() if c.tp + c.fp + c.fn]
    return {
        "attempts": len(rows),
        "keypoint_macro_f1": sum(scored) / len(scored) if scored else None,
        "keypoint_micro_f1": pooled_points.f1(),
        "mistake_precision": pooled_mistakes.precision(),
        "mistake_recall": pooled_mistakes.recall(),
        "mistake_f1": pooled_mistakes.f1(),
        "per_key_point": {k: _label_figures(c) for k, c in sorted(per_point.items())},
        "per_mistake": {k: _label_figures(c) for k, c in sorted(per_mistake.items())},
    }


def _label_figures(counts: Counts) -> dict:
    return {"precision": counts.precision(), "recall": counts.recall(), "f1": counts.f1(),
            "support": counts.support(), "tp": counts.tp, "fp": counts.fp, "fn": counts.fn}


def evaluate(attempts: Iterable[Labelled], deck: Deck,
             grade: Callable[[Card, str], Feedback]) -> dict:
    """Grade every attempt and report the figures overall, per language and per card."""
    rows, latencies, errors = [], [], []
    for attempt in attempts:
        card = deck.get(attempt.card)
        start = time.perf_counter()
        feedback = grade(card, attempt.text)
        latencies.append((time.perf_counter() - start) * 1000)
        rows.append((attempt, feedback))
        predicted, gold = set(feedback.covered_ids()), attempt.covered
        missed, extra = gold - predicted, predicted - gold
        wrong_m = set(feedback.mistake_ids()) ^ attempt.mistakes
        if missed or extra or wrong_m:
            errors.append({"id": attempt.id, "missed": sorted(missed), "extra": sorted(extra),
                           "mistakes_wrong": sorted(wrong_m)})
    report = _slice_report(rows, deck)
    ordered = sorted(latencies)
    report["latency_p50_ms"] = ordered[len(ordered) // 2] if ordered else None
    report["latency_p99_ms"] = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] \
        if ordered else None
    report["by_lang"] = {lang: _slice_report([r for r in rows if r[0].lang == lang], deck)
                         for lang in sorted({r[0].lang for r in rows})}
    report["by_card"] = {card: _slice_report([r for r in rows if r[0].card == card], deck)
                         for card in sorted({r[0].card for r in rows})}
    report["errors"] = errors
    return report
