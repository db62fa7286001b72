"""The experiment labs can fail: each check rejects a deliberately wrong formula, claim or procedure."""

import numpy as np

from razbor.labs.experiments import (
    Z_SUM_SQUARED,
    benjamini_hochberg,
    card_example_claims,
    fdr_claim,
    formula_power_claim,
    normal_sample_size,
    student_false_positive_claim,
    unbiased_claim,
    variance_reduction_claim,
)

SEEDS = range(3)


def step_down_benjamini_hochberg(p_values: np.ndarray, q: float) -> np.ndarray:
    """The card's named mistake: stop at the first p-value above its threshold k q / m."""
    p_values = np.atleast_2d(p_values)
    m = p_values.shape[1]
    ordered = np.sort(p_values, axis=1)
    passing = ordered <= q * np.arange(1, m + 1) / m
    count = np.argmin(np.column_stack([passing, np.zeros(len(passing), bool)]), axis=1)
    cutoff = np.take_along_axis(ordered, np.maximum(count - 1, 0)[:, None], axis=1)
    return (p_values <= cutoff) & (count[:, None] > 0)


def test_power_simulation_fails_for_a_formula_without_the_factor_two():
    def one_arm_formula(sigma: float, delta: float) -> float:
        return Z_SUM_SQUARED * sigma ** 2 / delta ** 2  # sizes as if only one mean were uncertain

    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        assert formula_power_claim(normal_sample_size, rng).passed
        wrong = formula_power_claim(one_arm_formula, rng)
        assert not wrong.passed and "n = 32 per arm" in wrong.detail


def test_cuped_fails_for_a_variance_factor_of_one_minus_rho_or_a_post_treatment_covariate():
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        assert variance_reduction_claim(lambda rho: 1 - rho ** 2, rng).passed
        assert not variance_reduction_claim(lambda rho: 1 - rho, rng).passed
        assert not variance_reduction_claim(lambda rho: 2 * (1 - rho), rng).passed  # theta = 1, as DiD
        assert unbiased_claim(rng).passed
        assert not unbiased_claim(rng, covariate_effect=1.0).passed


def test_benjamini_hochberg_fails_for_a_step_down_or_uncorrected_procedure():
    assert all(claim.passed for claim in card_example_claims(benjamini_hochberg))
    step_up, *_ = card_example_claims(step_down_benjamini_hochberg)
    assert not step_up.passed and "[0.001, 0.008, 0.012]" in step_up.detail
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        assert fdr_claim(benjamini_hochberg, rng).passed
        assert not fdr_claim(lambda p_values, q: p_values <= q, rng).passed


def test_welch_vs_student_fails_if_students_test_were_claimed_to_hold_five_percent():
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        assert student_false_positive_claim(0.29, rng).passed
        assert not student_false_positive_claim(0.05, rng).passed
        assert not student_false_positive_claim(0.25, rng).passed
