"""Grading against a reference answer alone, on public short-answer grading benchmarks.

`python bench/asag.py [--data FOLDER] [--limit N]` reads SemEval-2013 Task 7 (2-way) and
Mohler et al. (2011) from the folder given (default ../shared/benchmarks/asag beside the
checkout; the data is not part of razbor). Each question becomes a card with no rubric whose
short answer is the reference answer, which is how razbor grades a user's quick card or an
imported note: the reference's sentences are implicit key points.

Reported: SemEval accuracy and macro-F1 on the unseen-answers and unseen-questions test sets,
first with razbor's shipped threshold (an answer is correct when it covers a key point), then
with one threshold fitted on the train split (as the zero-shot anchor 0.67-0.73 macro-F1 was);
Mohler Pearson r between razbor's coverage score and the mean human score (best published
r = 0.59).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from razbor.cards import Card
from razbor.grading import SemanticGrader

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "asag"


def reference_card(question_id: str, question: str, reference: str) -> Card:
    return Card(id=question_id, title=question, lang="en", topics=("asag",), difficulty=1,
                short_answer=reference, analysis="", mistakes="", interview="")


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for label in (True, False):
        tp = np.sum((predicted == label) & (gold == label))
        fp = np.sum((predicted == label) & (gold != label))
        fn = np.sum((predicted != label) & (gold == label))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def semeval(path: Path, grader: SemanticGrader, limit: int) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups["train" if row["split"] == "train" else row["test_set"]].append(row)
    scored = {name: _score_rows(group[:limit] if limit else group, grader)
              for name, group in groups.items()
              if name in ("train", "test-unseen-answers", "test-unseen-questions")}
    train_gold, train_score, _ = scored["train"]
    fitted = max(np.unique(train_score),
                 key=lambda t: macro_f1(train_gold, train_score >= t))
    print(f"SemEval-2013 2-way (threshold fitted on train: {fitted:.3f})")
    print(f"{'test set':24}{'n':>6}{'acc':>8}{'macroF1':>9}{'acc fit':>9}{'F1 fit':>8}")
    for name in ("test-unseen-answers", "test-unseen-questions"):
        gold, score, shipped = scored[name]
        fit = score >= fitted
        print(f"{name:24}{len(gold):>6}{np.mean(shipped == gold):8.3f}"
              f"{macro_f1(gold, shipped):9.3f}{np.mean(fit == gold):9.3f}{macro_f1(gold, fit):8.3f}")


def _score_rows(rows: list[dict], grader: SemanticGrader):
    """Gold labels, coverage scores and the shipped decision (any key point covered)."""
    gold, score, shipped = [], [], []
    for row in rows:
        card = reference_card(row["question_id"], row["question"], row["reference_answer"])
        feedback = grader.grade(card, row["student_answer"])
        gold.append(row["label_2way"] == "correct")
        score.append(max(grader.coverage(card, row["student_answer"]), default=0.0))
        shipped.append(bool(feedback.covered_ids()))
    return np.array(gold), np.array(score), np.array(shipped)


def mohler(path: Path, grader: SemanticGrader, limit: int) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))[: limit or None]
    human, ours = [], []
    for row in rows:
        card = reference_card(row["id"], row["question"], row["desired_answer"])
        coverage = grader.coverage(card, row["student_answer"])
        ours.append(float(np.mean(coverage)) if len(coverage) else 0.0)
        human.append(float(row["score_avg"]))
    r = float(np.corrcoef(human, ours)[0, 1])
    print(f"\nMohler et al. 2011: n={len(rows)}, Pearson r = {r:.3f} (best published 0.59)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="rows per split, for a quick run")
    arguments = parser.parse_args()
    if not arguments.data.is_dir():
        parser.exit(2, f"no benchmark data in {arguments.data} (pass --data FOLDER)\n")
    grader = SemanticGrader()
    semeval(arguments.data / "semeval2013_task7_2way.csv", grader, arguments.limit)
    mohler(arguments.data / "mohler.csv", grader, arguments.limit)


if __name__ == "__main__":
    main()
