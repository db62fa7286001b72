"""Experiment claims: bootstrap intervals, multiple comparisons, peeking at an A/B test."""

from __future__ import annotations

import numpy as np

from razbor.labs import Claim, check, lab


@lab("bootstrap-ci", "A 95% percentile bootstrap interval covers the true mean about 95% of the time")
def bootstrap_ci(rng: np.random.Generator) -> list[Claim]:
    covered = 0
    trials = 300
    for _ in range(trials):
        sample = rng.exponential(scale=2.0, size=80)
        means = rng.choice(sample, size=(500, sample.size)).mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        covered += low <= 2.0 <= high
    coverage = covered / trials
    return [check("Coverage is close to the nominal 95%", 0.88 <= coverage <= 0.99,
                  f"{coverage:.1%} of {trials} intervals contain the true mean 2.0")]


@lab("multiple-comparisons", "Twenty tests at 5%: false positives pile up; Bonferroni fixes it")
def multiple_comparisons(rng: np.random.Generator) -> list[Claim]:
    from scipy import stats

    experiments, metrics = 500, 20
    a = rng.normal(size=(experiments, metrics, 50))
    b = rng.normal(size=(experiments, metrics, 50))
    p = stats.ttest_ind(a, b, axis=2).pvalue
    any_naive = float(np.mean((p < 0.05).any(axis=1)))
    any_bonferroni = float(np.mean((p < 0.05 / metrics).any(axis=1)))
    return [
        check("With 20 null metrics most experiments find 'something'",
              abs(any_naive - (1 - 0.95 ** 20)) < 0.07,
              f"family-wise error {any_naive:.1%} (theory {1 - 0.95 ** 20:.1%})"),
        check("Bonferroni keeps the family-wise error near 5%", any_bonferroni <= 0.08,
              f"{any_bonferroni:.1%}"),
    ]


@lab("ab-peeking", "Stopping an A/B test at the first significant peek inflates false positives")
def ab_peeking(rng: np.random.Generator) -> list[Claim]:
    experiments, looks, per_look = 1000, 20, 50
    a = rng.normal(size=(experiments, looks * per_look))
    b = rng.normal(size=(experiments, looks * per_look))
    stopped = np.zeros(experiments, bool)
    for look in range(1, looks + 1):
        n = look * per_look
        diff = a[:, :n].mean(1) - b[:, :n].mean(1)
        z = diff / np.sqrt(a[:, :n].var(1, ddof=1) / n + b[:, :n].var(1, ddof=1) / n)
        stopped |= np.abs(z) > 1.96
    final_n = looks * per_look
    diff = a.mean(1) - b.mean(1)
    z = diff / np.sqrt(a.var(1, ddof=1) / final_n + b.var(1, ddof=1) / final_n)
    fixed = float(np.mean(np.abs(z) > 1.96))
    return [check("Peeking 20 times more than triples the 5% false-positive rate",
                  np.mean(stopped) > 3 * 0.05 and fixed < 0.08,
                  f"with peeking {np.mean(stopped):.1%}, fixed horizon {fixed:.1%}")]
