"""The command line: parse, call the library, print. Library errors become messages here.

Every error is one line saying what is wrong and how to fix it, never a traceback. The exit
status says whose move it is:

2  a setting or argument cannot be used as given: out of range, not found, an unsupported
   database URL, a file of the wrong kind (not SQLite, not audio, not JSON). Change the flag,
   argument or RAZBOR_ variable the message names.
1  the arguments were fine but the work failed: a database server that does not answer,
   wrong records inside a well-formed file (a deck card, a labelled attempt, an export record
   the database rejects), a database that already holds history, nothing to export, a failing
   lab claim.

A refused command has written nothing: arguments are checked before any work starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import tempfile
from contextlib import contextmanager
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING

import click

from razbor.config import SERVING, SETTINGS, SettingError, Settings
from razbor.grading.backends import BACKENDS

if TYPE_CHECKING:
    from razbor.cards import Card
    from razbor.storage import Store

# Each command imports what it needs when it runs: `razbor --help` and argument errors answer
# at once instead of waiting for SQLAlchemy, numpy and the deck parser to load.

OPTION_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


class BadArgument(click.ClickException):
    """A setting or argument razbor cannot use: one line on stderr, exit status 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))


@contextmanager
def _usage_errors_in_one_line():
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx else "razbor"
        raise BadArgument(f"{error.format_message()} (fix: see `{where} --help`)") from error


class OneLineGroup(click.Group):
    """Click's own argument errors (--port 70000, --days 0, an unknown option) as one line with
    the fix, instead of the usage text, a hint and the error on three lines."""

    group_class = type

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        with _usage_errors_in_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context):
        with _usage_errors_in_one_line():
            return super().invoke(ctx)


STORAGE = ("db",)
DECK = ("deck",)
SCHEDULING = ("new_per_day", "desired_retention", "fuzz")
GRADING = ("grader", "embedding_model", "llm_url", "llm_model", "llm_key")
TRANSCRIBING = ("speech_model", "speech_language", "max_recording_seconds")
RECORDING = ("speech", *TRANSCRIBING, "max_recording_mb", "audio_dir")
TRAINER = (*STORAGE, *DECK, *SCHEDULING, "max_attempt_chars", *GRADING)


def settings_options(*used: str):
    """Add a flag for each setting the command uses; unset flags fall back to the environment
    and the defaults. Settings a command does not use are neither offered nor checked."""
    specs = [spec for spec in SETTINGS if spec.name in used]

    def decorate(command):
        for spec in reversed(specs):
            flag = spec.name.replace("_", "-")
            if spec.kind is bool:
                option = click.option(f"--{flag}/--no-{flag}", spec.name, default=None,
                                      help=f"{spec.help} [env {spec.env}]")
            else:
                option = click.option(f"--{flag}", spec.name, type=OPTION_TYPES[spec.kind],
                                      default=None, help=f"{spec.help} [env {spec.env}]")
            command = option(command)

        @wraps(command)
        def wrapper(**kwargs):
            overrides = {spec.name: kwargs.pop(spec.name) for spec in specs}
            try:
                settings = Settings.load(used, **overrides)
            except SettingError as error:
                raise BadArgument(str(error)) from error
            return command(settings=settings, **kwargs)

        return wrapper

    return decorate


@contextmanager
def _library_errors(settings: Settings):
    """Deck, storage and late setting errors as messages; an unusable database URL names its
    setting."""
    from razbor.decks import DeckError
    from razbor.storage import StorageError
    from razbor.storage.store import BadDatabaseURL

    try:
        yield
    except BadDatabaseURL as error:
        raise BadArgument(f"{settings.source('db')}: {error}") from error
    except SettingError as error:
        raise BadArgument(str(error)) from error
    except (DeckError, StorageError) as error:
        raise click.ClickException(str(error)) from error


def _open(settings: Settings, create: bool = True):
    """The trainer; create=False for commands that only read, so a mistyped path is refused."""
    with _library_errors(settings):
        return settings.open_trainer(create=create)


def _open_store(settings: Settings, create: bool = True) -> Store:
    from razbor.storage import Store

    with _library_errors(settings):
        return Store.open(settings.database_url, create=create)


def _load_deck(settings: Settings):
    with _library_errors(settings):
        return settings.load_deck()


@click.group(cls=OneLineGroup)
@click.version_option(package_name="razbor")
def main() -> None:
    """razbor: answer first, then study the analysis; spaced repetition for ML interviews."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on")
@settings_options(*SERVING)
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the web trainer (default http://127.0.0.1:8000)."""
    import uvicorn

    from razbor.web.factory import BIND_HOST_VARIABLE, build_app
    from razbor.web.processes import serve_processes

    _check_address(host, port)
    trainer = _open(settings)
    with _library_errors(settings):
        speech = settings.transcription(trainer)
    click.echo(f"razbor: {len(trainer.deck)} cards, database {_describe(trainer.store)}")
    click.echo(f"razbor: {_speech_status(settings, speech is not None)}")
    _check_accounts(settings, trainer.store)
    click.echo(f"razbor: open http://{host}:{port}/"
               + (f" ({settings.workers} app processes)" if settings.workers > 1 else ""))
    for warning in _exposure_warnings(settings, host):
        click.echo(f"razbor: {warning}", err=True)
    if settings.workers == 1:
        uvicorn.run(build_app(settings, trainer, speech, host), host=host, port=port,
                    log_level="warning")
        return
    trainer.store.close()
    settings.export_to_environment(os.environ)
    os.environ[BIND_HOST_VARIABLE] = host
    sys.exit(serve_processes("razbor.web.factory:app_from_environment", host, port,
                             settings.workers, log_level="warning"))


