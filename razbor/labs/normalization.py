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
    claims += _train_versus_inference(rng)
    return claims


def _train_versus_inference(rng: np.random.Generator) -> list[Claim]:
    """Training normalises with batch statistics; inference with running averages.

    Batches of 128 keep the running averages close to the truth; how close is derived from the
    standard error of an exponential moving average of batch statistics, not guessed.
    """
    batch_size, momentum, mean, std = 128, 0.1, 3.0, 2.0
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(200):
        batch = rng.normal(loc=mean, scale=std, size=(batch_size, 3))
        running_mean = (1 - momentum) * running_mean + momentum * batch.mean(axis=0)
        running_var = (1 - momentum) * running_var + momentum * batch.var(axis=0, ddof=1)
    mean_tolerance = 5 * _moving_average_error(std / np.sqrt(batch_size), momentum)
    var_tolerance = 5 * _moving_average_error(std ** 2 * np.sqrt(2 / (batch_size - 1)), momentum)
    example = rng.normal(loc=mean, scale=std, size=(1, 3))
    batch_a = np.concatenate([example, rng.normal(mean, std, size=(batch_size - 1, 3))])
    batch_b = np.concatenate([example, rng.normal(mean + 6.0, std, size=(batch_size - 1, 3))])
    train_a = _batchnorm(batch_a, batch_a.mean(0), batch_a.var(0))[0]
    train_b = _batchnorm(batch_b, batch_b.mean(0), batch_b.var(0))[0]
    infer_a = _batchnorm(batch_a, running_mean, running_var)[0]
    infer_b = _batchnorm(batch_b, running_mean, running_var)[0]
    return [
        check("In training mode one example's output depends on the rest of its batch",
              np.max(np.abs(train_a - train_b)) > 0.5,
              f"same example, two batches: {np.round(train_a, 2)} vs {np.round(train_b, 2)}"),
        check("With running statistics (inference) the output does not depend on the batch",
              np.allclose(infer_a, infer_b),
              f"{np.round(infer_a, 3)} both times"),
        check("Running statistics converge to the data's mean and variance",
              np.allclose(running_mean, mean, rtol=0, atol=mean_tolerance)
              and np.allclose(running_var, std ** 2, rtol=0, atol=var_tolerance),
              f"running mean {np.round(running_mean, 2)} (3 ± {mean_tolerance:.2f}), "
              f"running var {np.round(running_var, 2)} (4 ± {var_tolerance:.2f})"),
    ]


def _moving_average_error(batch_error: float, momentum: float) -> float:
    """Standard error of a long-run moving average of independent estimates with this error."""
    return batch_error * np.sqrt(momentum / (2 - momentum))
