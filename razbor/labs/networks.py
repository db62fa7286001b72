"""Deep-learning claims: attention cost, LoRA size, int8 quantisation error, dropout scaling."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from razbor.labs import Claim, check, lab


def softmax_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V, materialising the full n x n matrix of weights."""
    return _softmax(q @ k.T / np.sqrt(q.shape[1])) @ v


def _softmax(scores: np.ndarray) -> np.ndarray:
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


@dataclass
class ArithmeticTally:
    """Scalar operations performed, counted as they happen."""

    multiplications: int = 0
    additions: int = 0


class _CountedNumber:
    """A float that tallies the arithmetic it takes part in, so numpy's own matmul can be audited."""

    __slots__ = ("tally", "value")

    def __init__(self, value: float, tally: ArithmeticTally):
        self.value, self.tally = value, tally

    def __mul__(self, other: _CountedNumber) -> _CountedNumber:
        self.tally.multiplications += 1
        return _CountedNumber(self.value * other.value, self.tally)

    def __add__(self, other: _CountedNumber) -> _CountedNumber:
        self.tally.additions += 1
        return _CountedNumber(self.value + other.value, self.tally)


def counted_attention(length: int, dimension: int, rng: np.random.Generator) -> ArithmeticTally:
    """Multiplications and additions that attention's two matrix products actually perform.

    The products run on object arrays of counting numbers, so numpy itself does the work that is
    counted; the softmax in between is on plain floats because it costs O(n^2), not O(n^2 d).
    """
    tally = ArithmeticTally()
    counted = np.vectorize(lambda value: _CountedNumber(value, tally), otypes=[object])
    plain = np.vectorize(lambda number: number.value, otypes=[float])
    q, k, v = (counted(rng.normal(size=(length, dimension))) for _ in range(3))
    weights = _softmax(plain(q @ k.T) / np.sqrt(dimension))
    counted(weights) @ v
    return tally


def multiply_add_claim(formula: Callable[[int, int], int], rng: np.random.Generator) -> Claim:
    """Counted multiply-adds against a closed-form formula of sequence length n and head size d."""
    tallies = {size: counted_attention(*size, rng) for size in ((8, 4), (16, 4), (16, 8), (32, 8))}
    return check("Attention's two matrix products take 2 n^2 d multiply-adds, about 4 n^2 d FLOPs",
                 all(tally.multiplications == formula(*size) for size, tally in tallies.items()),
                 "counted (multiplications, additions) for (n, d) "
                 + ", ".join(f"{size}: ({tally.multiplications}, {tally.additions})"
                             for size, tally in tallies.items()))


def peak_bytes(compute: Callable[[], object]) -> int:
    """Memory allocated at the peak of compute(), as traced by tracemalloc.

    numpy reports its arrays to tracemalloc, so this measures what the code really allocates; in a
    server, what other threads allocate meanwhile counts too.
    """
    already_tracing = tracemalloc.is_tracing()
    if not already_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    try:
        compute()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        if not already_tracing:
            tracemalloc.stop()


def memory_growth_claim(attention: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                        rng: np.random.Generator) -> Claim:
    """Peak memory of an attention implementation as the sequence doubles from 512 to 2048.

    At these lengths the n x n matrices dwarf the arrays linear in n and the few kilobytes that
    another thread may allocate meanwhile, so the growth factor shows the n^2 term alone.
    """
    peaks = []
    for length in (512, 1024, 2048):
        q, k, v = (rng.normal(size=(length, 64)) for _ in range(3))
        peaks.append(peak_bytes(lambda q=q, k=k, v=v: attention(q, k, v)))
    growth = [larger / smaller for smaller, larger in pairwise(peaks)]
    return check("Doubling the sequence quadruples the attention's peak memory",
                 all(abs(factor - 4) < 0.2 for factor in growth),
                 "peak MiB " + ", ".join(f"{peak / 2 ** 20:.1f}" for peak in peaks)
                 + " for 512, 1024, 2048 tokens: x" + ", x".join(f"{f:.2f}" for f in growth))


@lab("attention-cost", "Self-attention memory grows quadratically with sequence length")
def attention_cost(rng: np.random.Generator) -> list[Claim]:
    fp16_matrix_at_8k = peak_bytes(lambda: np.empty((8192, 8192), np.float16)) / 2 ** 20
    return [
        multiply_add_claim(lambda length, dimension: 2 * length ** 2 * dimension, rng),
        memory_growth_claim(softmax_attention, rng),
        check("At 8k tokens one head's FP16 attention matrix alone takes 128 MiB",
              round(fp16_matrix_at_8k) == 128,
              f"{fp16_matrix_at_8k:.1f} MiB allocated for 8192 x 8192 FP16 (per head, per example)"),
    ]


