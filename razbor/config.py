"""Settings, declared once (name, environment variable, default, help), and wiring a trainer.

The CLI builds its flags from this table and the README lists it; a test keeps them in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


SETTINGS = (
    SettingSpec("db", "RAZBOR_DB", str,
                "Database URL: sqlite:///path.db or postgresql://user@host/name "
                "(default: razbor.sqlite3 in the user data directory)"),
    SettingSpec("deck", "RAZBOR_DECK", str, "Folder of card files (default: the built-in deck)"),
    SettingSpec("new_per_day", "RAZBOR_NEW_PER_DAY", int, "New cards introduced per day"),
    SettingSpec("desired_retention", "RAZBOR_DESIRED_RETENTION", float,
                "Target probability of recall at review time (0.70-0.99)"),
    SettingSpec("fuzz", "RAZBOR_FUZZ", bool, "Spread review dates slightly (FSRS fuzzing)"),
    SettingSpec("max_attempt_chars", "RAZBOR_MAX_ATTEMPT_CHARS", int,
                "Longest accepted attempt, in characters"),
    SettingSpec("lang", "RAZBOR_LANG", str, "Interface language: ru or en"),
    SettingSpec("grader", "RAZBOR_GRADER", str,
                "Attempt grader: rules (built in), embedding or llm (fall back to rules)"),
    SettingSpec("embedding_model", "RAZBOR_EMBEDDING_MODEL", str,
                "sentence-transformers model path or name, for --grader embedding"),
    SettingSpec("llm_url", "RAZBOR_LLM_URL", str,
                "Base URL of an OpenAI-compatible API, for --grader llm"),
    SettingSpec("llm_model", "RAZBOR_LLM_MODEL", str, "Model name, for --grader llm"),
    SettingSpec("llm_key", "RAZBOR_LLM_KEY", str, "API key, for --grader llm (if needed)"),
    SettingSpec("speech", "RAZBOR_SPEECH", bool,
                "Record and transcribe spoken attempts (needs razbor[speech])"),
    SettingSpec("speech_model", "RAZBOR_SPEECH_MODEL", str,
                "faster-whisper model: bundled-base, a model name, or a local folder"),
    SettingSpec("speech_language", "RAZBOR_SPEECH_LANGUAGE", str,
                "Language of spoken attempts: auto (detect), card, ru or en"),
    SettingSpec("max_recording_seconds", "RAZBOR_MAX_RECORDING_SECONDS", int,
                "Longest accepted recording, in seconds"),
    SettingSpec("max_recording_mb", "RAZBOR_MAX_RECORDING_MB", int,
                "Largest accepted recording, in megabytes"),
    SettingSpec("audio_dir", "RAZBOR_AUDIO_DIR", str,
                "Folder for recordings (default: audio/ in the user data directory)"),
)


@dataclass(frozen=True)
class Settings:
    db: str = ""
    deck: str = ""
    new_per_day: int = 20
    desired_retention: float = 0.9
    fuzz: bool = True
    max_attempt_chars: int = 50_000
    lang: str = "ru"
    grader: str = "rules"
    embedding_model: str = ""
    llm_url: str = ""
    llm_model: str = ""
    llm_key: str = ""
    speech: bool = True
    speech_model: str = "bundled-base"
    speech_language: str = "auto"
    max_recording_seconds: int = 300
    max_recording_mb: int = 20
    audio_dir: str = ""

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