@main.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Jobs run at once")
@click.option("--stalled-after", default=60, show_default=True, type=click.IntRange(10, 3600),
              help="Seconds without a heartbeat after which a worker is taken for dead and "
                   "its job is queued again")
@settings_options(*TRAINER, *RECORDING)
def worker(settings: Settings, concurrency: int, stalled_after: int) -> None:
    """Run background jobs (transcriptions, gradings by the LLM judge, labs) for `razbor serve
    --jobs queue` on PostgreSQL."""
    from razbor.jobs import run_worker

    if not settings.database_url.startswith("postgresql"):
        raise BadArgument(f"{settings.source('db')}: the job queue lives in PostgreSQL (fix: "
                          "pass --db postgresql://..., or serve with --jobs in-process)")
    trainer = _open(settings)
    with _library_errors(settings):
        speech = settings.transcription(trainer, defer=False)
    click.echo(f"razbor worker: database {_describe(trainer.store)}, {concurrency} job(s) at "
               f"a time; {_speech_status(settings, speech is not None)}")
    click.echo("razbor worker: takes "
               + ("gradings (the LLM judge) and " if trainer.grades_slowly else
                  f"no gradings (the {settings.grader} grader needs none) and ")
               + ("transcriptions and labs" if speech is not None else "labs"))
    if speech is not None:
        speech.audio_dir.mkdir(parents=True, exist_ok=True)
    run_worker(settings.database_url, trainer, speech, concurrency, stalled_after)


def _check_accounts(settings: Settings, store: Store) -> None:
    """With --accounts on, say how to make the first admin if there is none."""
    from razbor.storage.accounts import Accounts

    if settings.accounts and not any(member.user.is_admin and member.user.active
                                     for member in Accounts(store).members()):
        click.echo("razbor: accounts are on but there is no admin yet: create one with "
                   "`razbor user add NAME --admin`", err=True)


def _describe(store: Store) -> str:
    """Where the history lives, as a user would type it: a file path, or a URL sans password."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(url.database).resolve()
        home = Path.home()
        return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)
    return url.render_as_string(hide_password=True)


def _speech_status(settings: Settings, running: bool) -> str:
    from razbor.speech.whisper import speech_installed

    if running:
        return f"answering aloud is on (speech model {settings.speech_model})"
    if not speech_installed():
        return "answering aloud is off: pip install '.[speech,speech-base]' to record answers"
    switch = settings.source("speech").replace("--speech", "--no-speech")
    return f"answering aloud is off ({switch})"


def _exposure_warnings(settings: Settings, host: str) -> list[str]:
    """What a user must know before serving beyond this machine: without --accounts there is
    no login."""
    if _is_loopback(host):
        return []
    warnings = [] if settings.accounts else [
        f"WARNING: listening on {host} without --accounts: anyone who can reach this address "
        "can use it, read your attempts and change your history"]
    if host in ("0.0.0.0", "::") and not settings.allowed_hosts:
        warnings.append("other machines must reach it by a name listed in --allowed-hosts "
                        "(e.g. --allowed-hosts 192.168.1.5); any other Host header gets 400")
    return warnings


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_address(host: str, port: int) -> None:
    """Refuse an address the server could not listen on, before the database is opened.

    The probe binds as uvicorn will: IPv6 when the host has a colon, else IPv4.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, family, socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (OSError, UnicodeError) as error:
        raise BadArgument(f"--host: cannot resolve {host!r} (fix: pass an address such as "
                          "127.0.0.1, or 0.0.0.0 to listen on every interface)") from error
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise BadArgument(f"--host/--port: cannot listen on {host}:{port}: {error.strerror} "
                              "(fix: pick a free --port, or an address of this machine for "
                              "--host)") from error


@main.command()
@click.option("--topic", default=None, help="Practise only this topic")
@click.option("--voice", is_flag=True, help="Record each attempt from the microphone")
@settings_options(*TRAINER, *RECORDING)
def practice(settings: Settings, topic: str | None, voice: bool) -> None:
    """Practise in the terminal: attempt, analysis, rating, next card."""
    from rich.console import Console

    from razbor.terminal import run_practice

    trainer = _open(settings)
    console = Console(highlight=False)
    microphone = _microphone(settings, trainer, console) if voice else None
    run_practice(trainer, trainer.user(), console, topic, microphone)


def _microphone(settings: Settings, trainer, console):
    """The microphone for --voice, or None (with the reason printed) when it cannot record."""
    from razbor.terminal import Microphone

    with _library_errors(settings):
        speech = settings.transcription(trainer)
    problem = Microphone.problem() if speech else (
        "speech is not installed or is switched off: pip install 'razbor[speech]'")
    if problem:
        console.print(f"[yellow]--voice: {problem}. Type your attempts instead.[/yellow]")
        return None
    return Microphone(speech)


