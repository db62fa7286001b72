"""Fitting the scheduler to one user's review log, judged on reviews the fit did not see.

The log is split by time: the older part fits the FSRS parameters, the newest part is held
out, and both the current and the fitted parameters predict its recalls (replaying each
card's whole history, so the memory state before a held-out review is the one the scheduler
would have had). Fitted parameters are kept in the database for that user alone (several
people on one hosted trainer each get their own) and apply from the next start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from razbor.scheduling import (
    DEFAULT_PARAMETERS,
    PastReview,
    fit_parameters,
    predicted_recalls,
)
from razbor.storage.preferences import FittedParameters, save_fitted_parameters

if TYPE_CHECKING:
    from razbor.storage import Store

HOLDOUT = 0.2
MIN_FIT_REVIEWS = 512  # below this the fsrs optimizer returns its defaults unchanged
BINS = 10
CLIP = 1e-6


class NotEnoughReviews(ValueError):
    """Too few reviews to fit or to judge a fit; the message says how many are needed."""


@dataclass(frozen=True)
class Score:
    """How well parameters predict recall on held-out reviews.

    log_loss: binary cross-entropy of predicted recall (lower is better).
    rmse_bins: calibration error: reviews grouped into ten bins of predicted recall, the
    root mean square gap between predicted and actual recall per bin, weighted by size.
    """

    reviews: int
    log_loss: float
    rmse_bins: float


@dataclass(frozen=True)
class Fit:
    parameters: tuple[float, ...]
    before_parameters: tuple[float, ...]
    split_at: datetime
    fit_reviews: int
    held_out_reviews: int
    before: Score
    after: Score

    @property
    def improved(self) -> bool:
        return self.after.log_loss < self.before.log_loss


def split_moment(history: Sequence[PastReview], holdout: float = HOLDOUT) -> datetime:
    """The time from which the newest `holdout` share of the reviews is held out."""
    moments = sorted(review.at for review in history)
    return moments[min(len(moments) - 1, int(len(moments) * (1 - holdout)))]


def score(history: Sequence[PastReview], held_out_from: datetime,
          parameters: Sequence[float]) -> Score:
    """Log loss and binned RMSE of the recalls of reviews at or after `held_out_from`."""
    pairs = [(probability, history[index].rating > 1)
             for index, probability in predicted_recalls(history, parameters)
             if history[index].at >= held_out_from]
    if not pairs:
        raise NotEnoughReviews("no held-out review comes a day or more after its card's "
                               "previous review, so there is nothing to judge the fit on")
    loss = -sum(math.log(min(max(p, CLIP), 1 - CLIP)) if recalled
                else math.log(1 - min(max(p, CLIP), 1 - CLIP))
                for p, recalled in pairs) / len(pairs)
    return Score(len(pairs), loss, _rmse_bins(pairs))


def _rmse_bins(pairs: Sequence[tuple[float, bool]]) -> float:
    bins: dict[int, list[tuple[float, bool]]] = {}
    for probability, recalled in pairs:
        bins.setdefault(min(int(probability * BINS), BINS - 1), []).append((probability, recalled))
    squares = sum(len(members) * (sum(p for p, _ in members) / len(members)
                                  - sum(r for _, r in members) / len(members)) ** 2
                  for members in bins.values())
    return math.sqrt(squares / len(pairs))


def fit(history: Sequence[PastReview], current: Sequence[float] | None = None,
        holdout: float = HOLDOUT) -> Fit:
    """Fit on the older reviews, judge current and fitted parameters on the newer ones.

    NotEnoughReviews when the older part has fewer reviews to learn from than the optimizer
    needs; OptimizerUnavailable when its extra is not installed.
    """
    if not history:
        raise NotEnoughReviews("the review log is empty (fix: practise first)")
    before = tuple(current or DEFAULT_PARAMETERS)
    cut = split_moment(history, holdout)
    older = [review for review in history if review.at < cut]
    learnable = len(predicted_recalls(older, before))
    if learnable < MIN_FIT_REVIEWS:
        raise NotEnoughReviews(
            f"{learnable} of the reviews before {cut:%Y-%m-%d} come a day or more after their "
            f"card's previous review; fitting needs at least {MIN_FIT_REVIEWS} (fix: keep "
            "practising, or hold out less with --holdout)")
    parameters = fit_parameters(older)
    return Fit(parameters=parameters, before_parameters=before, split_at=cut,
               fit_reviews=learnable, held_out_reviews=len(history) - len(older),
               before=score(history, cut, before), after=score(history, cut, parameters))


def save_fit(store: Store, user_id: int, result: Fit, now: datetime) -> None:
    """Keep the fitted parameters for the user, with the scores that justified them."""
    save_fitted_parameters(store, user_id, FittedParameters(
        result.parameters, now, result.split_at, result.before.log_loss,
        result.after.log_loss))
