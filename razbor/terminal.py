"""The practice flow in a terminal: the same use cases as the web page, drawn with rich."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from razbor.grading import Feedback
from razbor.practice import InvalidInput, Trainer
from razbor.scheduling import Rating
from razbor.speech.audio import AudioRejected

SECTIONS = (("short_answer", "Короткий ответ"), ("analysis", "Подробный разбор"),
            ("mistakes", "Типичные ошибки"), ("interview", "Как сказать на собеседовании"))
QUIT = (":q", "q", "quit")


class Quit(Exception):
    """The user asked to stop (':q' or end of input)."""


def _ask(console: Console, prompt: str = "") -> str:
    try:
        return console.input(prompt)
    except EOFError as error:
        raise Quit from error


def _read_attempt(console: Console) -> str:
    """Lines until an empty one; an empty first line means 'I answered aloud'."""
    lines: list[str] = []
    while True:
        line = _ask(console, "> ")
        if not lines and line.strip() in QUIT:
            raise Quit
        if not line.strip():
            return "\n".join(lines)
        lines.append(line)


def _read_rating(console: Console, suggested: int = 0) -> Rating:
    hint = f" (Enter = {suggested})" if suggested else ""
    while True:
        answer = _ask(console, f"Оценка / rating [1 Again · 2 Hard · 3 Good · 4 Easy]{hint}: "
                      ).strip()
        if answer in QUIT:
            raise Quit
        if not answer and suggested:
            return Rating(suggested)
        try:
            return Rating.parse(answer)
        except ValueError:
            console.print("[red]Введите 1, 2, 3 или 4 (q — выход).[/red]")


def _print_feedback(console: Console, card, text: str, feedback: Feedback) -> None:
    """The checklist: covered points with their words from the attempt, missed ones, mistakes."""
    statements = {item.id: item.text for item in (*card.gradable_rubric.key_points,
                                                  *card.gradable_rubric.mistakes)}
    covered = sum(point.covered for point in feedback.key_points)
    console.print(Rule(f"Разбор попытки / feedback: {covered}/{len(feedback.key_points)}",
                       align="left"))
    if feedback.notice:
        console.print(f"[yellow]{escape(feedback.notice)}[/yellow]")
    for point in feedback.key_points:
        statement = escape(statements.get(point.id, point.id))
        if point.covered:
            quotes = " ".join(f"«{escape(text[a:b])}»" for a, b in point.evidence)
            console.print(f"[green]✓[/green] {statement} [dim]{quotes}[/dim]")
        else:
            console.print(f"[dim]○ {statement}[/dim]")
    for mistake in feedback.mistakes:
        if mistake.asserted:
            console.print(f"[red]✗ {escape(statements.get(mistake.id, mistake.id))}[/red]")


class Microphone:
    """Records an answer with ALSA's arecord and transcribes it through the speech service."""

    def __init__(self, speech):
        self.speech = speech
        speech.start()

    @staticmethod
    def problem() -> str:
        """Why recording cannot work here, or '' when it can."""
        if shutil.which("arecord") is None:
            return "no recorder found (install alsa-utils for arecord)"
        listing = subprocess.run(["arecord", "-l"], capture_output=True, text=True, check=False)
        if "card" not in listing.stdout:
            return "no microphone found (arecord -l lists no capture device)"
        return ""

    def record(self, console: Console, user_id: int, card_id: str):
        """Record until Enter, then wait for the transcript; returns the recording."""
        _ask(console, "[bold]Enter[/bold] — начать запись / start recording ")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "answer.wav"
            process = subprocess.Popen(["arecord", "-q", "-f", "S16_LE", "-r", "16000", "-c",
                                        "1", str(path)])
            try:
                _ask(console, "● запись… Enter — стоп / recording… Enter to stop ")
            finally:
                process.terminate()
                process.wait(10)
            with path.open("rb") as audio:
                recording = self.speech.submit(user_id, card_id, audio)
        while recording.status in ("queued", "running"):
            console.print(f"распознаём… {recording.progress:.0%}", end="\r")
            time.sleep(0.5)
            recording = self.speech.recording(user_id, recording.id)
        if recording.status != "done":
            raise InvalidInput(f"transcription failed: {recording.error}")
        return recording


