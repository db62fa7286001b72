"""Settings, declared once (type, default, help), and wiring a trainer from them.

The CLI builds its flags from the declaration and the README lists them; a test keeps them
in step. Every value is checked when the settings are loaded, so a bad one is refused before
any work starts, in one line naming the flag or variable it came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from razbor.grading.backends import BACKENDS, GraderSettings

if TYPE_CHECKING:
    from razbor.cards import Deck
    from razbor.deferred_grading import DeferredGrading
    from razbor.grading.backends import Grader
    from razbor.jobs import JobQueue
    from razbor.labs.background import LabCache, QueuedLabs
    from razbor.practice import Trainer
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


class SettingError(ValueError):
    """A setting razbor cannot use; the message names its flag or variable and the fix."""


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
    grader: str = _setting("semantic", "Attempt grader: semantic (built in), rules (the "
                                       "match hints alone), embedding or llm (fall back to "
                                       "rules)")
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
    allowed_hosts: str = _setting("", "Host names the server answers, comma-separated; other "
                                      "Host headers get 400 (default: the --host address, "
                                      "localhost, 127.0.0.1 and ::1)")
    accounts: bool = _setting(False, "Multi-user mode: sign-in, invitations and the admin "
                                     "page (create the first admin with `razbor user add "
                                     "NAME --admin`)")
    jobs: str = _setting("in-process", "Where slow work (transcription, grading by the LLM "
                                       "judge, labs) runs: in-process (a "
                                       "thread of the server) or queue (procrastinate on the "
                                       "PostgreSQL database, run by `razbor worker`)")
    workers: int = _setting(1, "App processes `razbor serve` runs (several share the database; "
                               "use PostgreSQL for more than a few)")
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    used: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    # The one job queue of a process built from these settings, once asked for.
    _queue: list[JobQueue] = field(default_factory=list, init=False, compare=False,
                                   repr=False)

    @classmethod
    def load(cls, used: Iterable[str] | None = None, **overrides) -> Settings:
        """Defaults, then environment variables, then explicit overrides (CLI flags).

        Only the settings a command uses (all by default) are read and checked, so a variable
        meant for the server cannot stop an export. SettingError if a value is unusable,
        naming where it came from.
        """
        used = frozenset(used) if used is not None else frozenset(s.name for s in SETTINGS)
        values, sources = {}, {}
        for spec in (spec for spec in SETTINGS if spec.name in used):
            raw = os.environ.get(spec.env)
            if raw not in (None, ""):
                values[spec.name] = _convert(spec, raw)
                sources[spec.name] = spec.env
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                sources[name] = "--" + name.replace("_", "-")
        return cls(**values, sources=sources, used=used).checked()

    def export_to_environment(self, environ: dict[str, str]) -> None:
        """Write the settings in use as RAZBOR_ variables, for processes started from this one
        (`razbor serve --workers N`) to load the same values."""
        for spec in SETTINGS:
            if spec.name in self.used:
                value = getattr(self, spec.name)
                environ[spec.env] = str(value).lower() if spec.kind is bool else str(value)
        if "db" in self.used:
            environ["RAZBOR_DB"] = self.database_url

    def override(self, name: str, value, source: str) -> Settings:
        """These settings with one value replaced, as a command's own option does, checked."""
        return replace(self, **{name: value}, sources={**self.sources, name: source}).checked()

    def source(self, name: str) -> str:
        """Where a value came from: its flag, its variable, or the default (named by its flag)."""
        return self.sources.get(name, f"--{name.replace('_', '-')} (default)")

    def checked(self) -> Settings:
        """These settings, or SettingError for the first value that would fail later."""
        found = next(_problems(self), None)
        if found:
            name, problem = found
            raise SettingError(f"{self.source(name)}: {problem}")
        return self

    def transcription(self, trainer: Trainer, defer: bool = True
                      ) -> TranscriptionService | None:
        """The speech service, or None when speech is off or not installed.

        With --jobs queue (and defer) it hands transcriptions to the job queue instead of
        running them; a worker builds it with defer=False to run them. SettingError if the
        recordings folder cannot be made, rather than a failed startup.
        """
        from razbor.speech.whisper import WhisperTranscriber, speech_installed
        from razbor.transcription import TranscriptionService

        if not self.speech or not speech_installed():
            return None
        audio = Path(self.audio_dir or Path(platformdirs.user_data_dir("razbor")) / "audio")
        try:
            audio.expanduser().mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SettingError(f"{self.source('audio_dir')}: cannot create {audio}: "
                               f"{error.strerror} (fix: pass a folder you can write to)") from error
        return TranscriptionService(
            trainer, WhisperTranscriber(self.speech_model), audio,
            max_seconds=self.max_recording_seconds,
            max_bytes=self.max_recording_mb * 1_000_000, language=self.speech_language,
            queue=self.job_queue() if defer else None)

    def job_queue(self) -> JobQueue | None:
        """The job queue an app process hands slow work to, with --jobs queue (else None:
        the work runs in the process)."""
        if "jobs" not in self.used or self.jobs != "queue":
            return None
        if not self._queue:
            from razbor.jobs import JobQueue

            self._queue.append(JobQueue(self.database_url))
        return self._queue[0]

    def lab_runs(self, trainer: Trainer) -> LabCache | QueuedLabs:
        """Where a web app process has labs computed: by a worker with --jobs queue, else in
        a thread of its own."""
        from razbor.labs.background import LabCache, QueuedLabs

        queue = self.job_queue()
        return LabCache() if queue is None else QueuedLabs(trainer.store, queue)

    def deferred_grading(self, trainer: Trainer) -> DeferredGrading:
        """Where a web app process grades attempts when the grader is slow."""
        from razbor.deferred_grading import DeferredGrading

        return DeferredGrading(trainer, self.job_queue() if trainer.grades_slowly else None)

    def make_grader(self) -> Grader:
        from razbor.grading.backends import make_grader

        return make_grader(GraderSettings(self.grader, self.embedding_model, self.llm_url,
                                          self.llm_model, self.llm_key))

    @property
    def database_url(self) -> str:
        return self.db or default_database_url()

    def load_deck(self) -> Deck:
        """The deck named by the settings (the built-in one by default); DeckError if broken."""
        from razbor.decks import load_deck

        return load_deck(Path(self.deck).expanduser() if self.deck else None)

    def open_trainer(self, create: bool = True) -> Trainer:
        """Load the deck, open the database and wire the trainer; errors name what failed.

        With create=False a missing SQLite file is refused rather than made empty.
        """
        from razbor.practice import Trainer
        from razbor.scheduling import Planner, SchedulerSettings
        from razbor.storage import Store

        deck = self.load_deck()
        store = Store.open(self.database_url, create=create)
        planner = Planner(SchedulerSettings(desired_retention=self.desired_retention,
                                            new_per_day=self.new_per_day, fuzz=self.fuzz))
        return Trainer(deck, store, planner, max_attempt_chars=self.max_attempt_chars,
                       grader=self.make_grader())


