"""Grading that waits on a slow grader, done after the request that stored the attempt.

The LLM judge answers in seconds, up to its timeout; a web request that waited for it would
hold a server thread all that time, and a few users submitting at once would stall the
server. So the web app stores such an attempt with its grading queued, answers at once (the
attempt page says the feedback is coming and refreshes), and grades it here: in a thread of
the server process by default, or, with `--jobs queue`, in a `razbor worker` through the job
queue. A process that starts takes up what is still queued, so a restart loses nothing; an
attempt graded twice (two processes taking it up at once) keeps the first feedback.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from razbor.jobs import JobQueue
    from razbor.practice import Trainer

log = logging.getLogger(__name__)


class DeferredGrading:
    """Where the web app sends attempts to grade after it has answered."""

    def __init__(self, trainer: Trainer, queue: JobQueue | None = None):
        self.trainer = trainer
        self.queue = queue
        self._threads: ThreadPoolExecutor | None = None

    @property
    def defers(self) -> bool:
        """Whether attempts are graded later: only when the grader is slow."""
        return self.trainer.grades_slowly

    def start(self) -> None:
        """Connect to the job queue, or take up every attempt still waiting for its feedback
        (left by a process that stopped before grading it)."""
        if not self.defers:
            return
        if self.queue is not None:
            self.queue.open()
            return
        for attempt_id in self.trainer.store.ungraded_attempts():
            self.grade_later(attempt_id)

    def stop(self) -> None:
        """Stop taking work; an attempt not yet graded stays queued for the next start."""
        if self.queue is not None and self.defers:
            self.queue.close()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None

    def grade_later(self, attempt_id: int) -> None:
        """Have the attempt graded: by a worker through the queue, or by this process's
        grading thread (one: a local LLM server answers one request at a time anyway)."""
        if self.queue is not None:
            self.queue.grade(attempt_id)
            return
        if self._threads is None:
            self._threads = ThreadPoolExecutor(1, thread_name_prefix="razbor-grading")
        self._threads.submit(self._grade, attempt_id)

    def _grade(self, attempt_id: int) -> None:
        try:
            self.trainer.grade_attempt(attempt_id)
        except Exception:  # a broken attempt must not stop the grading of the others
            log.exception("grading attempt %s failed; it stays queued", attempt_id)