@main.command()
@click.option("--topics", default="", help="Comma-separated topics to mix (default: every topic)")
@click.option("--questions", default=5, show_default=True, type=click.IntRange(1, 20),
              help="Questions to ask, 1-20")
@click.option("--minutes", default=30, show_default=True, type=click.IntRange(1, 240),
              help="Length of the interview in minutes, 1-240")
@click.option("--no-follow-ups", is_flag=True, help="Ask no follow-up after each answer")
@click.option("--voice", is_flag=True, help="Record each answer from the microphone")
@click.option("--past", is_flag=True, help="Only list past interviews with their trend")
@settings_options(*TRAINER, *RECORDING)
def interview(settings: Settings, topics: str, questions: int, minutes: int,
              no_follow_ups: bool, voice: bool, past: bool) -> None:
    """A mock interview in the terminal: timed questions and follow-ups, then the report and
    the ratings of every answer."""
    from rich.console import Console

    from razbor.interview import Interviews, InterviewSettings
    from razbor.interview_terminal import print_past, run_interview
    from razbor.practice import InvalidInput

    chosen = InterviewSettings(tuple(name.strip() for name in topics.split(",") if name.strip()),
                               questions, minutes, not no_follow_ups)
    if chosen.topics:
        try:
            chosen.checked(_load_deck(settings))
        except InvalidInput as error:
            raise BadArgument(f"--topics: {error} (fix: pass topics of the deck, "
                              "comma-separated)") from error
    trainer = _open(settings)
    console = Console(highlight=False)
    interviews = Interviews(trainer)
    if past:
        print_past(console, interviews.past(trainer.user()))
        return
    microphone = _microphone(settings, trainer, console) if voice else None
    run_interview(interviews, trainer.user(), console, chosen.checked(trainer.deck), microphone)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--card", "card_id", default=None, help="Grade the transcript against this card")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: transcript, words with timings, language, delivery "
                   "and (with --card) feedback")
@settings_options(*DECK, *GRADING, *TRANSCRIBING)
def transcribe(settings: Settings, file: Path, card_id: str | None, as_json: bool) -> None:
    """Print the transcript and delivery report of an audio file."""
    from rich.console import Console

    from razbor.speech.audio import AudioRejected, probe
    from razbor.speech.delivery import delivery_report
    from razbor.speech.transcript import SpeechUnavailable
    from razbor.terminal import print_delivery

    card = _card(settings, card_id) if card_id else None
    try:
        probe(file, settings.max_recording_seconds)
    except AudioRejected as error:
        raise BadArgument(f"{file}: {error} (fix: pass a speech recording ffmpeg can read, no "
                          "longer than --max-recording-seconds)") from error
    try:
        transcript, heard = _transcribe_answer(settings, file, card)
    except (AudioRejected, SpeechUnavailable) as error:
        raise click.ClickException(str(error)) from error
    feedback = settings.make_grader().grade(card, transcript.text) if card else None
    starts = [s[0] for p in feedback.key_points if p.covered for s in p.evidence] if feedback else []
    delivery = delivery_report(transcript, min(starts) if starts else None).to_dict()
    if as_json:
        click.echo(json.dumps({**transcript.to_dict(), "heard": heard, "delivery": delivery,
                               "feedback": feedback.to_dict() if feedback else None},
                              ensure_ascii=False))
        return
    console = Console(highlight=False)
    console.print(f"[bold]{transcript.language}[/bold], {transcript.duration:.1f} s")
    console.print(transcript.text, markup=False)
    if feedback:
        console.print(f"key points covered: {', '.join(feedback.covered_ids()) or 'none'}; "
                      f"mistakes: {', '.join(feedback.mistake_ids()) or 'none'}")
    print_delivery(console, delivery)


def _transcribe_answer(settings: Settings, file: Path, card: Card | None):
    """(the transcript, the text as first heard): with a card, decoding expects the card's
    terms and their spellings are mended, as for an answer recorded in the web app."""
    from razbor.speech.normalise import mend_terms
    from razbor.speech.vocabulary import card_vocabulary
    from razbor.speech.whisper import WhisperTranscriber
    from razbor.transcription import language_plan

    transcriber = WhisperTranscriber(settings.speech_model)
    if card is None:
        language = settings.speech_language if settings.speech_language in ("ru", "en") else None
        priors = None if language else {"ru": 1.0, "en": 1.0}
        heard = transcriber.transcribe(file, language, priors=priors)
        return heard, heard.text
    vocabulary = card_vocabulary(card, _load_deck(settings).cards)
    language, priors = language_plan(settings.speech_language, card)
    heard = transcriber.transcribe(file, language, hints=vocabulary, priors=priors)
    return mend_terms(heard, vocabulary), heard.text


def _card(settings: Settings, card_id: str, option: str = "--card") -> Card:
    """The deck's card with this id; BadArgument naming the option (if any) when there is none."""
    card = _load_deck(settings).get(card_id)
    if card is None:
        raise BadArgument(f"{option + ': ' if option else ''}no card with id {card_id!r} in the "
                          "deck (fix: pass the id from a card file's front matter)")
    return card


