"""Labs for a web server: each computed once per lab and seed, one at a time, off the request.

Some labs train small networks for many seconds; a page that ran them on every request could be
made to burn the CPU by anyone who links to it. Here a request only asks for a result: it gets
the finished one, or None while the one worker thread computes it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from razbor.labs import LabResult, LabUnavailable, run_lab

log = logging.getLogger(__name__)


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
