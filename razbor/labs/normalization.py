"""BatchNorm: global statistics from per-device ones, and train versus inference outputs."""

from __future__ import annotations

import numpy as np

from razbor.labs import Claim, check, lab


def _batchnorm(x: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return (x - mean) / np.sqrt(var + eps)


@lab("batchnorm-stats", "BatchNorm: per-device statistics, sufficient statistics, inference")
def batchnorm_stats(rng: np.random.Generator) -> list[Claim]:
    # Four devices whose shards differ in mean, as with non-shuffled or small per-device batches.
    shards = [rng.normal(loc=shift, scale=1.0, size=(8, 3)) for shift in (-2.0, -0.5, 0.5, 2.0)]
    everything = np.concatenate(shards)
    true_var = everything.var(axis=0)
    averaged_var = np.mean([shard.var(axis=0) for shard in shards], axis=0)
    averaged_std = np.mean([shard.std(axis=0) for shard in shards], axis=0)
    count = sum(len(s) for s in shards)
    total = sum(s.sum(axis=0) for s in shards)
    total_sq = sum((s ** 2).sum(axis=0) for s in shards)
    mean_from_sums = total / count
    var_from_sums = total_sq / count - mean_from_sums ** 2
    claims = [
        check("Averaging per-device variances underestimates the global variance",
              np.all(averaged_var < true_var - 0.5),
              f"global var {np.round(true_var, 3)}, mean of local vars "
              f"{np.round(averaged_var, 3)}"),
        check("Averaging per-device standard deviations is wrong too",
              np.all(np.abs(averaged_std ** 2 - true_var) > 0.5),
              f"(mean of local stds)^2 {np.round(averaged_std ** 2, 3)}"),
        check("Sums, sums of squares and counts give the exact global mean and variance",
              np.allclose(mean_from_sums, everything.mean(axis=0))
              and np.allclose(var_from_sums, true_var),
              f"var from sums {np.round(var_from_sums, 3)}"),
    ]
    # Training normalises with batch statistics; inference with running averages.
    running_mean, running_var, momentum = np.zeros(3), np.ones(3), 0.1
    for _ in range(200):
        batch = rng.normal(loc=3.0, scale=2.0, size=(32, 3))
        running_mean = (1 - momentum) * running_mean + momentum * batch.mean(axis=0)
        running_var = (1 - momentum) * running_var + momentum * batch.var(axis=0, ddof=1)
    example = rng.normal(loc=3.0, scale=2.0, size=(1, 3))
    partners_a = np.concatenate([example, rng.normal(3.0, 2.0, size=(3, 3))])
    partners_b = np.concatenate([example, rng.normal(9.0, 2.0, size=(3, 3))])
    train_a = _batchnorm(partners_a, partners_a.mean(0), partners_a.var(0))[0]
    train_b = _batchnorm(partners_b, partners_b.mean(0), partners_b.var(0))[0]
    infer_a = _batchnorm(partners_a, running_mean, running_var)[0]
    infer_b = _batchnorm(partners_b, running_mean, running_var)[0]
    claims += [
        check("In training mode one example's output depends on the rest of its batch",
              np.max(np.abs(train_a - train_b)) > 0.5,
              f"same example, two batches: {np.round(train_a, 2)} vs {np.round(train_b, 2)}"),
        check("With running statistics (inference) the output does not depend on the batch",
              np.allclose(infer_a, infer_b),
              f"{np.round(infer_a, 3)} both times"),
        check("Running statistics converge to the data's mean and variance",
              np.allclose(running_mean, 3.0, atol=0.3) and np.allclose(running_var, 4.0, atol=0.8),
              f"running mean {np.round(running_mean, 2)}, running var {np.round(running_var, 2)}"),
    ]
    return claims
