"""The command line: parse, call the library, print. Library errors become messages here."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import wraps
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from razbor.config import SETTINGS, Settings
from razbor.decks import DeckError, check_deck, dump_card, parse_page
from razbor.decks.page import attach_rubrics
from razbor.grading.backends import BACKENDS
from razbor.storage import StorageError, Store, export_records, import_records

OPTION_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


def settings_options(command):
    """Add one flag per declared setting; unset flags fall back to environment and defaults."""
    for spec in reversed(SETTINGS):
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
        overrides = {spec.name: kwargs.pop(spec.name) for spec in SETTINGS}
        try:
            settings = Settings.load(**overrides)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        return command(settings=settings, **kwargs)

    return wrapper


def _open(settings: Settings):
    try:
        return settings.open_trainer()
    except (DeckError, StorageError) as error:
        raise click.ClickException(str(error)) from error


@click.group()
@click.version_option(package_name="razbor")
def main() -> None:
    """razbor: answer first, then study the analysis; spaced repetition for ML interviews."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on")
@settings_options
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the web trainer (default http://127.0.0.1:8000)."""
    import uvicorn

    from razbor.web.app import create_app

    trainer = _open(settings)
    speech = settings.transcription(trainer)
    click.echo(f"razbor: {len(trainer.deck)} cards, database {trainer.store.engine.url!r}")
    click.echo("razbor: speech " + (f"on ({settings.speech_model})" if speech else
                                    "off (pip install 'razbor[speech]' to record answers)"))
    click.echo(f"razbor: open http://{host}:{port}/")
    uvicorn.run(create_app(trainer, lang=settings.lang, speech=speech), host=host, port=port,
                log_level="warning")


@main.command()
@click.option("--topic", default=None, help="Practise only this topic")
@click.option("--voice", is_flag=True, help="Record each attempt from the microphone")
@settings_options
def practice(settings: Settings, topic: str | None, voice: bool) -> None:
    """Practise in the terminal: attempt, analysis, rating, next card."""
    from razbor.terminal import Microphone, run_practice

    trainer = _open(settings)
    console = Console(highlight=False)
    microphone = None
    if voice:
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
@settings_options
def transcribe(settings: Settings, file: Path, card_id: str | None) -> None:
    """Print the transcript and delivery report of an audio file."""
    from razbor.speech.audio import AudioRejected, probe
    from razbor.speech.delivery import delivery_report
    from razbor.speech.transcript import SpeechUnavailable
    from razbor.speech.whisper import WhisperTranscriber
    from razbor.terminal import print_delivery

    console = Console(highlight=False)
    try:
        probe(file, settings.max_recording_seconds)
        language = settings.speech_language if settings.speech_language in ("ru", "en") else None
        transcript = WhisperTranscriber(settings.speech_model).transcribe(file, language)
    except (AudioRejected, SpeechUnavailable) as error:
        raise click.ClickException(str(error)) from error
    console.print(f"[bold]{transcript.language}[/bold], {transcript.duration:.1f} s")
    console.print(transcript.text, markup=False)
    first_point = None
    if card_id:
        from razbor.decks import load_deck
        from razbor.grading import grade

        card = load_deck(Path(settings.deck) if settings.deck else None).get(card_id)
        if card is None:
            raise click.ClickException(f"no card with id {card_id!r}")
        feedback = grade(card, transcript.text)
        starts = [s[0] for p in feedback.key_points if p.covered for s in p.evidence]
        first_point = min(starts) if starts else None
        console.print(f"key points covered: {', '.join(feedback.covered_ids()) or 'none'}; "
                      f"mistakes: {', '.join(feedback.mistake_ids()) or 'none'}")
    print_delivery(console, delivery_report(transcript, first_point).to_dict())


@main.command()
@click.argument("deck", type=click.Path(path_type=Path))
def check(deck: Path) -> None:
    """Validate a deck folder: every problem as file:line with a fix."""
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
@settings_options
def import_history(settings: Settings, file) -> None:
    """Load a JSON Lines export into an empty database."""
    store = _open_store(settings)
    try:
        records = (json.loads(line) for line in file if line.strip())
        counts = import_records(store, records)
    except (StorageError, json.JSONDecodeError) as error:
        raise click.ClickException(f"nothing imported: {error}") from error
    finally:
        store.close()
    click.echo(", ".join(f"{count} {kind}s" for kind, count in counts.items()) + " imported")


def _open_store(settings: Settings) -> Store:
    try:
        return Store.open(settings.database_url)
    except StorageError as error:
        raise click.ClickException(str(error)) from error


@main.command()
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output)")
@settings_options
def export(settings: Settings, output) -> None:
    """Write all history (users, card versions, attempts, reviews) as JSON Lines."""
    store = _open_store(settings)
    try:
        for record in export_records(store):
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        store.close()


@main.command("lab")
@click.argument("name")
@click.option("--seed", default=0, show_default=True, help="Random seed of the run")
@settings_options
def lab_command(settings: Settings, name: str, seed: int) -> None:
    """Run the lab of a card (or a lab by name) and check its claims."""
    from razbor.decks import load_deck
    from razbor.labs import LabUnavailable, lab_names, run_lab

    try:
        deck = load_deck(Path(settings.deck) if settings.deck else None)
    except DeckError as error:
        raise click.ClickException(str(error)) from error
    card = deck.get(name)
    lab_name = card.lab if card else name
    if card and not card.lab:
        raise click.ClickException(f"card {name!r} has no lab")
    if lab_name not in lab_names():
        raise click.ClickException(f"no card or lab named {name!r}; labs: "
                                   + ", ".join(sorted(lab_names())))
    try:
        result = run_lab(lab_name, seed)
    except LabUnavailable as error:
        raise click.ClickException(str(error)) from error
    console = Console(highlight=False)
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
@settings_options
def grader_eval(settings: Settings, file: Path, as_json: bool, backend: str | None) -> None:
    """Score the grader on a JSON Lines file of labelled attempts (id, card, lang, text,
    covered, mistakes): precision, recall and F1 per key point and mistake, by language."""
    from razbor.decks import load_deck
    from razbor.eval_report import print_report
    from razbor.grading.evaluate import EvalError, evaluate, load_labelled

    if backend:
        settings = replace(settings, grader=backend)
    try:
        deck = load_deck(Path(settings.deck) if settings.deck else None)
        report = evaluate(load_labelled(file, deck), deck, settings.make_grader().grade)
    except (DeckError, EvalError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report, Console(highlight=False))


@main.command()
@settings_options
def rebuild(settings: Settings) -> None:
    """Recompute every schedule from the append-only review log."""
    store = _open_store(settings)
    click.echo(f"{store.rebuild_schedules()} schedules rebuilt from the review log")
    store.close()


@main.command()
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3650))
@settings_options
def stats(settings: Settings, days: int) -> None:
    """Reviews per day, measured retention and progress per topic."""
    trainer = _open(settings)
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