# The settings `razbor serve` takes; app processes it starts load exactly these.
SERVING = ("db", "deck", "new_per_day", "desired_retention", "fuzz", "max_attempt_chars",
           "grader", "embedding_model", "llm_url", "llm_model", "llm_key", "lang", "speech",
           "speech_model", "speech_language", "max_recording_seconds", "max_recording_mb",
           "audio_dir", "allowed_hosts", "accounts", "jobs", "workers")
KINDS = {"str": str, "int": int, "float": float, "bool": bool}
SETTINGS = tuple(SettingSpec(f.name, f"RAZBOR_{f.name.upper()}", KINDS[f.type],
                             f.metadata["help"]) for f in fields(Settings) if "help" in f.metadata)
KIND_NAMES = {int: "a whole number", float: "a number", str: "text"}


def _convert(spec: SettingSpec, raw: str):
    if spec.kind is bool:
        lowered = raw.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingError(f"{spec.env}: expected true or false, got {raw!r} "
                               f"(fix: set {spec.env} to true or false, or unset it)")
        return lowered in ("1", "true", "yes", "on")
    try:
        return spec.kind(raw)
    except ValueError as error:
        raise SettingError(f"{spec.env}: expected {KIND_NAMES[spec.kind]}, got {raw!r} "
                           f"(fix: set {spec.env} to {KIND_NAMES[spec.kind]}, or unset it)"
                           ) from error


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(low: float, high: float | None = None) -> Callable[[float], str | None]:
    def problem(value: float) -> str | None:
        if high is None and not value >= low:
            return f"{_show(value)} is less than {_show(low)} (fix: pass {_show(low)} or more)"
        if high is not None and not (low <= value <= high and math.isfinite(value)):
            return (f"{_show(value)} is not between {low:.2f} and {high:.2f} "
                    f"(fix: pass a value in that range)")
        return None
    return problem


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        if value in choices:
            return None
        return f"{value!r} is not one of {', '.join(choices)} (fix: use one of them)"
    return problem