@dataclass(frozen=True)
class LoraLayer:
    """A frozen d x k weight W plus a trainable low-rank update B A (B is d x r, A is r x k)."""

    weight: np.ndarray
    up: np.ndarray
    down: np.ndarray

    @classmethod
    def trained(cls, d: int, k: int, rank: int, rng: np.random.Generator) -> LoraLayer:
        """A layer whose adapter has moved away from B = 0, as it does after some training."""
        return cls(rng.normal(size=(d, k)) / np.sqrt(k), rng.normal(size=(d, rank)) * 0.01,
                   rng.normal(size=(rank, k)) * 0.01)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight.T + (x @ self.down.T) @ self.up.T

    def merged(self) -> np.ndarray:
        return self.weight + self.up @ self.down

    def trainable_parameters(self) -> int:
        return self.up.size + self.down.size


def parameter_count_claim(formula: Callable[[int, int, int], int], rng: np.random.Generator) -> Claim:
    """Entries of real adapters against a closed-form formula of d, k and r.

    One layer is not square, so a formula that mixes up d and k cannot pass by symmetry.
    """
    counted = {shape: LoraLayer.trained(*shape, rng).trainable_parameters()
               for shape in ((1024, 1024, 8), (512, 2048, 4))}
    return check("A LoRA adapter trains r(d + k) parameters",
                 all(count == formula(*shape) for shape, count in counted.items()),
                 ", ".join(f"(d, k, r) = {shape}: {count} counted, {formula(*shape)} by formula"
                           for shape, count in counted.items()))


@lab("lora-params", "LoRA trains r(d+k) parameters instead of d*k, and merges back exactly")
def lora_params(rng: np.random.Generator) -> list[Claim]:
    """Counts on a 1024 x 1024 projection; merge and rank on a smaller layer.

    Any size shows merging and rank, and an SVD of a 1024 x 1024 update takes most of a second.
    """
    projection = LoraLayer.trained(1024, 1024, 8, rng)
    layer = LoraLayer.trained(256, 384, 8, rng)
    x = rng.normal(size=(4, 384))
    update_rank = np.linalg.matrix_rank(layer.up @ layer.down)
    return [
        parameter_count_claim(lambda d, k, rank: rank * (d + k), rng),
        check("A rank-8 adapter has under 2% of a 1024 x 1024 layer's parameters",
              projection.trainable_parameters() / projection.weight.size < 0.02,
              f"{projection.trainable_parameters()} vs {projection.weight.size}"),
        check("The adapter can be merged into the weight with identical outputs",
              np.allclose(layer(x), x @ layer.merged().T), "W x + B A x == (W + B A) x"),
        check("The update has rank at most r", update_rank <= 8, f"rank {update_rank} for r = 8"),
    ]


@lab("int8-quantization", "Symmetric int8: error ~ scale/sqrt(12); one outlier hurts per-tensor")
def int8_quantization(rng: np.random.Generator) -> list[Claim]:
    def quantize(values: np.ndarray) -> tuple[np.ndarray, float]:
        scale = np.abs(values).max() / 127
        return np.clip(np.round(values / scale), -127, 127) * scale, scale

    weights = rng.normal(size=100_000)
    restored, scale = quantize(weights)
    error = restored - weights
    with_outlier = weights.copy()
    with_outlier[0] = 200.0
    restored_outlier, _ = quantize(with_outlier)
    outlier_error = np.sqrt(np.mean((restored_outlier[1:] - with_outlier[1:]) ** 2))
    return [
        check("Rounding error is uniform: RMS close to scale / sqrt(12)",
              abs(np.sqrt(np.mean(error ** 2)) - scale / np.sqrt(12)) < 0.1 * scale,
              f"RMS {np.sqrt(np.mean(error ** 2)):.5f}, scale/sqrt(12) {scale / np.sqrt(12):.5f}"),
        check("A single outlier makes per-tensor quantisation of the rest far worse",
              outlier_error > 10 * np.sqrt(np.mean(error ** 2)),
              f"RMS error {np.sqrt(np.mean(error ** 2)):.4f} -> {outlier_error:.4f}"),
    ]


@lab("dropout-scaling", "Inverted dropout keeps the expected activation the same at inference")
def dropout_scaling(rng: np.random.Generator) -> list[Claim]:
    activations = rng.random(1_000_000) + 0.5
    keep = 0.8
    mask = rng.random(activations.size) < keep
    inverted = activations * mask / keep
    plain = activations * mask
    return [
        check("Dividing by the keep probability preserves the mean",
              abs(inverted.mean() - activations.mean()) < 0.01,
              f"{activations.mean():.4f} vs {inverted.mean():.4f}"),
        check("Without the rescale the training-time mean shrinks by the keep probability",
              abs(plain.mean() / activations.mean() - keep) < 0.01,
              f"ratio {plain.mean() / activations.mean():.4f}"),
    ]
