"""Deep-learning claims: attention cost, LoRA size, int8 quantisation error, dropout scaling."""

from __future__ import annotations

import numpy as np

from razbor.labs import Claim, check, lab


@lab("attention-cost", "Self-attention memory grows quadratically with sequence length")
def attention_cost(rng: np.random.Generator) -> list[Claim]:
    dimension = 64
    sizes, row_sums = [], []
    for length in (256, 512, 1024):
        q, k = rng.normal(size=(length, dimension)), rng.normal(size=(length, dimension))
        scores = q @ k.T / np.sqrt(dimension)
        weights = np.exp(scores - scores.max(1, keepdims=True))
        weights /= weights.sum(1, keepdims=True)
        sizes.append(weights.size)
        row_sums.append(np.allclose(weights.sum(1), 1))
    per_head_fp16 = 8192 ** 2 * 2 / 2 ** 20
    return [
        check("Doubling the sequence quadruples the attention matrix",
              sizes[1] == 4 * sizes[0] and sizes[2] == 4 * sizes[1] and all(row_sums),
              "entries " + ", ".join(str(s) for s in sizes) + "; every row sums to 1"),
        check("At 8k tokens one head's FP16 attention matrix alone takes 128 MiB",
              per_head_fp16 == 128, f"{per_head_fp16:.0f} MiB per head per example"),
    ]


@lab("lora-params", "LoRA trains r(d+k) parameters instead of d*k, and merges back exactly")
def lora_params(rng: np.random.Generator) -> list[Claim]:
    d, k, rank = 1024, 1024, 8
    weight = rng.normal(size=(d, k)) / np.sqrt(k)
    down, up = rng.normal(size=(rank, k)) * 0.01, rng.normal(size=(d, rank)) * 0.01
    x = rng.normal(size=(4, k))
    adapted = x @ weight.T + (x @ down.T) @ up.T
    merged = x @ (weight + up @ down).T
    return [
        check("A rank-8 adapter has under 2% of the layer's parameters",
              rank * (d + k) / (d * k) < 0.02, f"{rank * (d + k)} vs {d * k}"),
        check("The adapter can be merged into the weight with identical outputs",
              np.allclose(adapted, merged), "W x + B A x == (W + B A) x"),
        check("The update has rank at most r", np.linalg.matrix_rank(up @ down) <= rank,
              f"rank {np.linalg.matrix_rank(up @ down)}"),
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
