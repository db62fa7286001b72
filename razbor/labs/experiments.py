"""Experiment-design claims: power by simulation, CUPED, Benjamini-Hochberg, Welch versus Student."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from razbor.labs import Claim, check, lab

STANDARD_ERRORS = 4.5  # a simulated number fails its claim only this many standard errors away
Z_SUM_SQUARED = 7.85  # (z_0.975 + z_0.8)^2: the power formula's constant for 5% two-sided, 80% power


def within(measured: float, expected: float, standard_error: float) -> bool:
    """Whether a noisy measurement agrees with a claimed value up to its Monte Carlo error."""
    return abs(measured - expected) <= STANDARD_ERRORS * standard_error


def proportion_error(rate: float, trials: int) -> float:
    """Standard error of a rate estimated from independent trials, sqrt(p(1-p)/R)."""
    return float(np.sqrt(rate * (1 - rate) / trials))


# --- power-simulation -----------------------------------------------------------------------------

SampleSizeFormula = Callable[[float, float], float]


def normal_sample_size(sigma: float, effect: float) -> float:
    """Users per arm for 80% power at 5% two-sided: 2 (z_a/2 + z_b)^2 sigma^2 / delta^2."""
    return 2 * Z_SUM_SQUARED * sigma ** 2 / effect ** 2


def welch_rejection_rate(rng: np.random.Generator, per_arm: int, effect: float, replications: int) -> float:
    """Share of simulated experiments (unit-variance normal users) in which Welch's test rejects."""
    from scipy import stats

    control = rng.normal(0.0, 1.0, size=(replications, per_arm))
    treatment = rng.normal(effect, 1.0, size=(replications, per_arm))
    return float(np.mean(stats.ttest_ind(treatment, control, axis=1, equal_var=False).pvalue < 0.05))


def formula_power_claim(formula: SampleSizeFormula, rng: np.random.Generator) -> Claim:
    """Run the planned test on data simulated at the size a formula asks for; power should be 80%."""
    effect, replications = 0.5, 2000
    per_arm = int(np.ceil(formula(1.0, effect)))
    power = welch_rejection_rate(rng, per_arm, effect, replications)
    return check("At the formula's n = 2 * 7.85 * sigma^2 / delta^2 per arm, simulated power is about 80%",
                 within(power, 0.8, proportion_error(0.8, replications)),
                 f"sigma 1, delta 0.5: n = {per_arm} per arm; Welch rejects in {power:.1%} of "
                 f"{replications} simulated experiments")


def null_rejection_claim(rng: np.random.Generator) -> Claim:
    """The A/A run: with no effect the planned test must reject at its nominal 5%."""
    replications, per_arm = 2000, int(np.ceil(normal_sample_size(1.0, 0.5)))
    rate = welch_rejection_rate(rng, per_arm, 0.0, replications)
    return check("Simulating with zero effect, the test rejects at its nominal 5%",
                 within(rate, 0.05, proportion_error(0.05, replications)),
                 f"{rate:.1%} of {replications} A/A experiments with {per_arm} users per arm")


def batched_power_estimates(rng: np.random.Generator, batches: int, replications: int) -> np.ndarray:
    """Power at delta 0.5, n 63, estimated by `batches` independent simulations of R experiments.

    Normal users are summarised exactly by each arm's mean and variance, so the t statistic is
    drawn from those rather than from 126 users: the same test for a hundredth of the work.
    """
    from scipy import stats

    per_arm, shape = 63, (batches, replications)
    difference = rng.normal(0.5, np.sqrt(2 / per_arm), shape)
    variances = rng.chisquare(per_arm - 1, (2, *shape)) / (per_arm - 1)
    t = difference / np.sqrt(variances.sum(axis=0) / per_arm)
    return np.mean(np.abs(t) > stats.t.ppf(0.975, 2 * per_arm - 2), axis=1)


def monte_carlo_error_claim(rng: np.random.Generator) -> Claim:
    """The spread of repeated power estimates is the card's sqrt(p(1-p)/R), 0.013 at R = 1000."""
    batches, replications = 200, 1000
    estimates = batched_power_estimates(rng, batches, replications)
    spread = float(estimates.std(ddof=1))
    spread_error = 0.013 / np.sqrt(2 * (batches - 1))
    return check("With R = 1000 replications, estimated power has Monte Carlo error about 0.013",
                 within(spread, 0.013, spread_error),
                 f"{batches} independent estimates of power {estimates.mean():.3f} spread by "
                 f"{spread:.4f}; sqrt(p(1-p)/R) = {proportion_error(estimates.mean(), replications):.4f}")