def _folder(purpose: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        path = Path(value).expanduser()
        if value and path.exists() and not path.is_dir():
            return f"{path} is a file, not a folder (fix: pass a folder {purpose})"
        return None
    return problem


def _deck_folder(value: str) -> str | None:
    if not value:
        return None
    path = Path(value).expanduser()
    fix = "(fix: pass a folder of card files, or leave it unset for the built-in deck)"
    if not path.exists():
        return f"{path} does not exist {fix}"
    if not path.is_dir():
        return f"{path} is a file, not a folder {fix}"
    if next(path.rglob("*.md"), None) is None:
        return f"{path} holds no card files (*.md) {fix}"
    return None


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "empty value (fix: pass a model name or folder, or leave it unset)"


def _host_names(value: str) -> str | None:
    """Starlette's trusted-host patterns: names, or *.domain wildcards; never a URL."""
    for host in (host.strip() for host in value.split(",") if host.strip()):
        if "*" in host[1:] or (host.startswith("*") and host != "*" and not host.startswith("*.")):
            return (f"{host!r} is not a host name or a pattern like *.example.com "
                    "(fix: list host names separated by commas)")
        if "/" in host or " " in host:
            return (f"{host!r} is not a host name (fix: list names like razbor.lan, without a "
                    "scheme or path)")
    return None


def _http_url(value: str) -> str | None:
    if not value or value.startswith(("http://", "https://")):
        return None
    return (f"{value!r} is not an http(s) URL (fix: pass the API base URL, e.g. "
            "http://127.0.0.1:11434/v1)")


CHECKS: dict[str, Callable] = {
    "desired_retention": _range(0.70, 0.99),
    "new_per_day": _range(0),
    "max_attempt_chars": _range(1),
    "max_recording_seconds": _range(1),
    "max_recording_mb": _range(1),
    "workers": lambda value: None if 1 <= value <= 64 else (
        f"{value} is not between 1 and 64 (fix: pass a number of app processes in that range)"),
    "lang": _one_of("ru", "en"),
    "grader": _one_of(*BACKENDS),
    "speech_language": _one_of("auto", "card", "ru", "en"),
    "jobs": _one_of("in-process", "queue"),
    "speech_model": _not_blank,
    "llm_url": _http_url,
    "deck": _deck_folder,
    "audio_dir": _folder("for recordings"),
    "allowed_hosts": _host_names,
}
NEEDED_BY_GRADER = {"embedding": ("embedding_model",), "llm": ("llm_url", "llm_model")}


def _problems(settings: Settings):
    """Each unusable value as (setting name, what is wrong and the fix)."""
    for name, check in CHECKS.items():
        problem = check(getattr(settings, name)) if name in settings.used else None
        if problem:
            yield name, problem
    if "jobs" in settings.used and settings.jobs == "queue" and not settings.database_url.startswith(
            "postgresql"):
        yield "jobs", ("the job queue lives in PostgreSQL (fix: pass --db postgresql://..., or "
                       "use --jobs in-process)")
    needed_by_grader = NEEDED_BY_GRADER.get(settings.grader, ()) if "grader" in settings.used else ()
    for needed in needed_by_grader:
        if not getattr(settings, needed):
            spec = next(spec for spec in SETTINGS if spec.name == needed)
            yield "grader", (f"{settings.grader} needs {spec.name.replace('_', '-')} (fix: set "
                             f"--{spec.name.replace('_', '-')} or {spec.env}, or grade with "
                             "the rules)")

