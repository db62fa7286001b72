"""Background work on a real queue when razbor is hosted: procrastinate on the same PostgreSQL.

The work is transcription, grading with a slow grader (the LLM judge), and labs.

On a laptop (and on SQLite) slow work runs in a thread of the one server process. A hosted
trainer with several app processes sets `--jobs queue`: the app processes only defer jobs to
procrastinate's tables in razbor's own PostgreSQL database, and `razbor worker` processes run
them. No extra service is needed, and a job lives in the database from the moment it is
deferred, so a restarted app process neither loses nor re-runs another's work.

A worker killed mid-job leaves the job 'doing' with a heartbeat that stops; every worker
looks for such stalled jobs each minute and puts them back in the queue. Jobs are idempotent
(a transcription rewrites its own recording row and skips a finished one; a
grading writes only an attempt still waiting for its feedback), so a job run twice
shows nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import suppress
from typing import TYPE_CHECKING

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from razbor.labs.background import compute_and_save

if TYPE_CHECKING:
    from razbor.practice import Trainer
    from razbor.transcription import TranscriptionService

log = logging.getLogger(__name__)
QUEUE = "razbor"
# Gradings and labs have queues of their own: a worker runs only the jobs it can (one without
# speech would fail every transcription it took). Every worker can run labs.
GRADING_QUEUE = "razbor-grading"
LAB_QUEUE = "razbor-labs"
TRANSCRIBE = "razbor.transcribe"
GRADE = "razbor.grade"
LAB = "razbor.lab"
# A grading that failed (the database was away, or a dead worker's claim has not run out) is
# tried again this often, this long apart: longer in all than a claim holds.
GRADE_RETRY = procrastinate.RetryStrategy(max_attempts=6, wait=30)
RETRY_STALLED = "razbor.retry_stalled"
# A worker sends a heartbeat every 10 s; one silent for this long is taken for dead.
STALLED_AFTER_SECONDS = 60


def conninfo(database_url: str) -> str:
    """psycopg's connection string for razbor's SQLAlchemy URL of a PostgreSQL database."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def apply_schema(database_url: str) -> None:
    """Create procrastinate's tables once; app and worker processes starting together take
    turns on an advisory lock, and later starts find the tables made."""
    import psycopg

    with (psycopg.connect(conninfo(database_url), autocommit=True) as connection,
          connection.transaction()):
        connection.execute("SELECT pg_advisory_xact_lock(7370214552)")
        found = connection.execute(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]
        if not found:
            connection.execute(SchemaManager.get_schema())


class JobQueue:
    """What an app process uses: defer a job by name, nothing else (no task code runs here).

    One queue serves every service of the process (transcription, grading, labs): each opens
    it when it starts and closes it when it stops, and the connection lives while any needs it.
    """

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url)))
        self._users = 0
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if self._users == 0:
                apply_schema(self.database_url)
                self.app.open()
            self._users += 1

    def close(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self.app.close()

    def transcribe(self, recording_id: int) -> None:
        self.app.configure_task(TRANSCRIBE, queue=QUEUE).defer(recording_id=recording_id)

    def run_lab(self, name: str, seed: int) -> None:
        """Defer a lab's computation: one job waiting however many requests ask meanwhile, and
        one running at a time (a job queued while another runs finds the outcome saved)."""
        with suppress(AlreadyEnqueued):
            key = f"{LAB}:{name}:{seed}"
            self.app.configure_task(LAB, queue=LAB_QUEUE, queueing_lock=key,
                                    lock=key).defer(name=name, seed=seed)

    def grade(self, attempt_id: int) -> None:
        """Defer the grading of an attempt, once: app processes starting together all find
        the attempts left waiting, and one queued job per attempt is enough."""
        with suppress(AlreadyEnqueued):
            self.app.configure_task(GRADE, queue=GRADING_QUEUE,
                                    queueing_lock=f"{GRADE}:{attempt_id}").defer(
                attempt_id=attempt_id)


def worker_queues(trainer: Trainer, speech: TranscriptionService | None) -> list[str]:
    """The queues a worker takes jobs from: those whose jobs it can run."""
    return [*([QUEUE] if speech is not None else []),
            *([GRADING_QUEUE] if trainer.grades_slowly else []), LAB_QUEUE]


def worker_app(database_url: str, trainer: Trainer, speech: TranscriptionService | None,
               stalled_after: float = STALLED_AFTER_SECONDS) -> procrastinate.App:
    """The procrastinate app a `razbor worker` process runs, with razbor's tasks."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)))

    @app.task(name=TRANSCRIBE, queue=QUEUE, pass_context=False)
    def transcribe(recording_id: int) -> None:
        speech.run(recording_id, take_over=True)

    @app.task(name=GRADE, queue=GRADING_QUEUE, pass_context=False, retry=GRADE_RETRY)
    def grade(attempt_id: int) -> None:
        trainer.grade_attempt(attempt_id)  # GradingBusy fails the job: the retry looks again

    @app.task(name=LAB, queue=LAB_QUEUE, pass_context=False)
    def lab(name: str, seed: int) -> None:
        compute_and_save(trainer.store, name, seed)

    @app.periodic(cron="* * * * *", periodic_id="retry-stalled")
    @app.task(name=RETRY_STALLED, queue=LAB_QUEUE, queueing_lock=RETRY_STALLED)
    async def retry_stalled(timestamp: int) -> None:
        await _retry_stalled(app, stalled_after)

    return app


async def _retry_stalled(app: procrastinate.App, stalled_after: float) -> None:
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        log.warning("job %s (%s) stalled on a dead worker: queued again", job.id, job.task_name)
        await app.job_manager.retry_job(job)


def run_worker(database_url: str, trainer: Trainer, speech: TranscriptionService | None,
               concurrency: int = 1, stalled_after: float = STALLED_AFTER_SECONDS) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM let the current job finish first).

    Jobs that workers silent for stalled_after seconds left half-done are queued again, now
    and then each minute.
    """
    apply_schema(database_url)
    app = worker_app(database_url, trainer, speech, stalled_after)

    async def work() -> None:
        async with app.open_async():
            await _retry_stalled(app, stalled_after)
            await app.run_worker_async(queues=worker_queues(trainer, speech),
                                       concurrency=concurrency,
                                       install_signal_handlers=True,
                                       stalled_worker_timeout=stalled_after)

    asyncio.run(work())
