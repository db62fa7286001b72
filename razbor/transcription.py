"""Spoken attempts: accept a recording, transcribe it off the request path, report progress.

Uploads are checked and stored before they are queued; a fixed number of worker threads (one
by default) transcribes them in order, so several uploads wait in line instead of loading
several models into memory at once. Jobs live in the database, so a restarted server picks up
what was queued or interrupted.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from razbor.practice import InvalidInput, NotFound, Trainer
from razbor.speech.audio import AudioRejected, probe
from razbor.speech.transcript import Transcript
from razbor.storage import RecordingRecord

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5


class Transcriber(Protocol):
    def transcribe(self, path: Path, language: str | None = None,
                   progress: Callable[[float], None] | None = None) -> Transcript: ...


class Busy(InvalidInput):
    """Too many recordings are waiting; the user should try again shortly."""


class TranscriptionService:
    def __init__(self, trainer: Trainer, transcriber: Transcriber, audio_dir: Path,
                 max_seconds: float = 300, max_bytes: int = 20_000_000, language: str = "auto",
                 max_waiting: int = 8, workers: int = 1):
        self.trainer = trainer
        self.store = trainer.store
        self.transcriber = transcriber
        self.audio_dir = Path(audio_dir)
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.language = language
        self.max_waiting = max_waiting
        self.workers = workers
        self._jobs: queue.Queue[int | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers and requeue what a previous run left unfinished."""
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        for recording_id in self.store.recordings_with_status("running", "queued"):
            self.store.update_recording(recording_id, status="queued", progress=0.0)
            self._jobs.put(recording_id)
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"transcribe-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def submit(self, user_id: int, card_id: str, upload: BinaryIO) -> RecordingRecord:
        """Check and keep an upload, then queue it; AudioRejected or Busy change nothing.

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
        recording = self.store.add_recording(user_id, card_id, stored_name, mime,
                                             size, info.duration, datetime.now(UTC))
        self._jobs.put(recording.id)
        return recording

    def recording(self, user_id: int, recording_id: int) -> RecordingRecord:
        recording = self.store.recording(recording_id)
        if recording is None or recording.user_id != user_id:
            raise NotFound(f"no recording with id {recording_id}")
        return recording

    def audio_path(self, recording: RecordingRecord) -> Path:
        return self.audio_dir / recording.filename

    def _language(self, card_id: str) -> str | None:
        if self.language == "card":
            return self.trainer.card(card_id).lang
        return None if self.language == "auto" else self.language

    def _work(self) -> None:
        while (recording_id := self._jobs.get()) is not None:
            try:
                self._transcribe(recording_id)
            except Exception as error:  # a failed job is reported on the recording
                log.exception("transcription of recording %s failed", recording_id)
                self.store.update_recording(recording_id, status="failed",
                                            error=f"{type(error).__name__}: {error}")

    def _transcribe(self, recording_id: int) -> None:
        recording = self.store.recording(recording_id)
        if recording is None or recording.status not in ("queued", "running"):
            return
        self.store.update_recording(recording_id, status="running", progress=0.0)
        last = [0.0]

        def progress(share: float) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_SECONDS:
                last[0] = time.monotonic()
                self.store.update_recording(recording_id, progress=round(share, 3))

        transcript = self.transcriber.transcribe(self.audio_path(recording),
                                                 self._language(recording.card_id), progress)
        self.store.update_recording(recording_id, status="done", progress=1.0,
                                    transcript=transcript.to_dict())


def _copy_limited(source: BinaryIO, target: BinaryIO, limit: int) -> int:
    size = 0
    while chunk := source.read(1 << 16):
        size += len(chunk)
        if size > limit:
            raise AudioRejected(f"the recording is larger than {limit // 1_000_000} MB", 413)
        target.write(chunk)
    return size
