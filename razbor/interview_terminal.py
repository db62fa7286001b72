"""A mock interview in a terminal: the use cases of razbor.interview, drawn with rich.

Questions come one after another with their time; nothing about an answer is shown until the
report, which ends with the ratings of every answer, entered in one pass.
"""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from razbor.interview import (
    CARD,
    FOLLOW_UP,
    Interviews,
    InterviewSettings,
    Question,
    QuestionReport,
    Report,
    Summary,
    as_clock,
)
from razbor.practice import Conflict, InvalidInput, NotFound
from razbor.speech.audio import AudioRejected
from razbor.terminal import (
    SECTIONS,
    Microphone,
    Quit,
    _ask,
    _read_attempt,
    _read_rating,
    print_delivery,
)


def run_interview(interviews: Interviews, user_id: int, console: Console,
                  settings: InterviewSettings, microphone: Microphone | None = None) -> None:
    """Ask every question, then show the report and take the ratings; ':q' or Ctrl+C ends
    the interview early and still shows its report."""
    interview = interviews.start(user_id, settings)
    console.print(f"[bold]Собеседование / mock interview:[/bold] "
                  f"{len(interview.settings['cards'])} questions, {settings.minutes} min. Разборы "
                  "— в отчёте в конце / analyses wait for the report.")
    try:
        while (question := interviews.current(user_id, interview.id)) is not None:
            _ask_question(interviews, user_id, console, question, microphone)
    except (Quit, KeyboardInterrupt):
        interviews.end(user_id, interview.id)
        console.print("\n[yellow]Собеседование закончено досрочно / interview ended early."
                      "[/yellow]")
    report = interviews.report(user_id, interview.id)
    print_report(console, report)
    try:
        _show_analyses(interviews, user_id, console, report)
        _rate(interviews, user_id, console, report)
    except (Quit, KeyboardInterrupt):
        console.print("\n[yellow]Оценки не сохранены / ratings not saved.[/yellow]")
    print_past(console, interviews.past(user_id))


def _ask_question(interviews: Interviews, user_id: int, console: Console, question: Question,
                  microphone: Microphone | None) -> None:
    heading = (f"Вопрос {question.number} из {question.total} / question {question.number} of "
               f"{question.total}" if question.kind == CARD else
               f"Уточнение к вопросу {question.number} / follow-up to question {question.number}")
    console.print(Rule(heading))
    if question.follow_up:
        console.print(Panel(f"[bold]{escape(question.follow_up)}[/bold]\n"
                            f"[dim]{escape(question.card.title)}[/dim]", expand=False))
    else:
        asked = f"\n{escape(question.card.question)}" if question.card.question else ""
        console.print(Panel(f"[bold]{escape(question.card.title)}[/bold]{asked}", expand=False))
    console.print(f"Время на ответ / time for this answer: {as_clock(question.budget)} · "
                  f"конец собеседования / the interview ends at "
                  f"{question.interview_ends_at:%H:%M} UTC")
    console.print("[dim]Напишите ответ и закончите пустой строкой. Пустая первая строка — "
                  "«я ответил вслух». :q — закончить собеседование.[/dim]")
    try:
        text, recording_id = _read_answer(console, user_id, question, microphone)
        interviews.answer(user_id, question.interview_id, question.position, text,
                          not text, recording_id)
    except (InvalidInput, AudioRejected, Conflict, NotFound) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        return
    console.print("[green]Ответ записан / answer recorded.[/green]\n")


def _read_answer(console: Console, user_id: int, question: Question,
                 microphone: Microphone | None) -> tuple[str, int | None]:
    if microphone is None:
        return _read_attempt(console), None
    recording = microphone.record(console, user_id, question.card.id)
    spoken = recording.transcript["text"]
    console.print(f"\n[bold]Расшифровка / transcript:[/bold] {escape(spoken)}")
    console.print("[dim]Enter — принять, или напечатайте исправленный ответ (закончите пустой "
                  "строкой).[/dim]")
    return _read_attempt(console) or spoken, recording.id


