"""Metric claims: ROC-AUC as a ranking probability, PR-AUC under imbalance, calibration."""

from __future__ import annotations

import numpy as np

from razbor.labs import Claim, check, lab


def roc_auc_trapezoid(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by sweeping the threshold over every distinct score."""
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    tpr = np.r_[0, np.cumsum(labels)[distinct] / labels.sum()]
    fpr = np.r_[0, np.cumsum(1 - labels)[distinct] / (1 - labels).sum()]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_auc_pairs(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(random positive scores above random negative), ties counting one half (Mann-Whitney).

    Counts, for every positive, the negatives below it and tied with it in the sorted negatives:
    one sort instead of ranking everything, so a million negatives take milliseconds.
    """
    negatives = np.sort(scores[labels == 0])
    positives = scores[labels == 1]
    below = np.searchsorted(negatives, positives, side="left")
    below_or_tied = np.searchsorted(negatives, positives, side="right")
    return float((below + below_or_tied).sum() / 2 / (positives.size * negatives.size))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Step-wise sum of (R_k - R_{k-1}) P_k over thresholds, as on the card.

    Tied scores form one threshold, so the order among ties cannot change the result and the
    sort need not be stable (a stable sort of a million scores takes ten times longer).
    """
    order = np.argsort(-scores)
    labels, scores = labels[order], scores[order]
    last_of_each_score = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    hits = np.cumsum(labels)[last_of_each_score]
    precision = hits / (last_of_each_score + 1)
    recall_gained = np.diff(np.r_[0, hits]) / labels.sum()
    return float(np.sum(recall_gained * precision))


@lab("roc-auc", "ROC-AUC: area equals ranking probability; monotone invariance; binarisation")
def roc_auc(rng: np.random.Generator) -> list[Claim]:
    labels = (rng.random(2000) < 0.3).astype(int)
    scores = np.round(rng.normal(loc=labels * 1.2, scale=1.0), 1)  # rounding makes ties
    area, pairs = roc_auc_trapezoid(labels, scores), roc_auc_pairs(labels, scores)
    transformed = roc_auc_pairs(labels, 1 / (1 + np.exp(-3 * scores)) ** 5)
    hard = (scores > 0.6).astype(int)
    tpr = hard[labels == 1].mean()
    fpr = hard[labels == 0].mean()
    binarised = roc_auc_trapezoid(labels, hard.astype(float))
    return [
        check("The area under the ROC curve equals the pairwise ranking probability",
              abs(area - pairs) < 1e-9, f"trapezoid {area:.6f}, pairs with ties {pairs:.6f}"),
        check("A monotone transform of the scores leaves ROC-AUC unchanged",
              abs(transformed - pairs) < 1e-9, f"after sigmoid^5: {transformed:.6f}"),
        check("Binarised predictions collapse ROC-AUC to (TPR + 1 - FPR) / 2",
              abs(binarised - (tpr + 1 - fpr) / 2) < 1e-9,
              f"hard labels give {binarised:.4f} instead of {pairs:.4f}"),
        check("Binarising loses ranking information: AUC drops", binarised < pairs - 0.03,
              f"{pairs:.4f} -> {binarised:.4f}"),
    ]


@lab("pr-auc-imbalance", "Rare positives: ROC-AUC stays high while precision collapses")
def pr_auc_imbalance(rng: np.random.Generator) -> list[Claim]:
    """The rare set is the balanced one plus 999 times as many negatives from the same scorer.

    Sharing the balanced samples cancels their sampling noise from the comparison: what is left
    is the effect of the class ratio plus the noise of 1,000 negatives (standard error about
    0.0045), so "barely moves" can be held to 0.02. Independent samples with the card's 100
    positives would differ by noise of standard deviation 0.014 and fail that check one time in
    seven.
    """
    positives, ratio = 1000, 1000
    positive_scores = rng.normal(loc=2.0, scale=1.0, size=positives)
    negative_scores = rng.normal(loc=0.0, scale=1.0, size=positives * ratio)
    balanced = _scored(positive_scores, negative_scores[:positives])
    rare = _scored(positive_scores, negative_scores)
    roc_balanced, roc_rare = roc_auc_pairs(*balanced), roc_auc_pairs(*rare)
    ap_balanced, ap_rare = average_precision(*balanced), average_precision(*rare)
    return [
        check("ROC-AUC barely moves when negatives become 1000x more common",
              abs(roc_balanced - roc_rare) < 0.02, f"{roc_balanced:.3f} vs {roc_rare:.3f}"),
        check("Average precision (PR-AUC) collapses for the rare class",
              ap_rare < ap_balanced / 3, f"{ap_balanced:.3f} vs {ap_rare:.3f}"),
    ]


def _scored(positive_scores: np.ndarray, negative_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.r_[np.ones(positive_scores.size, int), np.zeros(negative_scores.size, int)]
    return labels, np.r_[positive_scores, negative_scores]


@lab("calibration", "Calibration is not ranking: temperature changes log loss, not AUC")
def calibration(rng: np.random.Generator) -> list[Claim]:
    logits = rng.normal(size=5000) * 2
    labels = (rng.random(5000) < 1 / (1 + np.exp(-logits))).astype(int)

    def log_loss(probabilities: np.ndarray) -> float:
        probabilities = np.clip(probabilities, 1e-12, 1 - 1e-12)
        return float(-np.mean(labels * np.log(probabilities)
                              + (1 - labels) * np.log(1 - probabilities)))

    calibrated = 1 / (1 + np.exp(-logits))
    overconfident = 1 / (1 + np.exp(-logits * 4))
    return [
        check("An over-confident model has exactly the same ROC-AUC",
              abs(roc_auc_pairs(labels, calibrated) - roc_auc_pairs(labels, overconfident)) < 1e-12,
              f"AUC {roc_auc_pairs(labels, calibrated):.4f} both"),
        check("...but a much worse log loss", log_loss(overconfident) > log_loss(calibrated) + 0.1,
              f"log loss {log_loss(calibrated):.3f} vs {log_loss(overconfident):.3f}"),
    ]
