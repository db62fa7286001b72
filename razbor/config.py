"""Settings, declared once (type, default, help), and wiring a trainer from them.

The CLI builds its flags from the declaration and the README lists them; a test keeps them
in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

from razbor.decks import load_deck
from razbor.grading.backends import BACKENDS, Grader, GraderSettings, make_grader
from razbor.practice import Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.speech.whisper import WhisperTranscriber, speech_installed
from razbor.storage import Store
from razbor.transcription import TranscriptionService


def default_database_url() -> str:
    """An SQLite file in the user's data directory (XDG on Linux)."""
    return f"sqlite:///{Path(platformdirs.user_data_dir('razbor')) / 'razbor.sqlite3'}"


@dataclass(frozen=True)
class SettingSpec:
    name: str
    env: str
    kind: type
    help: str


def _setting(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    """Every setting once: its type, default and help. RAZBOR_<NAME> sets it from the
    environment and --<name> from the command line."""

    db: str = _setting("", "Database URL: sqlite:///path.db or postgresql://user@host/name "
                           "(default: razbor.sqlite3 in the user data directory)")
    deck: str = _setting("", "Folder of card files (default: the built-in deck)")
    new_per_day: int = _setting(20, "New cards introduced per day")
    desired_retention: float = _setting(0.9, "Target probability of recall at review time "
                                             "(0.70-0.99)")
    fuzz: bool = _setting(True, "Spread review dates slightly (FSRS fuzzing)")
    max_attempt_chars: int = _setting(50_000, "Longest accepted attempt, in characters")
    lang: str = _setting("ru", "Interface language: ru or en")
    grader: str = _setting("rules", "Attempt grader: rules (built in), embedding or llm "
                                    "(fall back to rules)")
    embedding_model: str = _setting("", "sentence-transformers model path or name, for "
                                        "--grader embedding")
    llm_url: str = _setting("", "Base URL of an OpenAI-compatible API, for --grader llm")
    llm_model: str = _setting("", "Model name, for --grader llm")
    llm_key: str = _setting("", "API key, for --grader llm (if needed)")
    speech: bool = _setting(True, "Record and transcribe spoken attempts (needs "
                                  "razbor[speech])")
    speech_model: str = _setting("bundled-base", "faster-whisper model: bundled-base, a model "
                                                 "name, or a local folder")
    speech_language: str = _setting("auto", "Language of spoken attempts: auto (detect), "
                                            "card, ru or en")
    max_recording_seconds: int = _setting(300, "Longest accepted recording, in seconds")
    max_recording_mb: int = _setting(20, "Largest accepted recording, in megabytes")
    audio_dir: str = _setting("", "Folder for recordings (default: audio/ in the user data "
                                  "directory)")

    @classmethod
    def load(cls, **overrides) -> Settings:
        """Defaults, then environment variables, then explicit overrides (CLI flags)."""
        values = {}
        for spec in SETTINGS:
            raw = os.environ.get(spec.env)
            if raw not in (None, ""):
                values[spec.name] = _convert(spec, raw)
        values.update({key: value for key, value in overrides.items() if value is not None})
        settings = cls(**values)
        if settings.lang not in ("ru", "en"):
            raise ValueError("RAZBOR_LANG: interface language must be ru or en")
        if settings.grader not in BACKENDS:
            raise ValueError(f"RAZBOR_GRADER: must be one of {', '.join(BACKENDS)}")
        if settings.speech_language not in ("auto", "card", "ru", "en"):
            raise ValueError("RAZBOR_SPEECH_LANGUAGE: must be auto, card, ru or en")
        return settings

    def transcription(self, trainer: Trainer) -> TranscriptionService | None:
        """The speech service, or None when speech is off or not installed."""
        if not self.speech or not speech_installed():
            return None
        audio = Path(self.audio_dir or Path(platformdirs.user_data_dir("razbor")) / "audio")
        return TranscriptionService(
            trainer, WhisperTranscriber(self.speech_model), audio,
            max_seconds=self.max_recording_seconds,
            max_bytes=self.max_recording_mb * 1_000_000, language=self.speech_language)

    def make_grader(self) -> Grader:
        return make_grader(GraderSettings(self.grader, self.embedding_model, self.llm_url,
                                          self.llm_model, self.llm_key))

    @property
    def database_url(self) -> str:
        return self.db or default_database_url()

    def open_trainer(self) -> Trainer:
        """Load the deck, open the database and wire the trainer; errors name what failed."""
        deck = load_deck(Path(self.deck) if self.deck else None)
        store = Store.open(self.database_url)
        planner = Planner(SchedulerSettings(desired_retention=self.desired_retention,
                                            new_per_day=self.new_per_day, fuzz=self.fuzz))
        return Trainer(deck, store, planner, max_attempt_chars=self.max_attempt_chars,
                       grader=self.make_grader())


KINDS = {"str": str, "int": int, "float": float, "bool": bool}
SETTINGS = tuple(SettingSpec(f.name, f"RAZBOR_{f.name.upper()}", KINDS[f.type],
                             f.metadata["help"]) for f in fields(Settings))


def _convert(spec: SettingSpec, raw: str):
    if spec.kind is bool:
        lowered = raw.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"{spec.env}: expected true or false, got {raw!r}")
        return lowered in ("1", "true", "yes", "on")
    try:
        return spec.kind(raw)
    except ValueError as error:
        raise ValueError(f"{spec.env}: expected {spec.kind.__name__}, got {raw!r}") from error

