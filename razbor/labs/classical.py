"""Classical ML claims: bias-variance, ridge shrinkage, distances in high dimension, leakage."""

from __future__ import annotations

from itertools import pairwise

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
    base = rng.normal(size=(200, 1))
    features = np.hstack([base, base + rng.normal(scale=0.01, size=(200, 1)),
                          rng.normal(size=(200, 3))])
    target = base[:, 0] + rng.normal(scale=0.5, size=200)

    def ridge(alpha: float) -> np.ndarray:
        return np.linalg.solve(features.T @ features + alpha * np.eye(5), features.T @ target)

    norms = [np.linalg.norm(ridge(alpha)) for alpha in (1e-6, 1.0, 100.0)]
    plain, regular = ridge(1e-6), ridge(10.0)
    return [
        check("The weight norm shrinks as alpha grows", norms[0] > norms[1] > norms[2],
              "norms " + ", ".join(f"{n:.2f}" for n in norms)),
        check("Without regularisation two collinear features get large opposite weights",
              np.abs(plain[:2]).max() > 2 and np.sign(plain[0]) != np.sign(plain[1]),
              f"weights {np.round(plain[:2], 2)} for a true total effect of 1"),
        check("Ridge splits the effect between them", np.allclose(regular[:2], 0.5, atol=0.15),
              f"weights {np.round(regular[:2], 2)}"),
    ]


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


@lab("lesion-instances", "3D instances: voxel Dice can look fine while small lesions are missed")
def lesion_instances(rng: np.random.Generator) -> list[Claim]:
    from scipy import ndimage

    shape = (48, 48, 48)
    grid = np.indices(shape).transpose(1, 2, 3, 0)
    truth = np.zeros(shape, bool)
    for center, radius in (((12, 12, 12), 8), ((36, 30, 20), 2), ((20, 38, 34), 2)):
        truth |= np.linalg.norm(grid - center, axis=-1) <= radius
    probability = np.clip(truth * 0.9 + rng.normal(0, 0.15, shape), 0, 1)
    blurred = ndimage.gaussian_filter(probability, 1.0)
    prediction = blurred > 0.5
    prediction[36, 30, 20] = prediction[20, 38, 34] = False
    small = np.zeros(shape, bool)
    for center in ((36, 30, 20), (20, 38, 34)):
        small |= np.linalg.norm(grid - center, axis=-1) <= 2
    prediction &= ~small
    prediction[40:42, 5:7, 5:7] = True  # a spurious blob
    truth_labels, truth_count = ndimage.label(truth)
    predicted_labels, predicted_count = ndimage.label(prediction)
    found = sum(np.any(prediction[truth_labels == k]) for k in range(1, truth_count + 1))
    correct = sum(np.any(truth[predicted_labels == k]) for k in range(1, predicted_count + 1))
    dice = 2 * np.sum(prediction & truth) / (prediction.sum() + truth.sum())
    return [
        check("3D connected components split the thresholded map into instances",
              truth_count == 3 and predicted_count == 2,
              f"{truth_count} true lesions, {predicted_count} predicted components"),
        check("Voxel Dice stays high", dice > 0.85, f"Dice {dice:.3f}"),
        check("...while instance recall and precision reveal the misses",
              found / truth_count < 0.5 and correct / predicted_count <= 0.5,
              f"lesion recall {found}/{truth_count}, precision {correct}/{predicted_count}"),
    ]
