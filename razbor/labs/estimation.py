"""Estimation claims: random baselines for AP, ratio-metric variance, IPW, reservoir sampling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from razbor.labs import Claim, check, lab

# How many standard errors a simulated quantity may stray from its exact value before a claim fails:
# about one false alarm in 150,000 checks, while a wrong formula is usually dozens of errors away.
TOLERANCE_IN_SE = 4.5


# --- average precision versus ROC-AUC -------------------------------------------------------------

def random_ranking_metrics(rng: np.random.Generator, items: int, positives: int,
                           rankings: int) -> tuple[np.ndarray, np.ndarray]:
    """AP and ROC-AUC of many uniformly random rankings, computed from where the positives land.

    A random ranking puts the positives on a uniformly random subset of ranks. With the ranks of
    the positives sorted, r_1 < ... < r_P, the i-th positive sees precision i / r_i, and r_i - i
    negatives rank above it, so AP and AUC follow from the definitions without sorting scores.
    """
    keys = rng.random((rankings, items))
    ranks = np.sort(np.argpartition(keys, positives, axis=1)[:, :positives], axis=1) + 1
    hits = np.arange(1, positives + 1)
    average_precision = (hits / ranks).mean(axis=1)
    roc_auc = 1 - (ranks - hits).sum(axis=1) / (positives * (items - positives))
    return average_precision, roc_auc


def expected_random_ap(items: int, positives: int) -> float:
    """Exact mean AP of a random ranking: (P-1)/(N-1) + (N-P) H_N / (N (N-1)), which tends to P/N.

    A positive at rank r has on average 1 + (r-1)(P-1)/(N-1) positives at or above it, and its rank
    is uniform on 1..N, so E[1/r] = H_N / N. The second term is why AP with few positives sits a
    little above the prevalence.
    """
    harmonic = float(np.sum(1 / np.arange(1, items + 1)))
    return (positives - 1) / (items - 1) + (items - positives) * harmonic / (items * (items - 1))


AP_SETTINGS = ((1000, 10), (1000, 100))  # the card's 10 positives in 1,000, and 10% prevalence
AP_RANKINGS = 1000


def ap_baseline_claim(expected_ap: Callable[[int, int], float], rng: np.random.Generator) -> Claim:
    """Mean simulated AP of random rankings against a formula for it, at 1% and 10% prevalence."""
    errors, details = [], []
    for items, positives in AP_SETTINGS:
        ap, _ = random_ranking_metrics(rng, items, positives, AP_RANKINGS)
        expected = expected_ap(items, positives)
        errors.append(abs(ap.mean() - expected) / (ap.std(ddof=1) / np.sqrt(ap.size)))
        details.append(f"prevalence {positives / items:.0%}: simulated {ap.mean():.4f}, "
                       f"formula {expected:.4f}")
    return check("A random ranking's AP is about the prevalence: (P-1)/(N-1) + (N-P)H_N/(N(N-1))",
                 max(errors) < TOLERANCE_IN_SE, "; ".join(details))


@lab("ap-random-baseline", "A random ranking: ROC-AUC 0.5 at any prevalence, AP about the prevalence")
def ap_random_baseline(rng: np.random.Generator) -> list[Claim]:
    auc_errors, auc_details, ap_means = [], [], {}
    for items, positives in AP_SETTINGS:
        ap, auc = random_ranking_metrics(rng, items, positives, AP_RANKINGS)
        ap_means[positives] = ap.mean(), ap.std(ddof=1) / np.sqrt(ap.size)
        # Mann-Whitney null variance of AUC: (N + 1) / (12 P (N - P)).
        standard_error = np.sqrt((items + 1) / (12 * positives * (items - positives)) / auc.size)
        auc_errors.append(abs(auc.mean() - 0.5) / standard_error)
        auc_details.append(f"prevalence {positives / items:.0%}: {auc.mean():.4f} ± {standard_error:.4f}")
    rare_mean, rare_error = ap_means[10]
    common_mean, common_error = ap_means[100]
    return [
        check("A random ranking's ROC-AUC is 0.5 at 1% and at 10% positives",
              max(auc_errors) < TOLERANCE_IN_SE, "; ".join(auc_details)),
        ap_baseline_claim(expected_random_ap, rng),
        check("At 10% positives the random AP is within 10% of the prevalence, nowhere near 0.5",
              abs(common_mean - 0.1) + TOLERANCE_IN_SE * common_error < 0.01,
              f"{common_mean:.4f} ± {common_error:.4f}"),
        check("With 10 positives in 1,000 the random AP is a bit above the 1% prevalence",
              rare_mean - TOLERANCE_IN_SE * rare_error > 0.01,
              f"{rare_mean:.4f} ± {rare_error:.4f}; exact {expected_random_ap(1000, 10):.4f}"),
    ]


# --- delta method for a ratio metric ---------------------------------------------------------------

@dataclass(frozen=True)
class UserMoments:
    """Per-user clicks X and impressions Y: means, standard deviations and correlation."""
    mean_clicks: float = 1.0
    mean_impressions: float = 20.0
    sd_clicks: float = 1.8
    sd_impressions: float = 15.0
    correlation: float = 0.5

    @property
    def covariance(self) -> float:
        return self.correlation * self.sd_clicks * self.sd_impressions


CARD_MOMENTS = UserMoments()  # the card's worked example
EXPERIMENTS, USERS_PER_ARM = 2000, 250


def delta_method_variance(mean_x: float, mean_y: float, var_x: float, var_y: float, cov_xy: float,
                          users: int) -> float:
    """Var(X̄/Ȳ) ≈ (σ_X² - 2R σ_XY + R² σ_Y²) / (n μ_Y²), R = μ_X / μ_Y, as on the card."""
    ratio = mean_x / mean_y
    return (var_x - 2 * ratio * cov_xy + ratio ** 2 * var_y) / (users * mean_y ** 2)


def simulate_users(rng: np.random.Generator, moments: UserMoments,
                   shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-user click and impression counts whose population moments are exactly `moments`.

    Each user has a lognormal click rate and impression rate, correlated, and Poisson counts
    around them: heavy users exist, clicks are counts, and the mixture's means, variances and
    covariance are matched in closed form (a Poisson adds its mean to the variance and nothing to
    the covariance).
    """
    def log_sd(mean: float, sd: float) -> float:
        return float(np.sqrt(np.log(1 + (sd ** 2 - mean) / mean ** 2)))

    sx = log_sd(moments.mean_clicks, moments.sd_clicks)
    sy = log_sd(moments.mean_impressions, moments.sd_impressions)
    latent_correlation = np.log(1 + moments.covariance / (moments.mean_clicks * moments.mean_impressions)) \
        / (sx * sy)
    a, b = rng.normal(size=(2, *shape))
    b = latent_correlation * a + np.sqrt(1 - latent_correlation ** 2) * b
    clicks = rng.poisson(moments.mean_clicks * np.exp(sx * a - sx ** 2 / 2))
    impressions = rng.poisson(moments.mean_impressions * np.exp(sy * b - sy ** 2 / 2))
    return clicks, impressions


