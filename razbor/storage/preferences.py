"""Each user's own settings kept in the database: the target date of the readiness plan, and
the FSRS parameters fitted to their review log.

Both are one row per user, written whole in one statement, so a reader sees the old row or the
new one and never half of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from razbor.readiness import TargetDate
from razbor.scheduling import SchedulerSettings
from razbor.storage.store import StorageError, Store
from razbor.storage.tables import fsrs_parameters, user_preferences

# Read on every practice page: built once, with the user as a parameter.
TARGET_DATE = (sa.select(user_preferences.c.interview_date, user_preferences.c.interview_topics)
               .where(user_preferences.c.user_id == sa.bindparam("user_id")))


class BadSavedParameters(StorageError):
    """A user's stored FSRS parameters are ones FSRS refuses; the message says the fix."""


@dataclass(frozen=True)
class FittedParameters:
    """FSRS parameters fitted to one user's reviews, with how they were judged: log loss on the
    reviews from held_out_from on, with the parameters before the fit and with these."""

    parameters: tuple[float, ...]
    fitted_at: datetime
    held_out_from: datetime
    log_loss_before: float
    log_loss_after: float


def target_date(store: Store, user_id: int) -> TargetDate | None:
    """The user's target date and its topics, or None if they have not set one."""
    with store.reading() as db:
        row = db.execute(TARGET_DATE, {"user_id": user_id}).first()
    if row is None or row.interview_date is None:
        return None
    return TargetDate(row.interview_date, tuple(row.interview_topics or ()))


def save_target_date(store: Store, user_id: int, target: TargetDate | None,
                     now: datetime) -> None:
    """Set the user's target date and topics, or clear them with None."""
    day: date | None = target.day if target else None
    topics = list(target.topics) if target and target.topics else None
    with store.writing() as db:
        _upsert(db, user_preferences, user_id, interview_date=day, interview_topics=topics,
                updated_at=now)


def fitted_parameters(store: Store, user_id: int) -> FittedParameters | None:
    """The parameters last fitted for the user, or None.

    BadSavedParameters if FSRS refuses them, rather than scheduling on numbers it cannot use
    or silently on the defaults.
    """
    with store.reading() as db:
        row = db.execute(sa.select(fsrs_parameters)
                         .where(fsrs_parameters.c.user_id == user_id)).first()
    if row is None:
        return None
    try:
        parameters = tuple(float(value) for value in row.parameters)
        SchedulerSettings(parameters=parameters)
    except (TypeError, ValueError) as error:
        raise BadSavedParameters(
            f"the FSRS parameters stored for user {user_id} are unusable "
            f"({' '.join(str(error).split())}) (fix: run `razbor optimize --user NAME` again)"
        ) from error
    return FittedParameters(parameters, row.fitted_at, row.held_out_from, row.log_loss_before,
                            row.log_loss_after)


def save_fitted_parameters(store: Store, user_id: int, fitted: FittedParameters) -> None:
    """Keep parameters fitted for the user, replacing any fitted before."""
    with store.writing() as db:
        _upsert(db, fsrs_parameters, user_id, parameters=list(fitted.parameters),
                fitted_at=fitted.fitted_at, held_out_from=fitted.held_out_from,
                log_loss_before=fitted.log_loss_before, log_loss_after=fitted.log_loss_after)


def _upsert(db: Connection, table: sa.Table, user_id: int, **values) -> None:
    dialect = postgresql if db.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(user_id=user_id, **values)
    db.execute(insert.on_conflict_do_update(index_elements=["user_id"], set_=values))
