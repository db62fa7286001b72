"""Grader quality and latency: `python bench/grading.py [FILE.jsonl ...]`.

Scores the built-in grader on the project's labelled attempts (and on any files given, such as
../shared/eval/attempts-dev.jsonl), then times grading on one core for attempts of growing
length, as a ratio to the 50 ms p50 target.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from razbor.decks import load_deck
from razbor.grading import RuleGrader
from razbor.grading.evaluate import evaluate, load_labelled

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TARGET_P50_MS = 50.0
TARGET_P99_MS = 250.0


def quality(files: list[Path]) -> None:
    deck, grader = load_deck(), RuleGrader()
    print(f"{'file':34}{'lang':>6}{'n':>4}{'macroF1':>9}{'microF1':>9}{'mistP':>7}{'mistR':>7}")
    for path in files:
        report = evaluate(load_labelled(path, deck), deck, grader.grade)
        slices = [("all", report), *report["by_lang"].items()]
        for lang, part in slices:
            figures = (part["keypoint_macro_f1"], part["keypoint_micro_f1"],
                       part["mistake_precision"], part["mistake_recall"])
            shown = "".join(f"{'n/a' if f is None else f'{f:.2f}':>9}" for f in figures[:2])
            shown += "".join(f"{'n/a' if f is None else f'{f:.2f}':>7}" for f in figures[2:])
            print(f"{path.name:34}{lang:>6}{part['attempts']:>4}{shown}")


def latency() -> None:
    deck, grader = load_deck(), RuleGrader()
    card = deck.get("batchnorm")
    unit = ("На обучении BatchNorm считает mean и variance по batch для каждого channel, "
            "вычитаем среднее и делим на sqrt(var + eps), потом gamma и beta обучаются. ")
    print(f"\n{'attempt chars':>14}{'p50 ms':>9}{'p99 ms':>9}{'p50/target':>12}{'p99/target':>12}")
    for repeat in (1, 5, 25, 130):
        text = unit * repeat
        samples = []
        for number in range(60):
            grader_text = text + f" {number}"
            start = time.perf_counter()
            grader.grade(card, grader_text)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        p50, p99 = statistics.median(samples), samples[int(0.99 * len(samples)) - 1]
        print(f"{len(text):>14}{p50:9.2f}{p99:9.2f}{p50 / TARGET_P50_MS:12.3f}"
              f"{p99 / TARGET_P99_MS:12.3f}")


if __name__ == "__main__":
    extra = [Path(name) for name in sys.argv[1:]]
    quality(sorted(DATA.glob("attempts-*.jsonl")) + extra)
    latency()