def _with_backend(settings: Settings, backend: str | None) -> Settings:
    """The settings with --backend as the grader, when given."""
    if not backend:
        return settings
    try:
        return settings.override("grader", backend, "--backend")
    except SettingError as error:
        raise BadArgument(str(error)) from error


@main.command()
@click.argument("deck", type=click.Path(path_type=Path), required=False)
def check(deck: Path | None) -> None:
    """Validate a deck folder (default: the built-in deck): every problem as file:line with a
    fix."""
    from razbor.decks import builtin_deck_path, check_deck
    from razbor.decks.problems import graded_by_short_answer

    deck = deck or builtin_deck_path()
    cards, problems = check_deck(deck)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    errors = sum(problem.severity == "error" for problem in problems)
    if errors:
        raise click.ClickException(f"{errors} error(s) in {deck}; the deck was not loaded")
    click.echo(f"{deck}: {len(cards)} cards OK")
    without_rubric = len(graded_by_short_answer(cards))
    if without_rubric:
        click.echo(f"{without_rubric} of them have no rubric (as imported notes do): each is "
                   "graded against the sentences of its short answer")


@main.group("import")
def import_group() -> None:
    """Import cards from a page, or practice history from an export."""


@import_group.command("page")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Deck folder to write card files into")
@click.option("--topic", default="imported", show_default=True, help="Sub-folder (topic)")
@click.option("--rubrics", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML rubric file giving card ids, key points and mistakes by title")
@click.option("--force", is_flag=True, help="Overwrite existing card files")
def import_page(file: Path, out: Path, topic: str, rubrics: Path | None, force: bool) -> None:
    """Turn a page in the original trainer's text format into card files."""
    from razbor.decks import DeckError, dump_card, parse_page
    from razbor.decks.page import attach_rubrics

    try:
        cards = parse_page(file, file.read_text(encoding="utf-8"))
    except DeckError as error:
        raise click.ClickException(str(error)) from error
    rubric_text = rubrics.read_text(encoding="utf-8") if rubrics else "cards: []"
    cards = attach_rubrics(cards, rubric_text, topic)
    folder = out / topic
    targets = [folder / f"{card.id}.md" for card in cards]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise click.ClickException(f"would overwrite {', '.join(existing)}; use --force")
    folder.mkdir(parents=True, exist_ok=True)
    for card, path in zip(cards, targets, strict=True):
        path.write_text(dump_card(card, (topic,)), encoding="utf-8")
        click.echo(f"wrote {path}")
    click.echo(f"{len(cards)} cards imported into {folder}")


@import_group.command("history")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@settings_options(*STORAGE)
def import_history(settings: Settings, file) -> None:
    """Load a JSON Lines export into an empty database."""
    from razbor.storage import StorageError, import_records
    from razbor.storage.transfer import NotAnExport, read_export

    try:
        records = read_export(file, file.name)
    except UnicodeDecodeError as error:
        raise BadArgument(f"{file.name}: not UTF-8 text (fix: pass a file written by "
                          "`razbor export`)") from error
    except NotAnExport as error:
        raise BadArgument(f"nothing imported: {error}") from error
    store = _open_store(settings)
    try:
        counts = import_records(store, records)
    except StorageError as error:
        raise click.ClickException(f"nothing imported: {error}") from error
    finally:
        store.close()
    click.echo(", ".join(f"{count} {kind}s" for kind, count in counts.items()) + " imported")


@import_group.command("anki")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Deck folder to write card files into; media go to its media/ folder")
@click.option("--topic", default="imported", show_default=True, help="Sub-folder (topic)")
@click.option("--force", is_flag=True, help="Overwrite existing card and media files")
@click.option("--history", is_flag=True,
              help="Also replay the package's review log into the database as --user's")
@click.option("--user", "user_name", default="local", show_default=True,
              help="Whose history --history records")
@settings_options(*STORAGE, "desired_retention", "fuzz")
def import_anki(settings: Settings, file: Path, out: Path, topic: str, force: bool,
                history: bool, user_name: str) -> None:
    """Turn the notes of an Anki package (.apkg) into card files, keeping tags and media."""
    from razbor.decks.anki import AnkiPackage, PackageError, import_cards
    from razbor.decks.notes import MEDIA_FOLDER, StagedFiles

    topic = _topic_folder(topic)
    try:
        with AnkiPackage(file) as package, StagedFiles() as staged:
            imported, skipped = import_cards(package, topic)
            for reason in skipped:
                click.echo(f"razbor: skipped {reason}", err=True)
            if not imported:
                raise BadArgument(f"{file}: no note can be a card (fix: export notes that have "
                                  "a front and a back)")
            media = tuple(dict.fromkeys(name for item in imported for name in item.media))
            cards = [item.card for item in imported]
            _stage_cards(staged, cards, out, topic, [(file, item.number) for item in imported],
                         force, media)
            for name in media:
                staged.add(out / MEDIA_FOLDER / name, partial(package.copy_media, name))
            log = [review for item in imported for review in item.reviews]
            recorded = _replay_history(settings, user_name, cards, log) if history else 0
            staged.commit()
    except PackageError as error:
        raise BadArgument(str(error)) from error
    click.echo(f"{len(cards)} cards imported into {out / topic}"
               + (f", {len(media)} media files into {out / MEDIA_FOLDER}" if media else ""))
    if history:
        click.echo(f"{recorded} reviews recorded for {user_name!r}" if log else
                   "the package holds no review history")


@import_group.command("csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Deck folder to write card files into")
@click.option("--topic", default="imported", show_default=True, help="Sub-folder (topic)")
@click.option("--delimiter", type=click.Choice(["auto", ",", ";", "tab"]), default="auto",
              show_default=True, help="Field separator; auto reads it from the file")
@click.option("--columns", help="The columns in order, comma-separated, for a file without a "
                                "header: question, answer, title, tags, analysis, mistakes, "
                                "interview, id, lang, difficulty, ignore")
@click.option("--force", is_flag=True, help="Overwrite existing card files")
def import_csv(file: Path, out: Path, topic: str, delimiter: str, columns: str | None,
               force: bool) -> None:
    """Turn the rows of a CSV or TSV file (a question and an answer each) into card files."""
    from razbor.decks import DeckError
    from razbor.decks.csv_import import CsvError, parse_columns, read_notes
    from razbor.decks.notes import StagedFiles, card_of

    topic = _topic_folder(topic)
    try:
        names = parse_columns(columns) if columns is not None else None
    except ValueError as error:
        raise BadArgument(f"--columns: {error}") from error
    try:
        notes = read_notes(file, file.read_text(encoding="utf-8-sig"), delimiter, names)
    except UnicodeDecodeError as error:
        raise BadArgument(f"{file}: not UTF-8 text (fix: save the table as UTF-8 CSV)"
                          ) from error
    except CsvError as error:
        raise BadArgument(str(error)) from error
    except DeckError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(error.problems)} bad row(s) in {file}; nothing was "
                                   "imported") from error
    cards = [card_of(note, topic) for _, note in notes]
    with StagedFiles() as staged:
        _stage_cards(staged, cards, out, topic, [(file, line) for line, _ in notes], force)
        staged.commit()
    click.echo(f"{len(cards)} cards imported into {out / topic}")


