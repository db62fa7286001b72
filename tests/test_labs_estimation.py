"""The estimation labs can fail: each check rejects a deliberately wrong formula or algorithm."""

import numpy as np

from razbor.labs.estimation import (
    CARD_MOMENTS,
    ObservationalStudy,
    algorithm_r,
    ap_baseline_claim,
    ate_recovery_claim,
    confounded_study,
    delta_method_variance,
    expected_random_ap,
    horvitz_thompson_ate,
    inclusion_claim,
    random_ranking_metrics,
    simulate_ctr_experiments,
    simulate_users,
    subset_claim,
    variance_formula_claim,
)
from razbor.labs.metrics import average_precision, roc_auc_pairs


def test_rank_based_ap_and_auc_agree_with_the_score_based_implementations():
    ap, auc = random_ranking_metrics(np.random.default_rng(1), 200, 7, 1)
    # The same ranking as scores: replay the generator and rebuild the labels from the ranks.
    keys = np.random.default_rng(1).random((1, 200))
    labels = np.zeros(200, int)
    labels[np.argpartition(keys, 7, axis=1)[0, :7]] = 1
    scores = -np.arange(200.0)  # rank 1 scores highest
    assert np.isclose(ap[0], average_precision(labels, scores))
    assert np.isclose(auc[0], roc_auc_pairs(labels, scores))


def test_ap_baseline_fails_for_ap_equal_to_the_prevalence_or_to_one_half():
    assert ap_baseline_claim(expected_random_ap, np.random.default_rng(0)).passed
    # Exactly P/N is the large-sample limit; with 10 positives in 1,000 the mean is 0.0164, not 0.01.
    assert not ap_baseline_claim(lambda items, positives: positives / items, np.random.default_rng(0)).passed
    assert not ap_baseline_claim(lambda items, positives: 0.5, np.random.default_rng(0)).passed


def test_simulated_users_have_the_cards_moments():
    clicks, impressions = simulate_users(np.random.default_rng(0), CARD_MOMENTS, (1, 400_000))
    assert abs(clicks.mean() - 1.0) < 0.02 and abs(impressions.mean() - 20) < 0.2
    assert abs(clicks.std() - 1.8) < 0.05 and abs(impressions.std() - 15) < 0.3
    assert abs(np.corrcoef(clicks[0], impressions[0])[0, 1] - 0.5) < 0.02


def test_delta_method_check_fails_for_the_binomial_formula_or_a_forgotten_covariance():
    experiments = simulate_ctr_experiments(np.random.default_rng(0))
    assert variance_formula_claim(delta_method_variance, experiments).passed

    def binomial(mean_x, mean_y, var_x, var_y, cov_xy, users):
        ratio = mean_x / mean_y
        return ratio * (1 - ratio) / (users * mean_y)

    def without_covariance(mean_x, mean_y, var_x, var_y, cov_xy, users):
        return delta_method_variance(mean_x, mean_y, var_x, var_y, 0.0, users)

    assert not variance_formula_claim(binomial, experiments).passed
    assert not variance_formula_claim(without_covariance, experiments).passed


def test_ipw_check_fails_for_the_naive_difference_or_wrong_control_weights():
    study: ObservationalStudy = confounded_study(np.random.default_rng(0), overlap_slope=1.0)
    assert ate_recovery_claim(horvitz_thompson_ate, study).passed

    def unweighted(treated, outcome, propensity):
        return horvitz_thompson_ate(treated, outcome, np.full_like(propensity, treated.mean()))

    def controls_weighted_by_one_over_e(treated, outcome, propensity):
        return (treated * outcome / propensity - ~treated * outcome / propensity).mean(axis=1)

    assert not ate_recovery_claim(unweighted, study).passed
    assert not ate_recovery_claim(controls_weighted_by_one_over_e, study).passed


def off_by_one(rng, stream_length, k, runs):
    """The card's bug: randint(0, i + 1) draws from i + 2 values, so item i enters too rarely."""
    reservoir = np.tile(np.arange(k), (runs, 1))
    for index in range(k, stream_length):
        slot = rng.integers(0, index + 2, size=runs)
        accepted = slot < k
        reservoir[accepted, slot[accepted]] = index
    return reservoir


def evict_oldest(rng, stream_length, k, runs):
    """Accepts with the right probability k/i but replaces the oldest item (FIFO)."""
    reservoir = np.tile(np.arange(k), (runs, 1))
    for index in range(k, stream_length):
        accepted = rng.integers(0, index + 1, size=runs) < k
        reservoir[accepted] = np.c_[reservoir[accepted, 1:], np.full(accepted.sum(), index)]
    return reservoir


def consecutive_window(rng, stream_length, k, runs):
    """Every item is kept with probability exactly k/n, yet only n of the C(n, k) subsets occur."""
    start = rng.integers(0, stream_length, size=runs)
    return (start[:, None] + np.arange(k)) % stream_length


def test_reservoir_checks_fail_for_biased_samplers():
    assert inclusion_claim(algorithm_r, np.random.default_rng(0)).passed
    assert subset_claim(algorithm_r, np.random.default_rng(0)).passed
    assert not inclusion_claim(off_by_one, np.random.default_rng(0)).passed
    assert not inclusion_claim(evict_oldest, np.random.default_rng(0)).passed
    # Right inclusion probabilities, wrong joint distribution: only the subset test catches it.
    assert inclusion_claim(consecutive_window, np.random.default_rng(0)).passed
    assert not subset_claim(consecutive_window, np.random.default_rng(0)).passed