@dataclass(frozen=True)
class CtrExperiments:
    ctr: np.ndarray               # total clicks / total impressions, one per experiment arm
    plug_in_delta: np.ndarray     # delta-method variance from each arm's own sample moments
    naive_binomial: np.ndarray    # p (1 - p) / impressions, from each arm's own data

    @property
    def variance_across(self) -> float:
        return float(self.ctr.var(ddof=1))

    @property
    def log_variance_se(self) -> float:
        """Standard error of log(sample variance) for a near-normal statistic: sqrt(2 / (M - 1))."""
        return float(np.sqrt(2 / (self.ctr.size - 1)))


def simulate_ctr_experiments(rng: np.random.Generator) -> CtrExperiments:
    clicks, impressions = simulate_users(rng, CARD_MOMENTS, (EXPERIMENTS, USERS_PER_ARM))
    ctr = clicks.sum(axis=1) / impressions.sum(axis=1)
    mean_x, mean_y = clicks.mean(axis=1), impressions.mean(axis=1)
    cov_xy = ((clicks - mean_x[:, None]) * (impressions - mean_y[:, None])).sum(axis=1) / (USERS_PER_ARM - 1)
    plug_in = delta_method_variance(mean_x, mean_y, clicks.var(axis=1, ddof=1),
                                    impressions.var(axis=1, ddof=1), cov_xy, USERS_PER_ARM)
    return CtrExperiments(ctr, plug_in, ctr * (1 - ctr) / impressions.sum(axis=1))