def print_report(console: Console, report: Report) -> None:
    """The whole report: a table of the questions, then each answer's key points and
    delivery, the strengths and the weakest key points."""
    summary = report.summary
    console.print(Rule("Отчёт / report"))
    share = "—" if summary.share is None else f"{summary.share:.0%} ({summary.covered}/" \
        f"{summary.points})"
    console.print(f"answered {summary.answered}/{summary.asked} · key points covered {share} · "
                  f"total time {as_clock(summary.seconds)}"
                  + (f" · recovered in follow-ups {report.recovered}" if report.recovered else ""))
    table = Table()
    table.add_column("#", no_wrap=True)
    table.add_column("question", no_wrap=True, overflow="ellipsis", max_width=48)
    for column in ("time", "covered", "mistakes"):
        table.add_column(column, no_wrap=True)
    for question in report.questions:
        table.add_row(_label(question), escape(question.prompt),
                      _time(question), _covered(question), str(len(question.mistakes)))
    console.print(table)
    for question in report.questions:
        _print_answer(console, question)
    console.print(Rule("Сильные ответы / strengths", align="left"))
    for question in report.strengths:
        console.print(f"[green]✓[/green] {escape(question.card.title)} — {question.share:.0%}")
    if not report.strengths:
        console.print("no answer covered three quarters of its key points")
    console.print(Rule("Самые слабые пункты / weakest key points", align="left"))
    for weak in report.weakest:
        console.print(f"○ {escape(weak.point.text)} [dim]({escape(weak.card.title)})[/dim]")


def _label(question: QuestionReport) -> str:
    return str(question.number) if question.kind == CARD else f"{question.number}+"


def _time(question: QuestionReport) -> str:
    spent = as_clock(question.seconds) if question.answered else "—"
    return f"{spent}/{as_clock(question.budget)}" + (" over" if question.over_time else "")


def _covered(question: QuestionReport) -> str:
    if not question.answered:
        return "not answered"
    if not question.graded:
        return "aloud" if question.answered_aloud else "—"
    return f"{len(question.covered)}/{len(question.covered) + len(question.missed)}"


def _print_answer(console: Console, question: QuestionReport) -> None:
    if not question.graded and not question.delivery:
        return
    console.print(Rule(f"{_label(question)}. {escape(question.card.title)}", align="left"))
    if question.aimed_at:
        console.print(f"[dim]asked because the answer missed: "
                      f"{escape(question.aimed_at.text)}[/dim]")
    for point in question.covered:
        console.print(f"[green]✓[/green] {escape(point.text)}")
    for point in () if question.kind == FOLLOW_UP else question.missed:
        console.print(f"[dim]○ {escape(point.text)}[/dim]")
    for point in question.mistakes:
        console.print(f"[red]✗ {escape(point.text)}[/red]")
    if question.delivery:
        print_delivery(console, question.delivery)


def _show_analyses(interviews: Interviews, user_id: int, console: Console,
                   report: Report) -> None:
    answered = [question for question in report.questions
                if question.kind != FOLLOW_UP and question.analysis_attempt_id is not None]
    if not answered or _ask(console, "Показать разборы? / show the analyses? \\[y/N] "
                            ).strip().lower() not in ("y", "yes", "д", "да"):
        return
    for question in answered:
        card = interviews.trainer.analysis(user_id, question.analysis_attempt_id)
        console.print(Rule(card.title))
        for field, heading in SECTIONS:
            console.print(Rule(heading, align="left"))
            console.print(Markdown(getattr(card, field)))


def _rate(interviews: Interviews, user_id: int, console: Console, report: Report) -> None:
    """A rating for every unrated answer to a card, then all of them saved at once."""
    unrated = [question for question in report.to_rate if question.rating is None]
    if not unrated:
        return
    console.print(Rule("Оценки / ratings", align="left"))
    ratings = {}
    for question in unrated:
        console.print(f"[bold]{escape(question.card.title)}[/bold] — {_covered(question)}")
        ratings[question.attempt_id] = _read_rating(console, question.suggested_rating)
    saved = interviews.rate(user_id, report.interview.id, ratings)
    console.print(f"Оценок сохранено / ratings saved: {saved}")


def print_past(console: Console, past: list[Summary]) -> None:
    """Past interviews, newest first, with the change in coverage from the one before."""
    if not past:
        console.print("Собеседований ещё не было / no interviews yet.")
        return
    table = Table(title="Прошедшие собеседования / past interviews")
    for column in ("started", "answered", "covered", "change", "time"):
        table.add_column(column)
    for summary in past:
        share = f"{summary.share:.0%}" if summary.share is not None else "—"
        change = f"{summary.change:+.0f}" if summary.change is not None else "—"
        if summary.finished_at is None:
            change = "in progress"
        table.add_row(f"{summary.started_at:%Y-%m-%d %H:%M}", f"{summary.answered}/"
                      f"{summary.asked}", share, change, as_clock(summary.seconds))
    console.print(table)
