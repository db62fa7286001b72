"""Lab outcomes kept in the database, so that a lab a worker computed is computed once for
every app process of a hosted trainer. Keyed by lab, seed and a digest of the labs' code: an
outcome of other code may no longer hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from razbor.storage.store import Store
from razbor.storage.tables import lab_outcomes


@dataclass(frozen=True)
class SavedLabOutcome:
    """Claims (as dicts), or the problem that kept the lab from running, and when."""

    claims: list[dict] | None
    problem: str
    computed_at: datetime


def saved_lab_outcome(store: Store, lab: str, seed: int, version: str) -> SavedLabOutcome | None:
    """What a worker saved for this lab, seed and code; None if nothing yet."""
    with store.reading() as db:
        row = db.execute(sa.select(lab_outcomes.c.claims, lab_outcomes.c.problem,
                                   lab_outcomes.c.computed_at).where(
            lab_outcomes.c.lab == lab, lab_outcomes.c.seed == seed,
            lab_outcomes.c.version == version)).first()
    return SavedLabOutcome(row.claims, row.problem, row.computed_at) if row else None


def save_lab_outcome(store: Store, lab: str, seed: int, version: str,
                     claims: list[dict] | None, problem: str, now: datetime) -> None:
    """Keep a lab's outcome. Claims, once saved, stand (they come from the same seed and code);
    a problem (a package missing, a crash) is replaced by the next try's outcome."""
    values = {"claims": claims, "problem": problem, "computed_at": now}
    try:
        with store.writing() as db:
            db.execute(lab_outcomes.insert().values(lab=lab, seed=seed, version=version,
                                                    **values))
    except IntegrityError:
        with store.writing() as db:
            db.execute(lab_outcomes.update().where(
                lab_outcomes.c.lab == lab, lab_outcomes.c.seed == seed,
                lab_outcomes.c.version == version, lab_outcomes.c.claims.is_(None),
            ).values(**values))
