"""Labs for a web server: each computed once per lab and seed, one at a time, off the request.

Some labs train small networks for many seconds; a page that ran them on every request could be
made to burn the CPU by anyone who links to it. Here a request only asks for a result: it gets
the finished one, or None while it is computed: by the server's one lab thread (LabCache), or,
for a hosted trainer that hands slow work to `razbor worker` (`--jobs queue`), by a worker,
which keeps it in the database for every app process (QueuedLabs).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from razbor.labs import Claim, LabResult, LabUnavailable, get_lab, run_lab

if TYPE_CHECKING:
    from razbor.jobs import JobQueue
    from razbor.storage import Store

log = logging.getLogger(__name__)
# Seconds an app process waits before it asks the job queue for a lab again: the job may have
# been lost with its worker, or the lab's saved problem may be gone (a package installed).
ASK_AGAIN_SECONDS = 300


@dataclass(frozen=True)
class LabOutcome:
    """A finished lab: its result, or why it could not run (a missing package, a crash)."""

    result: LabResult | None = None
    problem: str = ""


class LabCache:
    """Finished lab outcomes, newest kept, and a queue that one worker thread drains.

    The worker starts when work arrives and ends when the queue is empty, so an idle server
    holds no thread. Keys are (lab name, seed); only registered labs can be asked for, so the
    queue holds at most one entry per lab.
    """

    def __init__(self, max_entries: int = 64):
        self.max_entries = max_entries
        self._finished: OrderedDict[tuple[str, int], LabOutcome] = OrderedDict()
        self._queue: deque[tuple[str, int]] = deque()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        """Nothing to start: the lab thread starts when work arrives."""

    def stop(self) -> None:
        """Nothing to stop: the lab thread ends when its queue is empty."""

    def outcome(self, name: str, seed: int = 0) -> LabOutcome | None:
        """The finished outcome, or None after making sure it is being computed."""
        key = (name, seed)
        with self._lock:
            if key in self._finished:
                self._finished.move_to_end(key)
                return self._finished[key]
            if key not in self._queue:
                self._queue.append(key)
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="razbor-labs",
                                                daemon=True)
                self._worker.start()
        return None

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                key = self._queue[0]
            outcome = _compute(*key)
            with self._lock:
                self._queue.popleft()
                self._finished[key] = outcome
                while len(self._finished) > self.max_entries:
                    self._finished.popitem(last=False)


def _compute(name: str, seed: int) -> LabOutcome:
    """Any failure becomes the outcome: a worker that died would leave the page computing."""
    try:
        return LabOutcome(result=run_lab(name, seed=seed))
    except LabUnavailable as error:
        return LabOutcome(problem=str(error))
    except Exception as error:
        log.exception("lab %s (seed %d) failed", name, seed)
        return LabOutcome(problem=f"lab {name!r} failed: {error}")


class QueuedLabs:
    """Lab outcomes a worker computed and saved, read from the database; a lab not computed
    yet is deferred to the job queue, once however many processes ask (the job's queueing
    lock), and at most every ASK_AGAIN_SECONDS by one process while it waits (the page asks
    every two seconds). A saved problem (a package missing on the workers, a crash) is shown,
    and tried again after ASK_AGAIN_SECONDS."""

    def __init__(self, store: Store, queue: JobQueue):
        self.store = store
        self.queue = queue
        self._finished: dict[tuple[str, int], LabOutcome] = {}
        self._asked: dict[tuple[str, int], float] = {}

    def start(self) -> None:
        """Connect to the job queue."""
        self.queue.open()

    def stop(self) -> None:
        """Let go of the job queue."""
        self.queue.close()

    def outcome(self, name: str, seed: int = 0) -> LabOutcome | None:
        """The saved outcome, or None after making sure a job computes it. Claims are kept
        in memory once read (they never change for this code; two requests reading at once
        only read twice)."""
        from razbor.storage.lab_outcomes import saved_lab_outcome

        key = (name, seed)
        if key in self._finished:
            return self._finished[key]
        saved = saved_lab_outcome(self.store, name, seed, labs_version())
        if saved is not None and saved.claims is not None:
            outcome = LabOutcome(result=LabResult(get_lab(name),
                                                  tuple(Claim(**claim) for claim in saved.claims)))
            self._finished[key] = outcome
            return outcome
        asked = self._asked.get(key)
        if asked is None or time.monotonic() - asked > ASK_AGAIN_SECONDS:
            self._asked[key] = time.monotonic()
            self.queue.run_lab(name, seed)
        return LabOutcome(problem=saved.problem) if saved is not None else None


def compute_and_save(store: Store, name: str, seed: int) -> None:
    """What a worker's lab job does: run the lab, unless another job already did, and keep
    its outcome for every app process."""
    from razbor.storage.lab_outcomes import save_lab_outcome, saved_lab_outcome

    saved = saved_lab_outcome(store, name, seed, labs_version())
    if saved is not None and saved.claims is not None:
        return
    outcome = _compute(name, seed)
    claims = [asdict(claim) for claim in outcome.result.claims] if outcome.result else None
    save_lab_outcome(store, name, seed, labs_version(), claims, outcome.problem,
                     datetime.now(UTC))


@cache
def labs_version() -> str:
    """A digest of the labs' code: an outcome saved by other code may no longer hold."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:40]
