"""Lab outcomes kept in the database, so that a lab a worker computed is computed once for
every app process of a hosted trainer."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from razbor.storage.store import Store
from razbor.storage.tables import lab_outcomes


def saved_lab_outcome(store: Store, lab: str, seed: int,
                      version: str) -> tuple[list[dict] | None, str] | None:
    """The claims (as dicts) and problem a lab left for this razbor version; None if not yet
    computed."""
    with store.reading() as db:
        row = db.execute(sa.select(lab_outcomes.c.claims, lab_outcomes.c.problem).where(
            lab_outcomes.c.lab == lab, lab_outcomes.c.seed == seed,
            lab_outcomes.c.version == version)).first()
    return (row.claims, row.problem) if row else None


def save_lab_outcome(store: Store, lab: str, seed: int, version: str,
                     claims: list[dict] | None, problem: str, now: datetime) -> None:
    """Keep a lab's outcome; one another worker saved first stands (both come from the same
    seed and code)."""
    try:
        with store.writing() as db:
            db.execute(lab_outcomes.insert().values(lab=lab, seed=seed, version=version,
                                                    claims=claims, problem=problem,
                                                    computed_at=now))
    except IntegrityError:
        return