def revenue_moments(conversion: float, mu: float = 3.5, sigma: float = 1.2) -> tuple[float, float]:
    """Mean and variance of revenue per user when a buyer (probability p) spends lognormal(mu, sigma)."""
    mean = conversion * np.exp(mu + sigma ** 2 / 2)
    second_moment = conversion * np.exp(2 * mu + 2 * sigma ** 2)
    return float(mean), float(second_moment - mean ** 2)


def worked_example_claims() -> list[Claim]:
    """The card's revenue example: its arithmetic, and the power its formula-sized test really has."""
    from scipy import stats

    control_mean, control_variance = revenue_moments(0.03)
    treatment_mean, treatment_variance = revenue_moments(0.036)
    lift = treatment_mean - control_mean
    formula_n = 2 * Z_SUM_SQUARED * control_variance / lift ** 2
    average_n = Z_SUM_SQUARED * (control_variance + treatment_variance) / lift ** 2
    computed = (control_mean, control_variance, treatment_variance, formula_n, average_n)
    card = (2.04, 582, 697, 54_800, 60_300)
    standard_error = np.sqrt((control_variance + treatment_variance) / 54_800)
    shift = lift / standard_error
    power = float(stats.norm.cdf(shift - 1.96) + stats.norm.cdf(-shift - 1.96))
    return [
        check("Revenue example: 2.04 per user, variance 582 (697 in treatment), n = 54,800 per arm "
              "(60,300 with the average variance)",
              np.allclose(computed, card, rtol=0.005),
              "closed-form lognormal moments give " + ", ".join(f"{value:,.2f}" for value in computed)),
        check("At the formula's 54,800 per arm the Welch test has about 77% power, not 80%",
              within(power, 0.77, proportion_error(0.77, 3000)) and power < 0.8,
              f"normal approximation with each arm's own variance: {power:.1%} (card: 77% from 3000 "
              "simulated tests)"),
    ]


@lab("power-simulation", "Power by simulation agrees with the normal formula where the formula applies")
def power_simulation(rng: np.random.Generator) -> list[Claim]:
    return [formula_power_claim(normal_sample_size, rng), null_rejection_claim(rng),
            monte_carlo_error_claim(rng), *worked_example_claims()]


# --- cuped ----------------------------------------------------------------------------------------

