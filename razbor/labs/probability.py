"""Probability claims: base rates, the CLT under heavy tails, stable log-sum-exp, waiting times."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from razbor.labs import Claim, check, lab

SENSITIVITY, FALSE_POSITIVE_RATE = 0.90, 0.05
STANDARD_ERRORS = 4.5  # tolerance for simulated estimates: wide enough for seeds 0..99, narrow enough to fail


def bayes_precision(prevalence: float, sensitivity: float, false_positive_rate: float) -> float:
    """P(D | +) from Bayes' theorem, with the total probability of a positive in the denominator."""
    true_alarms = sensitivity * prevalence
    return true_alarms / (true_alarms + false_positive_rate * (1 - prevalence))


def simulated_precision(rng: np.random.Generator, prevalence: float, population: int,
                        tests: int = 1) -> tuple[float, int]:
    """Share of fraud among transactions flagged by `tests` conditionally independent screens.

    Simulates each transaction rather than using the formula, so it can disagree with Bayes.
    Returns the precision and the number flagged, from which the standard error follows.
    """
    fraud = rng.random(population) < prevalence
    flag_probability = np.where(fraud, SENSITIVITY, FALSE_POSITIVE_RATE)
    flagged = (rng.random((tests, population)) < flag_probability).all(axis=0)
    return float(fraud[flagged].mean()), int(flagged.sum())


