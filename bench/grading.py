"""Grader quality and latency: `python bench/grading.py [--backend B] [--dev-only] [FILE ...]`.

Quality comes first on the held-out labelled attempts (tests/data/attempts-heldout-*.jsonl),
which no grader setting was fitted on, then on the development attempts it was fitted on
(a development figure, not a prediction). Each set is scored as shipped, with every `match`
hint removed but the statements' wordings kept ("wordings"), and with both removed ("no
hints": the statements alone, a card as a user writes it), split into the four seed cards and
the others, per language. Then grading latency on one core (run under `taskset -c 0`) for
attempts of growing length, as ratios to the 30 ms p50 and 150 ms p99 targets for a typical attempt, with the
CPU time beside them (the process's own, which other load on a shared machine moves little).
`--dev-only` scores only the development files (or the files given), never the held-out ones:
the mode to iterate in, so that the held-out figures stay unseen until a final run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from razbor.cards import Card, Deck
from razbor.decks import load_deck
from razbor.grading.backends import BACKENDS, GraderSettings, make_grader
from razbor.grading.evaluate import evaluate, load_labelled

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SEED_CARDS = {"batchnorm", "mixed-precision", "roc-auc", "dental-lesions-3d"}
TARGET_P50_MS = 30.0
TARGET_P99_MS = 150.0


def without_hints(card: Card, keep_wordings: bool = False) -> Card:
    """The card with its `match` patterns removed and, unless kept, its wordings: with
    neither, its statements alone, as a card a user writes."""
    rubric = card.rubric

    def bare(item):
        return replace(item, match=(), wordings=item.wordings if keep_wordings else ())

    return replace(card, rubric=replace(rubric, key_points=tuple(map(bare, rubric.key_points)),
                                        mistakes=tuple(map(bare, rubric.mistakes))))


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def quality(files: list[Path], grade) -> None:
    deck = load_deck()
    decks = {"hints": deck,
             "wordings": Deck(tuple(without_hints(card, keep_wordings=True) for card in deck)),
             "no hints": Deck(tuple(without_hints(card) for card in deck))}
    print(f"{'set':30}{'cards':>7}{'hints':>10}{'n':>5}{'macroF1':>9}{'en':>6}{'ru':>6}"
          f"{'mix':>6}{'mistP':>7}{'mistR':>7}")
    for path in files:
        for mode, chosen in decks.items():
            attempts = load_labelled(path, chosen)
            for part, wanted in (("seed", True), ("other", False)):
                picked = [a for a in attempts if (a.card in SEED_CARDS) == wanted]
                if not picked:
                    continue
                report = evaluate(picked, chosen, grade)
                langs = "".join(f"{_figure(report['by_lang'].get(lang, {}).get('keypoint_macro_f1')):>6}"
                                for lang in ("en", "ru", "mix"))
                print(f"{path.name:30}{part:>7}{mode:>10}{report['attempts']:>5}"
                      f"{_figure(report['keypoint_macro_f1']):>9}{langs}"
                      f"{_figure(report['mistake_precision']):>7}{_figure(report['mistake_recall']):>7}")


def latency(grade) -> None:
    card = load_deck().get("batchnorm")
    unit = ("На обучении BatchNorm считает mean и variance по batch для каждого channel, "
            "вычитаем среднее и делим на sqrt(var + eps), потом gamma и beta обучаются. ")
    grade(card, unit)
    print(f"\n{'attempt chars':>14}{'p50 ms':>9}{'p99 ms':>9}{'p50/target':>12}{'p99/target':>12}"
          f"{'CPU p50 ms':>12}")
    for repeat in (1, 3, 6, 25):
        text = unit * repeat
        samples, cpu = [], []
        for number in range(40):
            start, start_cpu = time.perf_counter(), time.process_time()
            grade(card, text + f" {number}")
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        samples.sort()
        p50, p99 = statistics.median(samples), samples[int(0.99 * len(samples)) - 1]
        print(f"{len(text):>14}{p50:9.2f}{p99:9.2f}{p50 / TARGET_P50_MS:12.3f}"
              f"{p99 / TARGET_P99_MS:12.3f}{statistics.median(cpu):12.2f}")


# Attempts at the length limit shaped to find work that grows faster than the text: one
# unpunctuated run, a run of separators before a doubt, doubts, negators, warnings, and one
# short sentence repeated. Each took from 10 s to days before it was made linear.
HOSTILE_SHAPES = {
    "one run of words": "слово " * 8000,
    "separators, then a doubt": "Мы считаем MinHash" + " " * 40_000 + "вот не уверен, что так",
    "doubt after doubt": "не уверен " * 4000,
    "negator after negator": "не " * 8000,
    "warning after warning": "ошибка думать что " * 2500,
    "a sentence repeated": "Батчнорм не считает. " * 2400,
}


def worst_cases(grade) -> None:
    card = load_deck().get("batchnorm")
    print(f"\n{'hostile attempt at the length limit':36}{'chars':>8}{'seconds':>9}")
    for shape, text in HOSTILE_SHAPES.items():
        start = time.perf_counter()
        grade(card, text)
        print(f"{shape:36}{len(text):>8}{time.perf_counter() - start:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="semantic")
    parser.add_argument("--dev-only", action="store_true",
                        help="skip the held-out files; with FILEs, score only those")
    parser.add_argument("files", nargs="*", type=Path)
    arguments = parser.parse_args()
    grade = make_grader(GraderSettings(arguments.backend)).grade
    held_out = sorted(DATA.glob("attempts-heldout-*.jsonl"))
    development = sorted(set(DATA.glob("attempts-*.jsonl")) - set(held_out))
    print(f"backend: {arguments.backend}")
    if not arguments.dev_only:
        print("\nHELD OUT (never tuned on)")
        quality(held_out, grade)
        development += arguments.files
    elif arguments.files:
        development = arguments.files
    print("\nDEVELOPMENT (tuned on: development figures)")
    quality(development, grade)
    latency(grade)
    worst_cases(grade)


if __name__ == "__main__":
    main()
