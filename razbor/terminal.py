"""The practice flow in a terminal: the same use cases as the web page, drawn with rich."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from razbor.grading import Feedback
from razbor.practice import InvalidInput, Trainer
from razbor.scheduling import Rating

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
    statements = {item.id: item.text for item in (*card.rubric.key_points,
                                                  *card.rubric.mistakes)}
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


def practice_round(trainer: Trainer, user_id: int, console: Console,
                   topic: str | None = None) -> bool:
    """One card: attempt, analysis, rating. Returns False when nothing is left to practise."""
    card = trainer.next_card(user_id, topic)
    if card is None:
        console.print("[green]На сегодня всё: нет карточек к повторению.[/green] "
                      "Nothing is due now.")
        return False
    console.print(Rule(" · ".join(card.topics)))
    console.print(Panel(f"[bold]{escape(card.title)}[/bold]\n\n{escape(card.instruction)}",
                        expand=False))
    console.print("[dim]Напишите попытку и закончите пустой строкой. Пустая первая строка — "
                  "«я ответил вслух». :q — выход.[/dim]")
    started = time.monotonic()
    text = _read_attempt(console)
    seconds = time.monotonic() - started
    try:
        attempt = trainer.submit_attempt(user_id, card.id, text, not text, seconds)
    except InvalidInput as error:
        console.print(f"[red]{error}[/red]")
        return True
    _ask(console, "[bold]Enter[/bold] — показать разбор / show the analysis ")
    shown = trainer.analysis(user_id, attempt.id)
    for field, heading in SECTIONS:
        console.print(Rule(heading, align="left"))
        console.print(Markdown(getattr(shown, field)))
    feedback = trainer.feedback(attempt)
    if feedback:
        _print_feedback(console, shown, attempt.text, feedback)
    suggested = feedback.suggested_rating if feedback else 0
    review, _ = trainer.rate(user_id, attempt.id, _read_rating(console, suggested))
    console.print(f"Следующее повторение / next review: "
                  f"{review.state_after.due:%Y-%m-%d %H:%M} UTC\n")
    return True


def run_practice(trainer: Trainer, user_id: int, console: Console,
                 topic: str | None = None) -> None:
    """Practise until nothing is due or the user quits."""
    try:
        while practice_round(trainer, user_id, console, topic):
            pass
    except (Quit, KeyboardInterrupt):
        console.print("\nДо встречи! / Bye.")