def _topic_folder(topic: str) -> str:
    """A topic names one folder inside the deck: never a path out of it."""
    if not topic.strip() or topic.strip(".") == "" or any(c in topic for c in "/\\\0"):
        raise BadArgument(f"--topic: {topic!r} is not a folder name (fix: pass a name such as "
                          "'anki')")
    return topic


def _stage_cards(staged, cards: list[Card], out: Path, topic: str,
                 sources: list[tuple[Path, int]], force: bool, media: tuple[str, ...] = ()
                 ) -> None:
    from razbor.decks.notes import ImportConflict, stage_cards

    try:
        stage_cards(staged, cards, out, topic, sources, force, media)
    except ImportConflict as error:
        raise click.ClickException(f"nothing imported: {error}") from error


def _replay_history(settings: Settings, user_name: str, cards: list[Card], log: list) -> int:
    """Record another trainer's ratings as the user's reviews, replayed through razbor's
    scheduler with the user's settings; all or nothing."""
    from datetime import UTC, datetime

    from razbor.scheduling import Planner, Rating, SchedulerSettings
    from razbor.storage import StorageError
    from razbor.storage.review_log import import_reviews

    if not log:
        return 0
    planner = Planner(SchedulerSettings(desired_retention=settings.desired_retention,
                                        fuzz=settings.fuzz))
    store = _open_store(settings)
    try:
        return import_reviews(store, user_name, cards, log,
                              lambda before, rating, at: planner.review(before, Rating(rating), at),
                              datetime.now(UTC))
    except StorageError as error:
        raise click.ClickException(f"nothing imported: {error}") from error
    finally:
        store.close()


@main.group(invoke_without_command=True, subcommand_metavar="[anki OUT.apkg]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default="-", help="File to write (default: standard output)")
@settings_options(*STORAGE)
def export(settings: Settings, output: Path) -> None:
    """Write all history (users, card versions, attempts, reviews, recordings, mock
    interviews, preferences) as JSON Lines; `export anki` writes a deck as an Anki package
    instead."""
    if click.get_current_context().invoked_subcommand:
        if str(output) != "-" or settings.sources.get("db") == "--db":
            raise BadArgument("options of `razbor export` do not apply to `export anki` (fix: "
                              "put them after `anki`)")
        return
    from razbor.storage import export_records

    if str(output) != "-" and not output.parent.is_dir():
        raise BadArgument(f"--output: the folder {output.parent} does not exist (fix: create it "
                          "or write elsewhere)")
    store = _open_store(settings, create=False)
    try:
        lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in export_records(store)]
    finally:
        store.close()
    if not lines:
        raise click.ClickException(f"nothing to export: {store.engine.url!r} holds no history "
                                   "(fix: practise first, or pass the --db that holds it)")
    if str(output) == "-":
        click.echo("".join(lines), nl=False)
    else:
        _write_whole(output, lines)