def proportion_standard_error(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def precision_claims(precision_formula: Callable[[float, float, float], float],
                     rng: np.random.Generator) -> list[Claim]:
    """Simulated screening against `precision_formula`, at the card's 1% and 0.1% prevalence."""
    claims = []
    for prevalence, card_value, statement in [
        (0.01, 0.154, "At 1% prevalence only about 15.4% (90 of 585) of flags are fraud"),
        (0.001, 0.018, "At 0.1% prevalence precision falls to about 1.8%, under 2%"),
    ]:
        predicted = precision_formula(prevalence, SENSITIVITY, FALSE_POSITIVE_RATE)
        measured, flagged = simulated_precision(rng, prevalence, population=400_000)
        error = proportion_standard_error(predicted, flagged) if 0 < predicted < 1 else 0.0
        claims.append(check(statement,
                            abs(measured - predicted) <= STANDARD_ERRORS * error
                            and abs(predicted - card_value) < 0.0005,
                            f"simulated {measured:.2%} of {flagged:,} flags, Bayes {predicted:.2%}, "
                            f"card {card_value:.1%}"))
    return claims


def second_test_claim(rng: np.random.Generator) -> Claim:
    """Odds form: a second conditionally independent positive multiplies the odds by 18 again."""
    prior_odds = 0.01 / 0.99
    posterior_odds = prior_odds * (SENSITIVITY / FALSE_POSITIVE_RATE) ** 2
    predicted = posterior_odds / (1 + posterior_odds)
    measured, flagged = simulated_precision(rng, 0.01, population=400_000, tests=2)
    error = proportion_standard_error(predicted, flagged)
    return check("Two conditionally independent positives raise it to about 77%",
                 abs(measured - predicted) <= STANDARD_ERRORS * error and abs(predicted - 0.766) < 0.001,
                 f"simulated {measured:.1%} of {flagged:,} double flags, odds x18 x18 give {predicted:.1%}")


@lab("bayes-base-rate", "Precision of a screening model is set by the base rate, not by its recall")
def bayes_base_rate(rng: np.random.Generator) -> list[Claim]:
    return [*precision_claims(bayes_precision, rng), second_test_claim(rng)]


def pareto_samples(rng: np.random.Generator, size: tuple[int, int], tail_index: float = 1.5) -> np.ndarray:
    """Pareto with minimum 1: finite mean tail_index / (tail_index - 1), infinite variance below 2."""
    return rng.pareto(tail_index, size=size) + 1


def normal_interval_coverage(samples: np.ndarray, true_mean: float) -> float:
    """Share of rows whose mean +- 1.96 s / sqrt(n) interval contains the true mean."""
    n = samples.shape[1]
    half_width = 1.96 * samples.std(axis=1, ddof=1) / np.sqrt(n)
    return float(np.mean(np.abs(samples.mean(axis=1) - true_mean) <= half_width))


def coverage_claims(light: np.ndarray, light_mean: float,
                    heavy: np.ndarray, heavy_mean: float) -> list[Claim]:
    """Light-tailed coverage within sampling error of 95%; heavy-tailed coverage well below it."""
    light_coverage = normal_interval_coverage(light, light_mean)
    heavy_coverage = normal_interval_coverage(heavy, heavy_mean)
    light_error = proportion_standard_error(0.95, len(light))
    heavy_error = proportion_standard_error(max(heavy_coverage, 0.5), len(heavy))
    n = light.shape[1]
    return [
        check(f"For light-tailed (normal) data at n = {n} the normal 95% interval covers about 95%",
              abs(light_coverage - 0.95) <= STANDARD_ERRORS * light_error,
              f"{light_coverage:.1%} of {len(light)} intervals (standard error {light_error:.1%})"),
        check("For Pareto data with tail index 1.5 (infinite variance) at the same n it undercovers, "
              "below 85%",
              heavy_coverage + STANDARD_ERRORS * heavy_error < 0.85,
              f"{heavy_coverage:.1%} of {len(heavy)} intervals contain the true mean {heavy_mean}"),
    ]


@lab("clt-heavy-tails", "The normal interval for a mean holds for light tails and breaks for heavy ones")
def clt_heavy_tails(rng: np.random.Generator) -> list[Claim]:
    intervals, n = 2000, 100
    light = rng.normal(loc=5.0, scale=2.0, size=(intervals, n))
    heavy = pareto_samples(rng, (intervals, n))
    return coverage_claims(light, 5.0, heavy, heavy_mean=1.5 / (1.5 - 1))


def naive_log_sum_exp(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) as written on paper: exp overflows above about 709 in float64."""
    with np.errstate(over="ignore", divide="ignore"):
        return np.log(np.exp(logits).sum(axis=-1))


def naive_softmax(logits: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=-1, keepdims=True)


def shifted_log_sum_exp(logits: np.ndarray) -> np.ndarray:
    """m + log(sum(exp(x - m))): every exponent is at most 0, and the identity is exact."""
    m = logits.max(axis=-1)
    return m + np.log(np.exp(logits - m[..., None]).sum(axis=-1))


def shifted_softmax(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def decimal_reference(row: Sequence[float]) -> tuple[float, list[float]]:
    """Log-sum-exp and softmax of one row in 50-digit decimal arithmetic, which does not overflow."""
    from decimal import Context, Decimal

    context = Context(prec=50)
    exponentials = [context.exp(Decimal(float(x))) for x in row]
    total = sum(exponentials, Decimal(0))
    return float(context.ln(total)), [float(context.divide(e, total)) for e in exponentials]


def stable_claim(log_sum_exp: Callable[[np.ndarray], np.ndarray],
                 softmax: Callable[[np.ndarray], np.ndarray], logits: np.ndarray) -> Claim:
    """Does an implementation match the decimal reference on every row of `logits`?"""
    references = [decimal_reference(row) for row in logits]
    with np.errstate(all="ignore"):
        lse, probabilities = log_sum_exp(logits), softmax(logits)
    lse_error = max(abs(float(got) - want) for got, (want, _) in zip(lse, references, strict=True))
    probability_error = float(np.max(np.abs(probabilities - np.array([p for _, p in references]))))
    return check("The max-shifted log-sum-exp and softmax match a 50-digit decimal reference",
                 lse_error <= 1e-12 and probability_error <= 1e-14,
                 f"{len(logits)} rows of logits up to |x| = {np.abs(logits).max():.0f}: "
                 f"largest error {lse_error:.1e} in LSE, {probability_error:.1e} in probabilities")


def overflow_threshold(dtype: type[np.floating]) -> float:
    """Smallest x (on a 0.001 grid) where exp(x) is infinite in `dtype`, found by evaluating exp."""
    grid = np.arange(0, 100, 0.001).astype(dtype)
    with np.errstate(over="ignore"):
        return float(grid[np.argmax(np.isinf(np.exp(grid)))])


@lab("log-sum-exp", "Naive softmax overflows; subtracting the max is exact and stable")
def log_sum_exp(rng: np.random.Generator) -> list[Claim]:
    card_logits = np.array([1000.0, 1001.0, 1002.0])
    naive_probabilities = naive_softmax(card_logits)
    shifted_probabilities = shifted_softmax(card_logits)
    # Rows centred beyond +-800, so every exp overflows (x > 709.8) or underflows (x < -745.2) in float64.
    scales = rng.choice([-1, 1], size=(24, 1)) * rng.uniform(800, 5000, size=(24, 1))
    logits = scales + np.clip(rng.normal(scale=3.0, size=(24, 16)), -12, 12)
    naive_lse, naive_probabilities_batch = naive_log_sum_exp(logits), naive_softmax(logits)
    fp32, fp16 = overflow_threshold(np.float32), overflow_threshold(np.float16)
    return [
        check("Naive softmax of (1000, 1001, 1002) gives NaN; the shifted one (0.090, 0.245, 0.665)",
              np.isnan(naive_probabilities).all()
              and np.allclose(shifted_probabilities, [0.090, 0.245, 0.665], atol=5e-4)
              and abs(float(shifted_log_sum_exp(card_logits)) - 1002.41) < 5e-3,
              f"naive {naive_probabilities}, shifted {np.round(shifted_probabilities, 4)}, "
              f"LSE {float(shifted_log_sum_exp(card_logits)):.4f}"),
        check("On logits beyond +-788 the naive LSE is +-inf on every row and every probability NaN",
              np.isinf(naive_lse).all() and np.isnan(naive_probabilities_batch).all(),
              f"{np.isinf(naive_lse).sum()} of {len(logits)} LSE infinite, "
              f"{np.isnan(naive_probabilities_batch).sum()} of {logits.size} probabilities NaN"),
        stable_claim(shifted_log_sum_exp, shifted_softmax, logits),
        check("exp overflows above about 88.7 in fp32 and about 11.1 in fp16",
              abs(fp32 - 88.7) < 0.05 and abs(fp16 - 11.1) < 0.05,
              f"first infinite exp at x = {fp32:.3f} (fp32), {fp16:.3f} (fp16)"),
    ]


def rolls_to_see_every_face(rng: np.random.Generator, trials: int, faces: int = 6) -> np.ndarray:
    """Roll a fair die until all faces appear; rows that need more than 200 rolls (p ~ 1e-15) count 201."""
    rolls = rng.integers(faces, size=(trials, 200), dtype=np.int8)
    first_sight = np.stack([np.where((rolls == face).any(axis=1), np.argmax(rolls == face, axis=1), 200)
                            for face in range(faces)])
    return first_sight.max(axis=0) + 1


def tosses_until(pattern: str, rng: np.random.Generator, trials: int) -> np.ndarray:
    """Toss a fair coin until two consecutive tosses read `pattern` ("HH" or "HT")."""
    heads = rng.random((trials, 300)) < 0.5
    first, second = (heads if letter == "H" else ~heads for letter in pattern)
    done = first[:, :-1] & second[:, 1:]
    return np.argmax(done, axis=1) + 2


def mean_claim(statement: str, samples: np.ndarray, expected: float) -> Claim:
    """Sample mean within STANDARD_ERRORS standard errors of `expected`."""
    error = samples.std(ddof=1) / np.sqrt(samples.size)
    return check(statement, abs(samples.mean() - expected) <= STANDARD_ERRORS * error,
                 f"simulated {samples.mean():.3f} +- {error:.3f} over {samples.size:,} runs, "
                 f"expected {expected:.3f}")


def coupon_claims(expected_rolls: Callable[[int], float], hh: float, ht: float,
                  rng: np.random.Generator) -> list[Claim]:
    """Simulations against closed forms passed in, so a wrong formula can be shown to fail."""
    rolls = rolls_to_see_every_face(rng, trials=20_000)
    variance = sum((1 - p) / p ** 2 for p in (k / 6 for k in range(1, 7)))
    variance_error = np.sqrt(np.mean((rolls - rolls.mean()) ** 4) - rolls.var() ** 2) / np.sqrt(rolls.size)
    return [
        mean_claim(f"Seeing all six faces takes 6 H_6 = {expected_rolls(6):.1f} rolls on average",
                   rolls, expected_rolls(6)),
        check("The variance of that wait is about 39 (standard deviation about 6.2)",
              abs(rolls.var(ddof=1) - variance) <= STANDARD_ERRORS * variance_error and round(variance) == 39,
              f"simulated {rolls.var(ddof=1):.1f} +- {variance_error:.1f}, sum (1-p)/p^2 = {variance:.2f}"),
        mean_claim(f"Two heads in a row take {hh:g} tosses on average", tosses_until("HH", rng, 20_000), hh),
        mean_claim(f"Heads then tails takes {ht:g} tosses on average", tosses_until("HT", rng, 20_000), ht),
    ]


def coupon_collector_expectation(n: int) -> float:
    """n H_n: stage k waits a geometric time with mean n / (n - k)."""
    return n * sum(1 / k for k in range(1, n + 1))


@lab("coupon-collector", "Waiting times: 14.7 rolls to see every face; HH takes 6 tosses, HT only 4")
def coupon_collector(rng: np.random.Generator) -> list[Claim]:
    return coupon_claims(coupon_collector_expectation, hh=6, ht=4, rng=rng)
