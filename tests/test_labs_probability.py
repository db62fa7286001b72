"""The probability labs can fail: each check rejects a deliberately wrong claim."""

import math

import numpy as np

from razbor.labs.probability import (
    bayes_precision,
    coupon_claims,
    coupon_collector_expectation,
    coverage_claims,
    naive_log_sum_exp,
    naive_softmax,
    pareto_samples,
    precision_claims,
    shifted_log_sum_exp,
    shifted_softmax,
    stable_claim,
)


def test_bayes_base_rate_fails_for_base_rate_neglect():
    rng = np.random.default_rng(0)
    assert all(claim.passed for claim in precision_claims(bayes_precision, rng))
    neglect = precision_claims(lambda prevalence, sensitivity, fpr: sensitivity, rng)  # "90% sure"
    assert not any(claim.passed for claim in neglect)


def test_clt_heavy_tails_fails_when_tails_are_light_or_the_mean_is_wrong():
    rng = np.random.default_rng(0)
    light = rng.normal(loc=5.0, scale=2.0, size=(2000, 100))
    heavy = pareto_samples(rng, (2000, 100))
    assert all(claim.passed for claim in coverage_claims(light, 5.0, heavy, 3.0))
    also_light = rng.normal(loc=5.0, scale=2.0, size=(2000, 100))
    light_claim, heavy_claim = coverage_claims(light, 5.0, also_light, 5.0)
    assert light_claim.passed and not heavy_claim.passed  # light tails do not undercover
    light_claim, _ = coverage_claims(light, 5.2, heavy, 3.0)
    assert not light_claim.passed  # the check notices an interval aimed at the wrong mean


def test_log_sum_exp_fails_for_the_naive_formula_and_for_a_shift_not_added_back():
    rng = np.random.default_rng(0)
    logits = rng.choice([-1, 1], size=(8, 1)) * 1000.0 + rng.normal(size=(8, 16))
    assert stable_claim(shifted_log_sum_exp, shifted_softmax, logits).passed
    assert not stable_claim(naive_log_sum_exp, naive_softmax, logits).passed

    def forgets_the_max(x: np.ndarray) -> np.ndarray:
        return np.log(np.exp(x - x.max(axis=-1, keepdims=True)).sum(axis=-1))

    assert not stable_claim(forgets_the_max, shifted_softmax, logits).passed


def test_coupon_collector_fails_for_n_log_n_and_for_hh_equal_to_ht():
    rng = np.random.default_rng(0)
    assert all(claim.passed for claim in coupon_claims(coupon_collector_expectation, 6, 4, rng))
    rolls, variance, hh, ht = coupon_claims(lambda n: n * math.log(n), 4, 4, rng)
    assert not rolls.passed and "10.8" in rolls.statement  # n ln n forgets the 0.577 n term
    assert variance.passed and not hh.passed and ht.passed