def _write_whole(path: Path, lines: list[str]) -> None:
    """Write through a temporary file, so a failed export never leaves half a file behind."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                     prefix=f".{path.name}.") as temporary:
        temporary.writelines(lines)
    os.replace(temporary.name, path)


@export.command("anki")
@click.argument("out", metavar="OUT.apkg", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-history", is_flag=True,
              help="Add --user's reviews from the database as Anki's review log and scheduling")
@click.option("--user", "user_name", default="local", show_default=True,
              help="Whose history --with-history adds")
@settings_options(*STORAGE, *DECK)
def export_anki(settings: Settings, out: Path, with_history: bool, user_name: str) -> None:
    """Write a deck as an Anki package (.apkg): every section and the rubric, tags from topics;
    exporting again updates the notes in Anki instead of adding copies."""
    from razbor.decks import builtin_deck_path
    from razbor.decks.anki import write_package

    if not out.parent.is_dir():
        raise BadArgument(f"OUT: the folder {out.parent} does not exist (fix: create it or write "
                          "elsewhere)")
    deck = _load_deck(settings)
    history = _review_history(settings, user_name) if with_history else []
    root = Path(settings.deck).expanduser() if settings.deck else builtin_deck_path()
    try:
        summary = write_package(deck, out, root, history)
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from error
    for reference in summary.missing_media:
        click.echo(f"razbor: no file for media {reference!r}; left out", err=True)
    click.echo(f"{summary.notes} notes, {summary.media} media files and {summary.reviews} "
               f"reviews written to {out}")


def _review_history(settings: Settings, user_name: str) -> list:
    from razbor.storage.review_log import UnknownUser, reviews_of

    store = _open_store(settings, create=False)
    try:
        return reviews_of(store, user_name)
    except UnknownUser as error:
        raise BadArgument(f"--user: {error} (fix: pass the name you practise as)") from error
    finally:
        store.close()


@main.command("lab")
@click.argument("name")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Random seed of the run (0 or more)")
@settings_options(*DECK)
def lab_command(settings: Settings, name: str, seed: int) -> None:
    """Run the lab of a card (or a lab by name) and check its claims."""
    from rich.console import Console
    from rich.markup import escape

    from razbor.labs import LabUnavailable, lab_names, run_lab

    card = _load_deck(settings).get(name)
    lab_name = card.lab if card else name
    labs = ", ".join(sorted(lab_names()))
    if card and not card.lab:
        raise BadArgument(f"card {name!r} has no lab (fix: pass a lab name: {labs})")
    if lab_name not in lab_names():
        raise BadArgument(f"no card or lab named {name!r} (fix: pass a card id or a lab name: "
                          f"{labs})")
    try:
        result = run_lab(lab_name, seed)
    except LabUnavailable as error:
        raise click.ClickException(str(error)) from error
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{result.lab.title}[/bold] (lab {lab_name}, seed {seed})")
    for claim in result.claims:
        mark = "[green]PASS[/green]" if claim.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {escape(claim.statement)}\n     {escape(claim.detail)}")
    if not result.passed:
        raise click.ClickException("a claim failed: the card or the lab is wrong")


@main.group()
def grader() -> None:
    """Measure the attempt grader on labelled attempts, or see how it grades one."""


@grader.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Grader backend (default: the grader setting)")
@settings_options(*DECK, *GRADING)
def grader_eval(settings: Settings, file: Path, as_json: bool, backend: str | None) -> None:
    """Score the grader on a JSON Lines file of labelled attempts (id, card, lang, text,
    covered, mistakes): precision, recall and F1 per key point and mistake, by language."""
    from rich.console import Console

    from razbor.eval_report import print_report
    from razbor.grading.evaluate import EvalError, NotLabelledFile, evaluate, load_labelled

    settings = _with_backend(settings, backend)
    deck = _load_deck(settings)
    try:
        labelled = load_labelled(file, deck)
    except NotLabelledFile as error:
        raise BadArgument(str(error)) from error
    except EvalError as error:
        raise click.ClickException(str(error)) from error
    report = evaluate(labelled, deck, settings.make_grader().grade)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report, Console(highlight=False))


@grader.command("explain")
@click.argument("card_id")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the feedback as one JSON object")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="Grader backend (default: the grader setting)")
@settings_options(*DECK, *GRADING)
def grader_explain(settings: Settings, card_id: str, text: str, as_json: bool,
                   backend: str | None) -> None:
    """Grade TEXT (or - for standard input) as an attempt at CARD_ID: each key point and
    mistake with its verdict, confidence and the words that decided it, for writing a rubric.

    Example: razbor grader explain batchnorm "на inference берутся running mean и var"
    """
    from rich.console import Console
    from rich.markup import escape

    settings = _with_backend(settings, backend)
    card = _card(settings, card_id, option="")
    if text == "-":
        text = sys.stdin.read()
    feedback = settings.make_grader().grade(card, text)
    if as_json:
        click.echo(json.dumps(feedback.to_dict(), ensure_ascii=False))
        return
    console = Console(highlight=False, soft_wrap=True)  # a line per item, for grep
    rubric = card.gradable_rubric
    for point, result in zip(rubric.key_points, feedback.key_points, strict=True):
        _explain(console, text, point, result, "[green]✓[/green]" if result.covered else "○")
    for mistake, result in zip(rubric.mistakes, feedback.mistakes, strict=True):
        _explain(console, text, mistake, result, "[red]✗[/red]" if result.asserted else "○")
    if feedback.notice:
        console.print(f"[yellow]{escape(feedback.notice)}[/yellow]")


def _explain(console, text: str, item, result, mark: str) -> None:
    """One rubric item's line: mark, id, confidence, statement, the attempt's deciding words."""
    from rich.markup import escape

    quotes = " ".join(f"«{escape(text[start:end])}»" for start, end in result.evidence)
    console.print(f"{mark} {item.id} {result.confidence:.2f} {escape(item.text)} "
                  f"[dim]{quotes}[/dim]")


@main.command()
@settings_options(*STORAGE)
def rebuild(settings: Settings) -> None:
    """Recompute every schedule from the append-only review log."""
    store = _open_store(settings, create=False)
    click.echo(f"{store.rebuild_schedules()} schedules rebuilt from the review log")
    store.close()


@main.command()
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650),
              help="Days of history to show, today included")
@settings_options(*STORAGE, *DECK, *SCHEDULING)
def stats(settings: Settings, days: int) -> None:
    """Your progress: review calendar, due forecast, retention against the target, time per
    answer, key-point coverage per topic and the key points you miss most."""
    from rich.console import Console

    from razbor.progress_report import print_stats

    trainer = _open(settings, create=False)
    print_stats(trainer.stats(trainer.user(), days=days), Console(highlight=False))


@main.command()
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.05, 0.5),
              help="Share of the newest reviews held out to judge the fit")
@click.option("--user", "user_name", default="local", show_default=True,
              help="Whose review log to fit, and for whom to keep the fit")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Keep the fitted parameters when they predict the held-out reviews better")
@settings_options(*STORAGE)
def optimize(settings: Settings, holdout: float, user_name: str, save: bool) -> None:
    """Fit the scheduler's FSRS parameters to your own review log (needs razbor[optimizer]).

    The newest reviews are held out: the log loss of the current and of the fitted parameters
    on them is printed, and the fitted ones are kept for this user, from the next start, only
    if they predict better.
    """
    from datetime import UTC, datetime

    from razbor.fitting import save_fit
    from razbor.scheduling import OPTIMIZER_MISSING, optimizer_installed

    if not optimizer_installed():
        raise click.ClickException(OPTIMIZER_MISSING)
    store = _open_store(settings, create=False)
    try:
        user_id = _existing_user(store, user_name)
        result = _fit_review_log(settings, store, user_id, user_name, holdout)
        saved = save and result.improved
        if saved:
            with _library_errors(settings):
                save_fit(store, user_id, result, datetime.now(UTC))
    finally:
        store.close()
    _print_fit(result, user_name if saved else None, save)


def _existing_user(store: Store, user_name: str) -> int:
    from razbor.storage.progress import user_id_named

    user_id = user_id_named(store, user_name)
    if user_id is None:
        raise BadArgument(f"--user: there is no user named {user_name!r} in this database (fix: "
                          "pass the name you practise under; the laptop user is 'local')")
    return user_id


def _fit_review_log(settings: Settings, store: Store, user_id: int, user_name: str,
                    holdout: float):
    from razbor.fitting import NotEnoughReviews, fit
    from razbor.scheduling import OptimizerUnavailable, PastReview
    from razbor.storage.preferences import fitted_parameters
    from razbor.storage.progress import review_log

    history = [PastReview(review.card_id, review.rating, review.reviewed_at)
               for review in review_log(store, user_id)]
    with _library_errors(settings):
        current = fitted_parameters(store, user_id)
    click.echo(f"razbor: fitting FSRS to {len(history)} reviews of {user_name}; this can take "
               "a few minutes")
    try:
        return fit(history, current.parameters if current else None, holdout)
    except (NotEnoughReviews, OptimizerUnavailable) as error:
        raise click.ClickException(str(error)) from error


def _print_fit(result, saved_for: str | None, save: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from razbor.scheduling import DEFAULT_PARAMETERS

    current = "defaults" if result.before_parameters == DEFAULT_PARAMETERS else "fitted earlier"
    click.echo(f"held out: the {result.held_out_reviews} reviews from "
               f"{result.split_at:%Y-%m-%d %H:%M} UTC on; the {result.after.reviews} of them a "
               "day or more after their card's previous review are scored")
    table = Table()
    for column in ("parameters", "log loss", "RMSE (bins)"):
        table.add_column(column, justify="left" if column == "parameters" else "right")
    table.add_row(f"current ({current})", f"{result.before.log_loss:.4f}",
                  f"{result.before.rmse_bins:.4f}")
    table.add_row(f"fitted on {result.fit_reviews} older reviews", f"{result.after.log_loss:.4f}",
                  f"{result.after.rmse_bins:.4f}")
    Console(highlight=False).print(table)
    click.echo("fitted parameters: " + ", ".join(f"{value:.4f}" for value in result.parameters))
    if saved_for:
        click.echo(f"razbor: saved for {saved_for} in the database; `razbor serve` and `razbor "
                   "practice` schedule their reviews with them from their next start")
    elif not result.improved:
        click.echo("razbor: not saved: the fitted parameters predict the held-out reviews no "
                   "better than the current ones")
    elif not save:
        click.echo("razbor: not saved (--no-save)")


@main.command()
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
              help="The interview date to get ready for (after today)")
@click.option("--topics", default="", metavar="A,B",
              help="The topics it covers, comma-separated (default: every topic)")
@click.option("--clear", is_flag=True, help="Forget the interview date")
@click.option("--user", "user_name", default="local", show_default=True,
              help="Whose plan to set or show")
@settings_options(*STORAGE, *DECK, "new_per_day", "desired_retention")
def plan(settings: Settings, day: str | None, topics: str, clear: bool, user_name: str) -> None:
    """Set (or clear) an interview date and show the plan: on track or behind by N cards, the
    new cards and reviews a day it takes. Without options it shows the plan set before."""
    from razbor.practice import InvalidInput

    if clear and (day or topics):
        raise BadArgument("--clear: pass it alone, without --date or --topics (fix: clear, then "
                          "set a new date)")
    if topics and not day:
        raise BadArgument("--topics: also pass --date (fix: razbor plan --date YYYY-MM-DD "
                          "--topics a,b)")
    trainer = _open(settings, create=False)
    try:
        user_id = trainer.user() if user_name == "local" else _existing_user(trainer.store,
                                                                               user_name)
        if clear:
            trainer.clear_target_date(user_id)
            click.echo("razbor: interview date cleared")
            return
        if day:
            try:
                trainer.set_target_date(user_id, day, topics.split(","))
            except InvalidInput as error:
                raise BadArgument(f"--date/--topics: {error}") from error
        with _library_errors(settings):
            _print_plan(trainer.target_date(user_id), trainer.readiness(user_id))
    finally:
        trainer.store.close()


def _print_plan(target, readiness) -> None:
    if readiness is None:
        click.echo("razbor: no interview date is set (fix: razbor plan --date YYYY-MM-DD)")
        return
    scope = ", ".join(target.topics) if target.topics else "every topic"
    click.echo(f"interview on {readiness.target.isoformat()}, in {readiness.days_left} days: "
               f"{scope} ({len(readiness.cards)} cards)")
    click.echo("on track" if readiness.on_track else f"behind by {readiness.behind} cards")
    click.echo(f"new cards per day: {readiness.new_per_day}")
    click.echo(f"reviews per day: about {readiness.reviews_per_day} "
               f"(at most {readiness.peak_reviews})")


@main.group()
def user() -> None:
    """Accounts of a hosted trainer (razbor serve --accounts)."""


def _accounts(settings: Settings):
    from razbor.storage.accounts import Accounts

    return Accounts(_open_store(settings))


def _new_password(from_stdin: bool) -> str:
    from razbor.accounts import AccountError, check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password(password)
    except AccountError as error:
        raise BadArgument(f"{error} (fix: choose a longer password)") from error


@user.command("add")
@click.argument("name")
@click.option("--admin", "is_admin", is_flag=True, help="May invite, deactivate and see the team")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@settings_options(*STORAGE)
def user_add(settings: Settings, name: str, is_admin: bool, password_stdin: bool) -> None:
    """Create an account that can sign in."""
    from datetime import UTC, datetime

    from razbor.accounts import AccountError, check_name, hash_password

    try:
        check_name(name)
    except AccountError as error:
        raise BadArgument(f"NAME: {error}") from error
    password = _new_password(password_stdin)
    role = "admin" if is_admin else "member"
    try:
        _accounts(settings).add_user(name, hash_password(password), role, datetime.now(UTC))
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"razbor: added {role} {name}")


@user.command("list")
@settings_options(*STORAGE)
def user_list(settings: Settings) -> None:
    """Accounts with their role, state and practice."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("name", "role", "active", "attempts", "ratings", "last review"):
        table.add_column(column)
    for member in _accounts(settings).members():
        last = member.last_review.strftime("%Y-%m-%d") if member.last_review else "-"
        table.add_row(member.user.name, member.user.role, "yes" if member.user.active else "no",
                      str(member.attempts), str(member.reviews), last)
    Console().print(table)


