"""The practice flow in a terminal: the same use cases as the web page, drawn with rich."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule

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


def _read_rating(console: Console) -> Rating:
    while True:
        answer = _ask(console, "Оценка / rating [1 Again · 2 Hard · 3 Good · 4 Easy]: ").strip()
        if answer in QUIT:
            raise Quit
        try:
            return Rating.parse(answer)
        except ValueError:
            console.print("[red]Введите 1, 2, 3 или 4 (q — выход).[/red]")


def practice_round(trainer: Trainer, user_id: int, console: Console,
                   topic: str | None = None) -> bool:
    """One card: attempt, analysis, rating. Returns False when nothing is left to practise."""
    card = trainer.next_card(user_id, topic)
    if card is None:
        console.print("[green]На сегодня всё: нет карточек к повторению.[/green] "
                      "Nothing is due now.")
        return False
    console.print(Rule(" · ".join(card.topics)))
    console.print(Panel(f"[bold]{card.title}[/bold]\n\n{card.instruction}", expand=False))
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
    review, _ = trainer.rate(user_id, attempt.id, _read_rating(console))
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
