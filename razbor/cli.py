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
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING

import click

from razbor.config import SETTINGS, SettingError, Settings
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
@settings_options(*TRAINER, "lang", *RECORDING, "allowed_hosts")
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the web trainer (default http://127.0.0.1:8000)."""
    import uvicorn

    from razbor.web.app import create_app
    from razbor.web.security import trusted_hosts

    _check_address(host, port)
    trainer = _open(settings)
    with _library_errors(settings):
        speech = settings.transcription(trainer)
    click.echo(f"razbor: {len(trainer.deck)} cards, database {_describe(trainer.store)}")
    click.echo(f"razbor: {_speech_status(settings, speech is not None)}")
    click.echo(f"razbor: open http://{host}:{port}/")
    for warning in _exposure_warnings(settings, host):
        click.echo(f"razbor: {warning}", err=True)
    app = create_app(trainer, lang=settings.lang, speech=speech,
                     allowed_hosts=trusted_hosts(settings.allowed_hosts, host))
    uvicorn.run(app, host=host, port=port, log_level="warning")


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
    """What a user must know before serving beyond this machine: there is no login."""
    if _is_loopback(host):
        return []
    warnings = [f"WARNING: listening on {host}, but razbor has no accounts or authentication: "
                "anyone who can reach this address can use it, read your attempts and change "
                "your history"]
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

    from razbor.terminal import Microphone, run_practice

    trainer = _open(settings)
    console = Console(highlight=False)
    microphone = None
    if voice:
        with _library_errors(settings):
            speech = settings.transcription(trainer)
        problem = Microphone.problem() if speech else (
            "speech is not installed or is switched off: pip install 'razbor[speech]'")
        if problem:
            console.print(f"[yellow]--voice: {problem}. Type your attempts instead.[/yellow]")
        else:
            microphone = Microphone(speech)
    run_practice(trainer, trainer.user(), console, topic, microphone)


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
    from razbor.speech.whisper import WhisperTranscriber
    from razbor.terminal import print_delivery

    card = _card(settings, card_id) if card_id else None
    try:
        probe(file, settings.max_recording_seconds)
    except AudioRejected as error:
        raise BadArgument(f"{file}: {error} (fix: pass a speech recording ffmpeg can read, no "
                          "longer than --max-recording-seconds)") from error
    try:
        language = settings.speech_language if settings.speech_language in ("ru", "en") else None
        transcript = WhisperTranscriber(settings.speech_model).transcribe(file, language)
    except (AudioRejected, SpeechUnavailable) as error:
        raise click.ClickException(str(error)) from error
    feedback = settings.make_grader().grade(card, transcript.text) if card else None
    starts = [s[0] for p in feedback.key_points if p.covered for s in p.evidence] if feedback else []
    delivery = delivery_report(transcript, min(starts) if starts else None).to_dict()
    if as_json:
        click.echo(json.dumps({**transcript.to_dict(), "delivery": delivery,
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


def _card(settings: Settings, card_id: str) -> Card:
    card = _load_deck(settings).get(card_id)
    if card is None:
        raise BadArgument(f"--card: no card with id {card_id!r} in the deck (fix: pass the id "
                          "from a card file's front matter)")
    return card


@main.command()
@click.argument("deck", type=click.Path(path_type=Path), required=False)
def check(deck: Path | None) -> None:
    """Validate a deck folder (default: the built-in deck): every problem as file:line with a
    fix."""
    from razbor.decks import builtin_deck_path, check_deck

    deck = deck or builtin_deck_path()
    cards, problems = check_deck(deck)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    errors = sum(problem.severity == "error" for problem in problems)
    if errors:
        raise click.ClickException(f"{errors} error(s) in {deck}; the deck was not loaded")
    click.echo(f"{deck}: {len(cards)} cards OK")


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


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default="-", help="File to write (default: standard output)")
@settings_options(*STORAGE)
def export(settings: Settings, output: Path) -> None:
    """Write all history (users, card versions, attempts, reviews) as JSON Lines."""
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
    """Measure the attempt grader on labelled attempts."""


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

    if backend:
        try:
            settings = settings.override("grader", backend, "--backend")
        except SettingError as error:
            raise BadArgument(str(error)) from error
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


@main.command()
@settings_options(*STORAGE)
def rebuild(settings: Settings) -> None:
    """Recompute every schedule from the append-only review log."""
    store = _open_store(settings, create=False)
    click.echo(f"{store.rebuild_schedules()} schedules rebuilt from the review log")
    store.close()


@main.command()
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3650))
@settings_options(*STORAGE, *DECK, *SCHEDULING)
def stats(settings: Settings, days: int) -> None:
    """Reviews per day, measured retention and progress per topic."""
    from rich.console import Console
    from rich.table import Table

    trainer = _open(settings, create=False)
    result = trainer.stats(trainer.user(), days=days)
    console = Console()
    per_day = Table(title="Reviews per day")
    per_day.add_column("day")
    per_day.add_column("reviews", justify="right")
    for day, count in result.reviews_per_day:
        per_day.add_row(str(day), str(count))
    console.print(per_day)
    if result.retention is None:
        console.print("Measured retention: no reviews of learned cards yet")
    else:
        console.print(f"Measured retention: {result.retention:.0%} of {result.recalls} "
                      "reviews of learned cards recalled")
    topics = Table(title="Progress per topic")
    for column in ("topic", "due", "new", "learned"):
        topics.add_column(column, justify="left" if column == "topic" else "right")
    for row in result.topics:
        topics.add_row(row.topic, str(row.due), str(row.new), str(row.learned))
    console.print(topics)


if __name__ == "__main__":
    sys.exit(main())