def variance_formula_claim(formula: Callable[..., float], experiments: CtrExperiments) -> Claim:
    """A variance formula, fed the card's moments, against the variance of CTR across experiments."""
    m = CARD_MOMENTS
    predicted = formula(m.mean_clicks, m.mean_impressions, m.sd_clicks ** 2, m.sd_impressions ** 2,
                        m.covariance, USERS_PER_ARM)
    gap = abs(np.log(experiments.variance_across / predicted)) / experiments.log_variance_se
    return check("The delta-method variance of a per-user ratio matches the variance across experiments",
                 gap < TOLERANCE_IN_SE,
                 f"formula {predicted:.3e}, across {EXPERIMENTS} simulated arms "
                 f"{experiments.variance_across:.3e} ({gap:.1f} SE apart)")


@lab("delta-method-ratio", "CTR over users: the delta method is right, a binomial SE over impressions is not")
def delta_method_ratio(rng: np.random.Generator) -> list[Claim]:
    from scipy import stats

    experiments = simulate_ctr_experiments(rng)
    m = CARD_MOMENTS
    ratio = m.mean_clicks / m.mean_impressions
    naive = ratio * (1 - ratio) / (USERS_PER_ARM * m.mean_impressions)
    delta = delta_method_variance(m.mean_clicks, m.mean_impressions, m.sd_clicks ** 2,
                                  m.sd_impressions ** 2, m.covariance, USERS_PER_ARM)
    card_factor = delta / naive  # 2.4525 / (20 * 0.0475) = 2.58, whatever the number of users
    measured_factor = experiments.variance_across / naive
    factor_gap = abs(np.log(measured_factor / 2.6)) / experiments.log_variance_se
    plug_in_gap = abs(np.log(experiments.plug_in_delta.mean() / experiments.variance_across)) \
        / experiments.log_variance_se

    treatment, control = experiments.ctr[0::2], experiments.ctr[1::2]
    pairs = treatment.size

    def rejection_rate(variances: np.ndarray) -> float:
        z = (treatment - control) / np.sqrt(variances[0::2] + variances[1::2])
        return float(np.mean(np.abs(z) > 1.96))

    naive_rate = rejection_rate(experiments.naive_binomial)
    delta_rate = rejection_rate(experiments.plug_in_delta)
    predicted_rate = 2 * stats.norm.sf(1.96 / np.sqrt(card_factor))

    def rate_gap(measured: float, expected: float) -> float:
        return abs(measured - expected) / np.sqrt(expected * (1 - expected) / pairs)

    return [
        variance_formula_claim(delta_method_variance, experiments),
        check("Each experiment's own plug-in delta-method estimate agrees on average",
              plug_in_gap < TOLERANCE_IN_SE,
              f"mean plug-in {experiments.plug_in_delta.mean():.3e} vs {experiments.variance_across:.3e}"),
        check("The naive binomial SE over impressions understates the variance about 2.6-fold",
              factor_gap < TOLERANCE_IN_SE,
              f"variance across experiments / binomial = {measured_factor:.2f} "
              f"(card's moments give {card_factor:.2f}; SE ratio {np.sqrt(measured_factor):.2f})"),
        check("A/A tests trusting the binomial SE reject about 22% at nominal 5%; delta-method ones 5%",
              rate_gap(naive_rate, predicted_rate) < TOLERANCE_IN_SE
              and rate_gap(delta_rate, 0.05) < TOLERANCE_IN_SE,
              f"{pairs} A/A tests: binomial {naive_rate:.1%} (predicted {predicted_rate:.1%}), "
              f"delta method {delta_rate:.1%}"),
    ]