@user.command("disable")
@click.argument("name")
@settings_options(*STORAGE)
def user_disable(settings: Settings, name: str) -> None:
    """Stop an account signing in and end its sessions; its history stays."""
    _set_active(settings, name, False)


@user.command("enable")
@click.argument("name")
@settings_options(*STORAGE)
def user_enable(settings: Settings, name: str) -> None:
    """Let a disabled account sign in again."""
    _set_active(settings, name, True)


def _set_active(settings: Settings, name: str, active: bool) -> None:
    from razbor.accounts import AccountError

    try:
        _accounts(settings).set_active(name, active)
    except AccountError as error:
        raise BadArgument(f"NAME: {error} (fix: see `razbor user list`)") from error
    click.echo(f"razbor: {name} {'enabled' if active else 'disabled'}")


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@settings_options(*STORAGE)
def user_password(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a new password for an account and end all its sessions."""
    from razbor.accounts import hash_password

    accounts = _accounts(settings)
    found = accounts.user_named(name)
    if found is None:
        raise BadArgument(f"NAME: there is no user named {name!r} (fix: see `razbor user list`)")
    accounts.set_password(found.id, hash_password(_new_password(password_stdin)))
    click.echo(f"razbor: new password set for {name}; their sessions are ended")


if __name__ == "__main__":
    sys.exit(main())
