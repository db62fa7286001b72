"""Classical ML claims: bias-variance, ridge shrinkage, distances in high dimension, leakage."""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import numpy as np

from razbor.labs import Claim, check, lab


@lab("bias-variance", "Polynomial degree: training error falls, test error is U-shaped")
def bias_variance(rng: np.random.Generator) -> list[Claim]:
    def data(size: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(-1, 1, size)
        return x, np.sin(3 * x) + rng.normal(scale=0.3, size=size)

    x_train, y_train = data(30)
    x_test, y_test = data(2000)
    train_errors, test_errors = [], []
    for degree in (1, 3, 5, 12):
        coefficients = np.polynomial.polynomial.polyfit(x_train, y_train, degree)
        fitted = np.polynomial.polynomial.polyval
        train_errors.append(np.mean((fitted(x_train, coefficients) - y_train) ** 2))
        test_errors.append(np.mean((fitted(x_test, coefficients) - y_test) ** 2))
    return [
        check("Training error only falls as capacity grows",
              all(a >= b for a, b in pairwise(train_errors)),
              "train MSE " + ", ".join(f"{e:.3f}" for e in train_errors)),
        check("Test error is U-shaped: underfit at degree 1, overfit at degree 12",
              test_errors[1] < test_errors[0] and test_errors[3] > test_errors[2],
              "test MSE " + ", ".join(f"{e:.3f}" for e in test_errors)),
    ]


@lab("ridge-shrinkage", "L2 regularisation shrinks weights and stabilises collinear features")
def ridge_shrinkage(rng: np.random.Generator) -> list[Claim]:
    """Claims about collinear weights are claims about how often, so they are counted over resamples.

    How least squares splits the effect between two near-copies of a feature is pure noise: on
    one dataset the weights may happen to be small and alike. Over 200 resamples the share of
    large opposite weights is known to within about 0.013.
    """
    problems = [_collinear_problem(rng) for _ in range(200)]
    norms = np.array([[np.linalg.norm(_ridge(*problem, alpha)) for alpha in (1e-6, 1.0, 100.0)]
                      for problem in problems])
    plain = np.array([_ridge(*problem, 1e-6)[:2] for problem in problems])
    regular = np.array([_ridge(*problem, 10.0)[:2] for problem in problems])
    large_opposite = (np.abs(plain).max(axis=1) > 2) & (np.sign(plain[:, 0]) != np.sign(plain[:, 1]))
    return [
        check("The weight norm shrinks as alpha grows",
              np.all(norms[:, 0] > norms[:, 1]) and np.all(norms[:, 1] > norms[:, 2]),
              "mean norms " + ", ".join(f"{n:.2f}" for n in norms.mean(axis=0))),
        check("Without regularisation two collinear features get large opposite weights in most "
              "resamples", large_opposite.mean() > 0.8,
              f"in {large_opposite.mean():.0%} of {len(problems)} resamples; median largest weight "
              f"{np.median(np.abs(plain).max(axis=1)):.0f} for a true total effect of 1"),
        check("Ridge splits the effect between them in every resample",
              np.allclose(regular, 0.5, atol=0.15),
              f"weights from {regular.min():.2f} to {regular.max():.2f}"),
    ]


def _collinear_problem(rng: np.random.Generator, rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A target driven by one feature that appears twice, almost exactly, among three others."""
    base = rng.normal(size=(rows, 1))
    features = np.hstack([base, base + rng.normal(scale=0.001, size=(rows, 1)),
                          rng.normal(size=(rows, 3))])
    return features, base[:, 0] + rng.normal(scale=0.5, size=rows)


def _ridge(features: np.ndarray, target: np.ndarray, alpha: float) -> np.ndarray:
    return np.linalg.solve(features.T @ features + alpha * np.eye(features.shape[1]),
                           features.T @ target)


@lab("knn-dimension", "Curse of dimensionality: nearest and farthest neighbours converge")
def knn_dimension(rng: np.random.Generator) -> list[Claim]:
    contrasts = {}
    for dimension in (2, 1000):
        points = rng.random((500, dimension))
        distances = np.linalg.norm(points[1:] - points[0], axis=1)
        contrasts[dimension] = distances.max() / distances.min()
    return [check("In 1000 dimensions the farthest point is barely farther than the nearest",
                  contrasts[1000] < 1.5 < contrasts[2],
                  f"max/min distance: {contrasts[2]:.1f} in 2-D, {contrasts[1000]:.2f} in 1000-D")]


@lab("target-leakage", "Selecting features on all data before cross-validation leaks")
def target_leakage(rng: np.random.Generator) -> list[Claim]:
    features = rng.normal(size=(60, 5000))
    labels = rng.integers(0, 2, 60)

    def accuracy(train: np.ndarray, test: np.ndarray, chosen: np.ndarray) -> float:
        centroid = [features[train][labels[train] == k][:, chosen].mean(0) for k in (0, 1)]
        guesses = [int(np.linalg.norm(row - centroid[1]) < np.linalg.norm(row - centroid[0]))
                   for row in features[test][:, chosen]]
        return float(np.mean(np.array(guesses) == labels[test]))

    def top(rows: np.ndarray) -> np.ndarray:
        gap = features[rows][labels[rows] == 1].mean(0) - features[rows][labels[rows] == 0].mean(0)
        return np.argsort(-np.abs(gap))[:20]

    folds = np.array_split(rng.permutation(60), 5)
    leaky, honest = [], []
    chosen_everywhere = top(np.arange(60))
    for fold in folds:
        train = np.setdiff1d(np.arange(60), fold)
        leaky.append(accuracy(train, fold, chosen_everywhere))
        honest.append(accuracy(train, fold, top(train)))
    return [check("Pure noise looks predictive when features are chosen on all the data",
                  np.mean(leaky) > 0.8 and np.mean(honest) < 0.7,
                  f"CV accuracy with leakage {np.mean(leaky):.2f}, without {np.mean(honest):.2f}")]


class LesionScene(NamedTuple):
    """Masks of the true lesions and of a model's prediction, and how many lesions were placed."""

    truth: np.ndarray
    prediction: np.ndarray
    lesions: int


def lesion_scene(rng: np.random.Generator, small_radius: int = 2) -> LesionScene:
    """True lesions (one large, two small spheres) and a blurry model's thresholded prediction.

    The model sees the lesions through noise and a Gaussian blur, and a bright artefact that
    looks like one. A blur of 1.5 voxels lowers a 2-voxel lesion's peak to about 0.35, below the
    0.5 threshold, while the large lesion keeps its shape: which lesions are found is measured.
    """
    from scipy import ndimage

    shape = (48, 48, 48)
    lesions = (((12, 12, 12), 8), ((36, 30, 20), small_radius), ((20, 38, 34), small_radius))
    grid = np.indices(shape).transpose(1, 2, 3, 0)
    truth = np.zeros(shape, bool)
    for center, radius in lesions:
        truth |= np.linalg.norm(grid - center, axis=-1) <= radius
    evidence = truth * 0.9 + rng.normal(0, 0.15, shape)
    evidence[38:44, 3:9, 3:9] += 0.9
    probability = ndimage.gaussian_filter(np.clip(evidence, 0, 1), 1.5)
    return LesionScene(truth, probability > 0.5, len(lesions))


def lesion_claims(scene: LesionScene) -> list[Claim]:
    """Voxel Dice against instance recall and precision from 3D connected components.

    A component counts as found (or correct) if it overlaps the other mask at all, the most
    lenient matching there is: misses it reports are real.
    """
    from scipy import ndimage

    truth, prediction = scene.truth, scene.prediction
    truth_labels, truth_count = ndimage.label(truth)
    predicted_labels, predicted_count = ndimage.label(prediction)
    found = sum(np.any(prediction[truth_labels == k]) for k in range(1, truth_count + 1))
    correct = sum(np.any(truth[predicted_labels == k]) for k in range(1, predicted_count + 1))
    dice = 2 * np.sum(prediction & truth) / (prediction.sum() + truth.sum())
    return [
        check("3D connected components split a mask into instances", truth_count == scene.lesions,
              f"{truth_count} components for {scene.lesions} true lesions; "
              f"{predicted_count} predicted components"),
        check("Voxel Dice stays high", dice > 0.85, f"Dice {dice:.3f}"),
        check("...while instance recall and precision reveal the misses",
              found / truth_count < 0.5 and correct / max(predicted_count, 1) <= 0.5,
              f"lesion recall {found}/{truth_count}, precision {correct}/{predicted_count}"),
    ]


@lab("lesion-instances", "3D instances: voxel Dice can look fine while small lesions are missed")
def lesion_instances(rng: np.random.Generator) -> list[Claim]:
    return lesion_claims(lesion_scene(rng))
