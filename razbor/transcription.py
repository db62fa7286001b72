"""Spoken attempts: accept a recording, transcribe it off the request path, report progress.

Uploads are checked and stored before they are queued. By default a fixed number of threads
(one) in the server transcribes them in order, so several uploads wait in line instead of
loading several models into memory at once; jobs live in the database, so a restarted server
picks up what was queued or interrupted: at start, and while it runs, each process queues again
the recordings whose process stopped beating (a replaced process among `--workers N` leaves the
others' running recordings to them). A hosted trainer hands them to a job queue instead
(razbor.jobs), and `razbor worker` processes call `run`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, BinaryIO, Protocol

from razbor.cards import Card
from razbor.practice import InvalidInput, NotFound, Trainer
from razbor.speech.audio import AudioRejected, probe
from razbor.speech.normalise import mend_terms
from razbor.speech.transcript import Transcript
from razbor.speech.vocabulary import Vocabulary, card_vocabulary
from razbor.storage import RecordingRecord

if TYPE_CHECKING:
    from razbor.jobs import JobQueue

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5
SPEECH_LANGUAGES = ("ru", "en")
# What a user may choose for their spoken answers; the server setting also allows "card".
SPEECH_CHOICES = ("auto", *SPEECH_LANGUAGES)
# How much likelier a language is when the user's interface or the card is in it.
EXPECTED_WEIGHT = 0.5
# Beside each stored recording: the speaker's preferences, for whichever process transcribes it.
PREFERENCES_SUFFIX = ".speech.json"
# A process marks the recordings it is transcribing this often; one silent for STALLED_AFTER
# seconds belongs to a process that died, and the next process to look takes it over.
BEAT_SECONDS = 5.0
STALLED_AFTER_SECONDS = 30.0


class Transcriber(Protocol):
    def transcribe(self, path: Path, language: str | None = None,
                   progress: Callable[[float], None] | None = None, *,
                   hints: Vocabulary | None = None,
                   priors: Mapping[str, float] | None = None) -> Transcript: ...


def language_plan(choice: str | None, card: Card, interface: str | None = None
                  ) -> tuple[str | None, dict[str, float] | None]:
    """(the language to decode in, or None to detect it; the priors detection weighs).

    A user who chose a language gets it. Otherwise only the languages razbor serves compete,
    each a little likelier when the user's interface or the card is in it: a Russian answer
    that opens with "BatchNorm" is still Russian.
    """
    if choice in SPEECH_LANGUAGES:
        return choice, None
    if choice == "card":
        return card.lang, None
    priors = dict.fromkeys(SPEECH_LANGUAGES, 1.0)
    for expected in (interface, card.lang):
        if expected in priors:
            priors[expected] += EXPECTED_WEIGHT
    return None, priors


class Busy(InvalidInput):
    """Too many recordings are waiting; the user should try again shortly."""


class TranscriptionService:
    def __init__(self, trainer: Trainer, transcriber: Transcriber, audio_dir: Path,
                 max_seconds: float = 300, max_bytes: int = 20_000_000, language: str = "auto",
                 max_waiting: int = 8, workers: int = 1, queue: JobQueue | None = None,
                 beat_every: float = BEAT_SECONDS, stalled_after: float = STALLED_AFTER_SECONDS):
        self.trainer = trainer
        self.store = trainer.store
        self.transcriber = transcriber
        self.audio_dir = Path(audio_dir)
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.language = language
        self.max_waiting = max_waiting
        self.workers = workers
        self.queue = queue
        self.beat_every = beat_every
        self.stalled_after = stalled_after
        self._jobs: SimpleQueue[int | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: set[int] = set()
        self._waiting: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._takes_up = False
        self._vocabularies: dict[str, Vocabulary] = {}

    def start(self) -> None:
        """Start the threads and take up what is queued or what a dead process left
        running; with a job queue, only connect to it (its workers do the rest)."""
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        if self.queue is not None:
            self.queue.open()
            return
        if self._takes_up:
            return
        self._takes_up = True
        self._take_up(_now())
        workers = [threading.Thread(target=self._work, name=f"transcribe-{number}", daemon=True)
                   for number in range(self.workers)]
        for thread in workers:
            thread.start()
        self._threads.extend(workers)
        self._keep_beating()

    def stop(self) -> None:
        if self.queue is not None:
            self.queue.close()
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads + ([self._heartbeat] if self._heartbeat else []):
            thread.join(timeout=30)
        self._threads.clear()
        self._heartbeat = None
        self._takes_up = False

    def submit(self, user_id: int, card_id: str, upload: BinaryIO, language: str | None = None,
               interface: str | None = None) -> RecordingRecord:
        """Check and keep an upload, then queue it; AudioRejected or Busy change nothing.

        `language` is the user's choice for spoken answers (auto, ru or en; None for the
        server's setting), `interface` the language of their pages, a hint when detecting.
        The upload's name and declared type are not asked for: the stored type and suffix
        come from the container FFmpeg finds, so only audio is ever served back.
        """
        self.trainer.card(card_id)
        if len(self.store.recordings_with_status("queued")) >= self.max_waiting:
            raise Busy("too many recordings are waiting to be transcribed; try again in a "
                       "minute")
        with tempfile.NamedTemporaryFile(dir=self.audio_dir, suffix=".upload",
                                         delete=False) as temporary:
            pass
        try:
            with open(temporary.name, "wb") as target:
                size = _copy_limited(upload, target, self.max_bytes)
            if size == 0:
                raise AudioRejected("the recording is empty")
            info = probe(Path(temporary.name), self.max_seconds)
            mime, suffix = info.accepted_type()
            stored_name = f"{uuid.uuid4().hex}{suffix}"
            Path(temporary.name).replace(self.audio_dir / stored_name)
        except BaseException:
            Path(temporary.name).unlink(missing_ok=True)
            raise
        _preferences_path(self.audio_dir / stored_name).write_text(
            json.dumps({"language": language, "interface": interface}))
        recording = self.store.add_recording(user_id, card_id, stored_name, mime,
                                             size, info.duration, datetime.now(UTC))
        if self.queue is not None:
            self.queue.transcribe(recording.id)
        else:
            self._enqueue(recording.id)
        return recording

    def recording(self, user_id: int, recording_id: int) -> RecordingRecord:
        recording = self.store.recording(recording_id)
        if recording is None or recording.user_id != user_id:
            raise NotFound(f"no recording with id {recording_id}")
        return recording

    def audio_path(self, recording: RecordingRecord) -> Path:
        return self.audio_dir / recording.filename

    def vocabulary(self, card: Card) -> Vocabulary:
        """The card's vocabulary, derived once per card for the life of the service."""
        if card.id not in self._vocabularies:
            self._vocabularies[card.id] = card_vocabulary(card, self.trainer.deck.cards)
        return self._vocabularies[card.id]

    def _enqueue(self, recording_id: int) -> None:
        """Put a recording in this process's line once, however often it is offered."""
        with self._lock:
            if recording_id in self._waiting:
                return
            self._waiting.add(recording_id)
        self._jobs.put(recording_id)

    def _work(self) -> None:
        while (recording_id := self._jobs.get()) is not None:
            with self._lock:
                self._waiting.discard(recording_id)
            try:
                self.run(recording_id)
            except Exception:  # the database may be away for a moment; the heartbeat retries
                log.exception("recording %s could not be taken up", recording_id)

    def _take_up(self, now: datetime) -> None:
        """Queue again what dead processes left running, and line up every queued recording
        (another process's too: whichever claims it first transcribes it)."""
        for recording_id in self.store.requeue_stalled_recordings(
                now - timedelta(seconds=self.stalled_after)):
            log.warning("recording %s stalled on a dead process: queued again", recording_id)
        for recording_id in self.store.recordings_with_status("queued"):
            self._enqueue(recording_id)

    def _keep_beating(self) -> None:
        """Start the heartbeat unless it runs: in a server from start(), in a job queue's
        worker from its first job (where it only marks, and the queue takes jobs up)."""
        with self._lock:
            if self._heartbeat is not None and self._heartbeat.is_alive():
                return
            self._stopping.clear()
            self._heartbeat = threading.Thread(target=self._beat, daemon=True,
                                               name="transcription-heartbeat")
            self._heartbeat.start()

    def _beat(self) -> None:
        """Mark this process's running recordings alive and, in a server, take up the work
        of dead processes and what waits in no line."""
        while not self._stopping.wait(self.beat_every):
            try:
                with self._lock:
                    running = list(self._running)
                now = _now()
                self.store.beat_recordings(running, now)
                if self._takes_up:
                    self._take_up(now)
            except Exception:  # the database may be away for a moment; the next beat retries
                log.exception("the transcription heartbeat failed")

    def run(self, recording_id: int, take_over: bool = False) -> None:
        """Transcribe one recording unless another process has it or it is finished; a
        failure is reported on the recording.

        take_over lets a job queue's retry of a job whose worker died resume a recording
        left 'running'; the threads only ever take a queued one.
        """
        statuses = ("queued", "running") if take_over else ("queued",)
        if not self.store.claim_recording(recording_id, *statuses, now=_now()):
            return
        with self._lock:
            self._running.add(recording_id)
        self._keep_beating()
        try:
            self._transcribe(recording_id)
        except Exception as error:  # a failed job is reported on the recording
            log.exception("transcription of recording %s failed", recording_id)
            self.store.update_recording(recording_id, status="failed",
                                        error=f"{type(error).__name__}: {error}")
        finally:
            with self._lock:
                self._running.discard(recording_id)

    def _transcribe(self, recording_id: int) -> None:
        recording = self.store.recording(recording_id)
        last = [0.0]

        def progress(share: float) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_SECONDS:
                last[0] = time.monotonic()
                self.store.update_recording(recording_id, progress=round(share, 3))

        preferences = _preferences(self.audio_path(recording))
        card = self.trainer.card(recording.card_id)
        vocabulary = self.vocabulary(card)
        language, priors = language_plan(preferences.get("language") or self.language, card,
                                         preferences.get("interface"))
        transcript = mend_terms(self.transcriber.transcribe(
            self.audio_path(recording), language, progress, hints=vocabulary, priors=priors),
            vocabulary)
        self.store.update_recording(recording_id, status="done", progress=1.0,
                                    transcript=transcript.to_dict())


def _now() -> datetime:
    """The wall clock: heartbeats are compared between processes, not with the trainer's
    clock (which a test may move)."""
    return datetime.now(UTC)


def _preferences_path(audio: Path) -> Path:
    return audio.with_name(audio.name + PREFERENCES_SUFFIX)


def _preferences(audio: Path) -> dict:
    """What the speaker asked for with this recording; nothing for one stored before."""
    try:
        found = json.loads(_preferences_path(audio).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _copy_limited(source: BinaryIO, target: BinaryIO, limit: int) -> int:
    size = 0
    while chunk := source.read(1 << 16):
        size += len(chunk)
        if size > limit:
            raise AudioRejected(f"the recording is larger than {limit // 1_000_000} MB", 413)
        target.write(chunk)
    return size
