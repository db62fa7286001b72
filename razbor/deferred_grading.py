"""Grading that waits on a slow grader, done after the request that stored the attempt.

The LLM judge answers in seconds, up to its timeout; a web request that waited for it would
hold a server thread all that time, and a few users submitting at once would stall the
server. So the web app stores such an attempt with its grading queued, answers at once (the
attempt page says the feedback is coming and brings it in), and grades it here: in a thread
of the server process by default, or, with `--jobs queue`, in a `razbor worker` through the
job queue.

A process that starts takes up every attempt still waiting, whatever its grader is now, so a
restart or a change of grader loses nothing. Several processes may reach for one attempt (app
processes starting together on one database); each first claims it, and only the one that
gets the claim asks the grader (see Trainer.grade_attempt); the others look again once the
claim would have run out, in case its process died.
"""

from __future__ import annotations

import logging
import threading
from queue import SimpleQueue
from typing import TYPE_CHECKING

from razbor.practice import GRADING_CLAIM_SECONDS, GradingBusy

if TYPE_CHECKING:
    from razbor.jobs import JobQueue
    from razbor.practice import Trainer

log = logging.getLogger(__name__)


class DeferredGrading:
    """Where the web app sends attempts to grade after it has answered."""

    def __init__(self, trainer: Trainer, queue: JobQueue | None = None,
                 recheck_after: float = GRADING_CLAIM_SECONDS):
        self.trainer = trainer
        self.queue = queue
        self.recheck_after = recheck_after
        self._waiting: SimpleQueue[int | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def defers(self) -> bool:
        """Whether new attempts are graded later: only when the grader is slow."""
        return self.trainer.grades_slowly

    def start(self) -> None:
        """Connect to the job queue or start the grading thread, and take up every attempt
        still waiting for its feedback (left by a process that stopped before grading it)."""
        if self.queue is not None:
            self.queue.open()
        else:
            with self._lock:
                self._waiting = SimpleQueue()
                self._thread = threading.Thread(target=self._work, args=(self._waiting,),
                                                name="razbor-grading", daemon=True)
                self._thread.start()
        for attempt_id in self.trainer.store.ungraded_attempts():
            self.grade_later(attempt_id)

    def stop(self) -> None:
        """Stop taking work. An attempt being graded is left to its thread (a daemon: the
        process does not wait for the judge), and one not yet graded stays queued for the
        next start."""
        if self.queue is not None:
            self.queue.close()
        with self._lock:
            if self._thread is not None:
                self._waiting.put(None)
                self._thread = None

    def grade_later(self, attempt_id: int) -> None:
        """Have the attempt graded: by a worker through the queue, or by this process's one
        grading thread (a local LLM server answers one request at a time anyway)."""
        if self.queue is not None:
            self.queue.grade(attempt_id)
        else:
            self._waiting.put(attempt_id)

    def _work(self, waiting: SimpleQueue[int | None]) -> None:
        while (attempt_id := waiting.get()) is not None:
            try:
                self.trainer.grade_attempt(attempt_id)
            except GradingBusy:
                self._recheck(waiting, attempt_id)
            except Exception:  # a broken attempt must not stop the grading of the others
                log.exception("grading attempt %s failed; it stays queued", attempt_id)

    def _recheck(self, waiting: SimpleQueue[int | None], attempt_id: int) -> None:
        """Ask again once another process's claim would have run out: by then it has graded
        the attempt, or it died and the claim is free."""
        timer = threading.Timer(self.recheck_after, waiting.put, args=(attempt_id,))
        timer.daemon = True
        timer.start()