SlopeRule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def pooled_slope(post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """theta = cov(Y, X) / var(X) per experiment (row), on both arms pooled."""
    pre_centred = pre - pre.mean(axis=1, keepdims=True)
    post_centred = post - post.mean(axis=1, keepdims=True)
    return (pre_centred * post_centred).sum(axis=1) / (pre_centred ** 2).sum(axis=1)


def cuped_experiments(rng: np.random.Generator, rho: float, theta_rule: SlopeRule = pooled_slope,
                      covariate_effect: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Raw and CUPED effect estimates from 4000 simulated A/B tests, and the true effect.

    Pre-period X and metric Y have SD 10 and correlation rho; treatment adds 0.5 to Y. A nonzero
    covariate_effect lets treatment move X as well, as a covariate measured after exposure would.
    """
    experiments, per_arm, effect = 4000, 100, 0.5
    shape = (experiments, 2, per_arm)  # arm 0 is control, arm 1 treatment
    treated = np.arange(2)[:, None]
    pre = rng.normal(0.0, 10.0, shape)
    post = 20 + rho * pre + np.sqrt(1 - rho ** 2) * rng.normal(0.0, 10.0, shape) + effect * treated
    pre = pre + covariate_effect * treated
    theta = theta_rule(post.reshape(experiments, -1), pre.reshape(experiments, -1))
    adjusted = post - theta[:, None, None] * (pre - pre.mean(axis=(1, 2), keepdims=True))
    raw = post[:, 1].mean(axis=1) - post[:, 0].mean(axis=1)
    cuped = adjusted[:, 1].mean(axis=1) - adjusted[:, 0].mean(axis=1)
    return raw, cuped, effect


def variance_ratio(adjusted: np.ndarray, raw: np.ndarray) -> tuple[float, float]:
    """Var(adjusted) / Var(raw) from paired draws, with its delta-method standard error."""
    adjusted_squares = (adjusted - adjusted.mean()) ** 2
    raw_squares = (raw - raw.mean()) ** 2
    ratio = adjusted_squares.mean() / raw_squares.mean()
    log_influence = adjusted_squares / adjusted_squares.mean() - raw_squares / raw_squares.mean()
    return float(ratio), float(ratio * log_influence.std() / np.sqrt(adjusted.size))


def unbiased_claim(rng: np.random.Generator, covariate_effect: float = 0.0) -> Claim:
    """The adjusted estimate must average to the true effect, as the raw difference does."""
    raw, cuped, effect = cuped_experiments(rng, 0.6, covariate_effect=covariate_effect)
    return check("CUPED keeps the mean: the adjusted effect estimate averages to the true effect",
                 within(cuped.mean(), effect, cuped.std() / np.sqrt(cuped.size))
                 and within(raw.mean(), effect, raw.std() / np.sqrt(raw.size)),
                 f"true effect {effect}; mean over {cuped.size} tests: CUPED {cuped.mean():.3f}, "
                 f"raw {raw.mean():.3f}")


def variance_reduction_claim(factor: Callable[[float], float], rng: np.random.Generator) -> Claim:
    """Measured variance of the CUPED estimate against a claimed reduction factor at rho 0.6."""
    raw, cuped, _ = cuped_experiments(rng, 0.6)
    ratio, error = variance_ratio(cuped, raw)
    return check("With rho = 0.6 CUPED's variance is 1 - rho^2 = 0.64 of the raw one: 6280 users per arm "
                 "become about 4019",
                 within(ratio, factor(0.6), error),
                 f"Var(CUPED) / Var(raw) over {raw.size} tests = {ratio:.3f} ± {error:.3f}, "
                 f"so about {ratio * 6280:.0f} users per arm")


def did_link_claim(rng: np.random.Generator) -> Claim:
    """Post-minus-pre (theta = 1) against CUPED at a weak correlation, per user."""
    rho, users = 0.3, 200_000
    pre = rng.normal(size=users)
    post = rho * pre + np.sqrt(1 - rho ** 2) * rng.normal(size=users)
    difference_ratio, difference_error = variance_ratio(post - pre, post)
    theta = pooled_slope(post[None], pre[None])[0]
    cuped_ratio, cuped_error = variance_ratio(post - theta * pre, post)
    return check("At rho = 0.3, post minus pre (CUPED with theta = 1) has variance 1.4 sigma^2, CUPED 0.91",
                 within(difference_ratio, 1.4, difference_error) and within(cuped_ratio, 0.91, cuped_error),
                 f"Var / sigma^2: post minus pre {difference_ratio:.3f}, CUPED {cuped_ratio:.3f} "
                 f"({users:,} users)")


@lab("cuped", "CUPED keeps the mean and cuts the variance by rho^2; post minus pre can make it worse")
def cuped(rng: np.random.Generator) -> list[Claim]:
    return [unbiased_claim(rng), variance_reduction_claim(lambda rho: 1 - rho ** 2, rng), did_link_claim(rng)]


# --- benjamini-hochberg ---------------------------------------------------------------------------

CARD_P_VALUES = np.array([0.001, 0.008, 0.012, 0.021, 0.024, 0.041, 0.09, 0.21, 0.46, 0.78])
Procedure = Callable[[np.ndarray, float], np.ndarray]


def benjamini_hochberg(p_values: np.ndarray, q: float) -> np.ndarray:
    """Rejections per family (row): the k smallest, k the largest rank with p_(k) <= k q / m (step-up)."""
    p_values = np.atleast_2d(p_values)
    m = p_values.shape[1]
    ordered = np.sort(p_values, axis=1)
    passing = ordered <= q * np.arange(1, m + 1) / m
    count = np.where(passing.any(axis=1), m - np.argmax(passing[:, ::-1], axis=1), 0)
    cutoff = np.take_along_axis(ordered, np.maximum(count - 1, 0)[:, None], axis=1)
    return (p_values <= cutoff) & (count[:, None] > 0)


def bonferroni(p_values: np.ndarray, q: float) -> np.ndarray:
    return np.atleast_2d(p_values) <= q / np.shape(p_values)[-1]


def holm_rejection_count(p_values: np.ndarray, alpha: float) -> int:
    """Step-down: reject while p_(k) <= alpha / (m - k + 1), stop at the first failure."""
    ordered = np.sort(p_values)
    passing = ordered <= alpha / (len(ordered) - np.arange(len(ordered)))
    return int(np.argmin(np.append(passing, False)))


def card_example_claims(procedure: Procedure = benjamini_hochberg) -> list[Claim]:
    """The card's ten p-values: a BH procedure against scipy's adjusted p-values and the card's table."""
    from scipy import stats

    ours = procedure(CARD_P_VALUES, 0.05)[0]
    adjusted = stats.false_discovery_control(CARD_P_VALUES)
    by_adjusted = stats.false_discovery_control(CARD_P_VALUES, method="by")
    counts = (int(bonferroni(CARD_P_VALUES, 0.05).sum()), holm_rejection_count(CARD_P_VALUES, 0.05),
              int((by_adjusted <= 0.05).sum()))
    five_smallest = np.arange(10) < 5
    return [
        check("BH at 5% rejects the five smallest p-values, 0.021 included though above its threshold 0.020",
              np.array_equal(ours, five_smallest) and np.array_equal(adjusted <= 0.05, five_smallest),
              f"step-up rejects {CARD_P_VALUES[ours].tolist()}; scipy's adjusted p-values <= 0.05: "
              f"{CARD_P_VALUES[adjusted <= 0.05].tolist()}"),
        check("Adjusted BH p-values are 0.010, 0.040, 0.040, 0.048, 0.048, 0.068",
              np.allclose(adjusted[:6], [0.010, 0.040, 0.040, 0.048, 0.048, 0.068], atol=0.0005),
              "scipy: " + ", ".join(f"{value:.4f}" for value in adjusted[:6])),
        check("Bonferroni, Holm and Benjamini-Yekutieli each reject only 0.001",
              counts == (1, 1, 1), f"rejections (Bonferroni, Holm, BY) = {counts}"),
    ]


def simulated_families(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """4000 independent families of 20 two-sided p-values, the last 5 from real effects (z ~ 3)."""
    from scipy import stats

    families, tests, real = 4000, 20, 5
    is_real = np.arange(tests) >= tests - real
    z = rng.normal(size=(families, tests)) + 3.0 * is_real
    return 2 * stats.norm.sf(np.abs(z)), is_real


def fdr_claim(procedure: Procedure, rng: np.random.Generator) -> Claim:
    """Share of false discoveries among discoveries, averaged over families, against pi0 * q."""
    q = 0.05
    p_values, is_real = simulated_families(rng)
    rejected = procedure(p_values, q)
    false_share = (rejected & ~is_real).sum(axis=1) / np.maximum(rejected.sum(axis=1), 1)
    fdr, pi0 = float(false_share.mean()), float(1 - is_real.mean())
    return check("On independent mixtures BH's FDR is pi0 * q (0.75 * 5% = 3.75%), below q",
                 within(fdr, pi0 * q, false_share.std() / np.sqrt(false_share.size)) and fdr <= q,
                 f"FDR {fdr:.2%} over {false_share.size} families of 20 tests, 15 of them null")


def power_gain_claim(rng: np.random.Generator) -> Claim:
    """FDR control buys power: BH finds more of the real effects than Bonferroni on the same data."""
    p_values, is_real = simulated_families(rng)
    gain = (benjamini_hochberg(p_values, 0.05) & is_real).sum(axis=1) \
        - (bonferroni(p_values, 0.05) & is_real).sum(axis=1)
    return check("BH finds more real effects than Bonferroni",
                 gain.mean() > STANDARD_ERRORS * gain.std() / np.sqrt(gain.size),
                 f"real effects found per family of 5: BH finds {gain.mean():.2f} more on average")


@lab("benjamini-hochberg", "Benjamini-Hochberg: five rejections where Bonferroni makes one, FDR at pi0 q")
def benjamini_hochberg_lab(rng: np.random.Generator) -> list[Claim]:
    return [*card_example_claims(), fdr_claim(benjamini_hochberg, rng), power_gain_claim(rng)]


# --- welch-vs-student -----------------------------------------------------------------------------


def t_test_rejections(rng: np.random.Generator, sizes: tuple[int, int], sds: tuple[float, float],
                      runs: int, effect: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per run, whether scipy's default (Student) and Welch's test reject at 5% on normal samples."""
    from scipy import stats

    first = rng.normal(effect, sds[0], size=(runs, sizes[0]))
    second = rng.normal(0.0, sds[1], size=(runs, sizes[1]))
    student = stats.ttest_ind(first, second, axis=1).pvalue < 0.05
    welch = stats.ttest_ind(first, second, axis=1, equal_var=False).pvalue < 0.05
    return student, welch


def with_sample_sd(rng: np.random.Generator, size: int, sd: float) -> np.ndarray:
    """A normal sample rescaled so its sample standard deviation is exactly sd."""
    values = rng.normal(size=size)
    return (values - values.mean()) / values.std(ddof=1) * sd


def worked_standard_errors_claim(rng: np.random.Generator) -> Claim:
    """scipy's statistics on samples with SD 4 (n 10) and 1 (n 40) give the card's SEs and df."""
    from scipy import stats

    first, second = with_sample_sd(rng, 10, 4.0) + 1.0, with_sample_sd(rng, 40, 1.0)
    student = stats.ttest_ind(first, second)
    welch = stats.ttest_ind(first, second, equal_var=False)
    student_se, welch_se = 1.0 / student.statistic, 1.0 / welch.statistic
    return check("SD 4 vs 1 with n 10 vs 40: pooled SE 0.69, Welch SE 1.27 with 9.3 df",
                 np.allclose([student_se, welch_se], [0.69, 1.27], atol=0.005) and abs(welch.df - 9.3) < 0.05,
                 f"scipy: Student SE {student_se:.3f}, Welch SE {welch_se:.3f}, Welch df {welch.df:.2f}")


def student_false_positive_claim(claimed_rate: float, rng: np.random.Generator) -> Claim:
    """Null rejections when the small group is the noisy one: Student against a claimed rate."""
    runs = 20_000
    student, welch = t_test_rejections(rng, (10, 40), (4.0, 1.0), runs)
    return check("n 10 vs 40, SD 4 vs 1, equal means: Student rejects about 29% at 5%, Welch 5.0%",
                 within(student.mean(), claimed_rate, proportion_error(claimed_rate, runs))
                 and within(welch.mean(), 0.05, proportion_error(0.05, runs)),
                 f"{runs:,} null runs: Student {student.mean():.2%}, Welch {welch.mean():.2%}")


def other_settings_claims(rng: np.random.Generator) -> list[Claim]:
    """Direction and size matter: swapped variances, equal sizes, and Welch's cost in power."""
    swapped_runs, equal_runs, power_runs = 20_000, 10_000, 5000
    swapped, _ = t_test_rejections(rng, (10, 40), (1.0, 4.0), swapped_runs)
    equal_sizes, _ = t_test_rejections(rng, (25, 25), (4.0, 1.0), equal_runs)
    student_power, welch_power = t_test_rejections(rng, (10, 40), (1.0, 1.0), power_runs, effect=1.0)
    power_gap = student_power.astype(float) - welch_power
    return [
        check("With the large group noisy instead, Student rejects about 0.07%: conservative",
              within(swapped.mean(), 0.0007, proportion_error(0.0007, swapped_runs)),
              f"{swapped.mean():.3%} of {swapped_runs:,} null runs"),
        check("With equal sizes 25 and 25 and the same 16:1 variance ratio, Student rejects about 5.5%",
              within(equal_sizes.mean(), 0.055, proportion_error(0.055, equal_runs)),
              f"{equal_sizes.mean():.2%} of {equal_runs:,} null runs"),
        check("Equal variances, n 10 vs 40, effect 1 SD: Welch has about 75% power, Student 79%",
              within(welch_power.mean(), 0.75, proportion_error(0.75, power_runs))
              and within(student_power.mean(), 0.79, proportion_error(0.79, power_runs))
              and within(power_gap.mean(), 0.04, power_gap.std() / np.sqrt(power_runs)),
              f"{power_runs:,} runs: Welch {welch_power.mean():.1%}, Student {student_power.mean():.1%}"),
    ]


@lab("welch-vs-student", "Unequal variances and sizes: Student's t over-rejects, Welch holds 5%")
def welch_vs_student(rng: np.random.Generator) -> list[Claim]:
    return [worked_standard_errors_claim(rng), student_false_positive_claim(0.29, rng),
            *other_settings_claims(rng)]