# --- inverse propensity weighting -----------------------------------------------------------------

TRUE_EFFECT = 1.0
IPW_REPLICATES, IPW_UNITS = 300, 1000


@dataclass(frozen=True)
class ObservationalStudy:
    """Replicated confounded studies: X raises both the chance of treatment and the outcome."""
    treated: np.ndarray
    outcome: np.ndarray
    propensity: np.ndarray


def confounded_study(rng: np.random.Generator, overlap_slope: float) -> ObservationalStudy:
    """e(x) = sigmoid(slope x) and Y = 1 + ATE T + 2x + noise; a steeper slope means worse overlap."""
    shape = (IPW_REPLICATES, IPW_UNITS)
    x = rng.normal(size=shape)
    propensity = 1 / (1 + np.exp(-overlap_slope * x))
    treated = rng.random(shape) < propensity
    outcome = 1 + TRUE_EFFECT * treated + 2 * x + rng.normal(size=shape)
    return ObservationalStudy(treated, outcome, propensity)


def horvitz_thompson_ate(treated: np.ndarray, outcome: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """The card's estimator: mean of T Y / e - (1 - T) Y / (1 - e), one estimate per replicate."""
    return (treated * outcome / propensity - ~treated * outcome / (1 - propensity)).mean(axis=1)


def naive_difference(study: ObservationalStudy) -> np.ndarray:
    t, y = study.treated, study.outcome
    return (y * t).sum(axis=1) / t.sum(axis=1) - (y * ~t).sum(axis=1) / (~t).sum(axis=1)


def effective_sample_size(weights: np.ndarray) -> np.ndarray:
    """Kish's (Σw)² / Σw², along the last axis."""
    return weights.sum(axis=-1) ** 2 / (weights ** 2).sum(axis=-1)


def ate_recovery_claim(estimator: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                       study: ObservationalStudy) -> Claim:
    """An ATE estimator's mean over replicates against the true effect, within its standard error."""
    estimates = estimator(study.treated, study.outcome, study.propensity)
    standard_error = estimates.std(ddof=1) / np.sqrt(estimates.size)
    return check("IPW with the known propensities recovers the true ATE",
                 abs(estimates.mean() - TRUE_EFFECT) < TOLERANCE_IN_SE * standard_error,
                 f"mean {estimates.mean():.3f} ± {standard_error:.3f} over {estimates.size} studies; "
                 f"true {TRUE_EFFECT}")


@lab("ipw", "Confounding biases the naive difference; IPW with known propensities removes it")
def ipw(rng: np.random.Generator) -> list[Claim]:
    study = confounded_study(rng, overlap_slope=1.0)
    naive = naive_difference(study)
    naive_se = naive.std(ddof=1) / np.sqrt(naive.size)

    # Slopes far enough apart that the SD of the estimate differs by many of its own standard errors.
    slopes = (0.5, 1.5, 2.5)
    studies = [confounded_study(rng, slope) for slope in slopes]
    ess = [float(effective_sample_size(s.treated / s.propensity).mean()) for s in studies]
    spread = [float(horvitz_thompson_ate(s.treated, s.outcome, s.propensity).std()) for s in studies]
    treated = float(study.treated.sum(axis=1).mean())

    card_weights = np.r_[np.full(98, 2.0), np.full(2, 50.0)]
    noise = rng.normal(size=(4000, card_weights.size))
    weighted_mean_variance = float((noise @ card_weights / card_weights.sum()).var(ddof=1))
    information = 1 / weighted_mean_variance
    information_gap = abs(np.log(information / 16)) / np.sqrt(2 / (noise.shape[0] - 1))
    return [
        check("With confounding the naive difference in means is biased",
              naive.mean() - TRUE_EFFECT > 10 * naive_se,
              f"naive {naive.mean():.3f} ± {naive_se:.3f} vs true {TRUE_EFFECT}"),
        ate_recovery_claim(horvitz_thompson_ate, study),
        check("As propensities get extreme the ESS of the treated falls and the IPW estimate gets noisier",
              ess[0] > ess[1] > ess[2] and spread[0] < spread[1] < spread[2],
              f"slopes {slopes}: ESS {ess[0]:.0f}, {ess[1]:.0f}, {ess[2]:.0f} of ~{treated:.0f} treated; "
              f"SD of the estimate {spread[0]:.3f}, {spread[1]:.3f}, {spread[2]:.3f}"),
        check("Card's example: 98 weights of 2 and 2 of 50 carry the information of about 16 units",
              information_gap < TOLERANCE_IN_SE,
              f"weighted mean of unit noise has the variance of a mean of {information:.1f} units "
              f"(ESS formula {float(effective_sample_size(card_weights)):.2f})"),
    ]


# --- reservoir sampling ----------------------------------------------------------------------------

STREAM_LENGTH, RESERVOIR_SIZE, SAMPLING_RUNS = 10, 3, 200_000  # the card's k = 3 of 10, 200,000 runs

Sampler = Callable[[np.random.Generator, int, int, int], np.ndarray]


def algorithm_r(rng: np.random.Generator, stream_length: int, k: int, runs: int) -> np.ndarray:
    """The card's Algorithm R, run on many streams at once: one row of k item indices per run."""
    reservoir = np.tile(np.arange(k), (runs, 1))
    for index in range(k, stream_length):        # 0-based: index + 1 items seen
        slot = rng.integers(0, index + 1, size=runs)
        accepted = slot < k
        reservoir[accepted, slot[accepted]] = index
    return reservoir


def inclusion_claim(sampler: Sampler, rng: np.random.Generator) -> Claim:
    """Chi-square test that every item is kept with probability k/n.

    Inclusion counts are not multinomial: each run keeps k distinct items, so the counts are
    negatively correlated with covariance R p (1 - p) n/(n-1) (I - J/n), p = k/n. Dividing the
    squared deviations by R p (1 - p) n/(n-1) gives chi-square with n - 1 degrees of freedom; the
    usual Pearson divisor R p would make the test too lenient by the factor (1 - p) n/(n-1).
    """
    from scipy import stats

    n, k, runs = STREAM_LENGTH, RESERVOIR_SIZE, SAMPLING_RUNS
    counts = np.bincount(sampler(rng, n, k, runs).ravel(), minlength=n)
    p = k / n
    statistic = float(np.sum((counts - runs * p) ** 2) / (runs * p * (1 - p) * n / (n - 1)))
    p_value = float(stats.chi2.sf(statistic, n - 1))
    frequencies = counts / runs
    return check(f"Each of {n} items is kept with probability k/n = {p:.1f} (chi-square over items)",
                 p_value > stats.norm.sf(TOLERANCE_IN_SE) * 2,
                 f"{runs:,} runs: frequencies {frequencies.min():.4f}..{frequencies.max():.4f}, "
                 f"chi-square {statistic:.1f} on {n - 1} df, p = {p_value:.3g}")


def subset_claim(sampler: Sampler, rng: np.random.Generator) -> Claim:
    """Pearson chi-square over all C(n, k) subsets: each is one multinomial cell of equal probability."""
    from scipy import stats

    n, k, runs = STREAM_LENGTH, RESERVOIR_SIZE, SAMPLING_RUNS
    reservoir = sampler(rng, n, k, runs)
    codes = (1 << reservoir).sum(axis=1)
    possible = np.array([code for code in range(1 << n) if code.bit_count() == k])
    counts = np.bincount(codes, minlength=1 << n)[possible]
    expected = runs / possible.size
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, possible.size - 1))
    return check(f"All {possible.size} subsets of {k} items are equally likely (chi-square over subsets)",
                 counts.sum() == runs and p_value > stats.norm.sf(TOLERANCE_IN_SE) * 2,
                 f"chi-square {statistic:.1f} on {possible.size - 1} df, p = {p_value:.3g}")


@lab("reservoir-sampling", "Algorithm R keeps every item of a stream with probability k/n")
def reservoir_sampling(rng: np.random.Generator) -> list[Claim]:
    return [inclusion_claim(algorithm_r, rng), subset_claim(algorithm_r, rng)]