def print_delivery(console: Console, delivery: dict) -> None:
    """The delivery report of a spoken attempt, as a few plain lines."""
    console.print(Rule("Как прозвучал ответ / delivery", align="left"))
    fillers = ", ".join(f"«{w}» × {n}" for w, n in delivery["fillers"].items()) or "—"
    pauses = ", ".join(f"{p['seconds']} s after «{p['after_word']}»"
                       for p in delivery["long_pauses"]) or "—"
    first = (f"{delivery['time_to_first_point']} s "
             f"({delivery['share_before_first_point']:.0%} of the answer)"
             if delivery["share_before_first_point"] is not None else "not reached")
    console.print(f"duration {delivery['duration']} s, {delivery['words']} words, "
                  f"{delivery['words_per_minute']} words/min ({delivery['pace']}; "
                  "comfortable 110-160)", markup=False)
    console.print(f"fillers: {fillers}", markup=False)
    console.print(f"long pauses: {pauses}", markup=False)
    console.print(f"first key point: {first}", markup=False)


def practice_round(trainer: Trainer, user_id: int, console: Console,
                   topic: str | None = None, microphone: Microphone | None = None) -> bool:
    """One card: attempt, analysis, rating. Returns False when nothing is left to practise."""
    card = trainer.next_card(user_id, topic)
    if card is None:
        console.print("[green]На сегодня всё: нет карточек к повторению.[/green] "
                      "Nothing is due now.")
        return False
    console.print(Rule(" · ".join(card.topics)))
    asked = f"\n{escape(card.question)}" if card.question else ""
    console.print(Panel(f"[bold]{escape(card.title)}[/bold]{asked}\n\n{escape(card.instruction)}",
                        expand=False))
    console.print("[dim]Напишите попытку и закончите пустой строкой. Пустая первая строка — "
                  "«я ответил вслух». :q — выход.[/dim]")
    started = time.monotonic()
    recording_id = None
    try:
        if microphone is not None:
            recording = microphone.record(console, user_id, card.id)
            recording_id = recording.id
            console.print(f"\n[bold]Расшифровка / transcript:[/bold] "
                          f"{escape(recording.transcript['text'])}")
            console.print("[dim]Enter — принять, или напечатайте исправленный ответ "
                          "(закончите пустой строкой).[/dim]")
            text = _read_attempt(console) or recording.transcript["text"]
        else:
            text = _read_attempt(console)
        seconds = time.monotonic() - started
        attempt = trainer.submit_attempt(user_id, card.id, text, not text, seconds,
                                         recording_id=recording_id)
    except (InvalidInput, AudioRejected) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        return True
    _ask(console, "[bold]Enter[/bold] — показать разбор / show the analysis ")
    shown = trainer.analysis(user_id, attempt.id)
    for field, heading in SECTIONS:
        console.print(Rule(heading, align="left"))
        console.print(Markdown(getattr(shown, field)))
    feedback = trainer.feedback(attempt)
    if feedback:
        _print_feedback(console, shown, attempt.text, feedback)
    if attempt.delivery:
        print_delivery(console, attempt.delivery)
    suggested = feedback.suggested_rating if feedback else 0
    review, _ = trainer.rate(user_id, attempt.id, _read_rating(console, suggested))
    console.print(f"Следующее повторение / next review: "
                  f"{review.state_after.due:%Y-%m-%d %H:%M} UTC\n")
    return True


def run_practice(trainer: Trainer, user_id: int, console: Console,
                 topic: str | None = None, microphone: Microphone | None = None) -> None:
    """Practise until nothing is due or the user quits."""
    try:
        while practice_round(trainer, user_id, console, topic, microphone):
            pass
    except (Quit, KeyboardInterrupt):
        console.print("\nДо встречи! / Bye.")
