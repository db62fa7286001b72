"""The LLM labs can fail: each claim rejects the wrong formula an interview answer might give."""

import numpy as np

from razbor.labs.llm import (
    AttentionShape,
    cache_bytes_claim,
    expected_tokens_claim,
    kv_cache_formula,
    six_nd_claim,
    token_normalisation_claim,
)


def test_kv_cache_size_fails_when_the_formula_uses_query_heads():
    def with_query_heads(shape: AttentionShape, length: int, batch: int, element_bytes: int) -> int:
        return kv_cache_formula(AttentionShape(shape.layers, shape.query_heads, shape.query_heads,
                                               shape.head_size), length, batch, element_bytes)

    assert cache_bytes_claim(kv_cache_formula, np.random.default_rng(0)).passed
    assert not cache_bytes_claim(with_query_heads, np.random.default_rng(0)).passed


def test_training_flops_fails_for_forward_only_2nd():
    assert six_nd_claim(lambda n, d: 6 * n * d, np.random.default_rng(0)).passed
    assert not six_nd_claim(lambda n, d: 2 * n * d, np.random.default_rng(0)).passed


def test_speculative_speedup_fails_for_gamma_times_alpha():
    def geometric(alpha: float, gamma: int) -> float:
        return (1 - alpha ** (gamma + 1)) / (1 - alpha)

    assert expected_tokens_claim(geometric, np.random.default_rng(0)).passed
    assert not expected_tokens_claim(lambda alpha, gamma: gamma * alpha, np.random.default_rng(0)).passed
    # Forgetting the bonus token after a fully accepted draft is caught too.
    assert not expected_tokens_claim(lambda alpha, gamma: geometric(alpha, gamma) - alpha ** gamma,
                                     np.random.default_rng(0)).passed


def test_grad_accum_fails_for_the_mean_of_micro_batch_means():
    assert token_normalisation_claim(lambda n, total, k: 1 / total, np.random.default_rng(0)).passed
    assert not token_normalisation_claim(lambda n, total, k: 1 / (k * n), np.random.default_rng(0)).passed
