"""`razbor stats` in a terminal: the stats page's charts as text, drawn with rich."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from razbor.practice import Stats
from razbor.progress import Progress, WeekTally, week_of

SHADES = "·░▒▓█"
SPARKS = "▁▂▃▄▅▆▇█"
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RECENT_WEEKS = 12


def print_stats(stats: Stats, console: Console) -> None:
    progress = stats.progress
    print_calendar(progress, console)
    print_forecast(progress, console)
    print_weeks(progress, console)
    print_coverage(progress, console)
    print_missed(progress, console)
    topics = Table(title="Progress per topic")
    for column in ("topic", "due", "new", "learned"):
        topics.add_column(column, justify="left" if column == "topic" else "right")
    for row in stats.topics:
        topics.add_row(escape(row.topic), str(row.due), str(row.new), str(row.learned))
    console.print(topics)


def print_calendar(progress: Progress, console: Console) -> None:
    """A heatmap of reviews: a column per week, a row per weekday, denser marks for more."""
    days = progress.reviews_per_day
    total = sum(count for _, count in days)
    active = sum(1 for _, count in days if count)
    console.print(f"[bold]Reviews per day[/bold], {days[0][0]} – {days[-1][0]}: {total} reviews "
                  f"on {active} days")
    first_monday = week_of(days[0][0])
    columns = (days[-1][0] - first_monday).days // 7 + 1
    most = max(count for _, count in days)
    grid = [[" "] * columns for _ in range(7)]
    for day, count in days:
        grid[day.weekday()][(day - first_monday).days // 7] = SHADES[_level(count, most)]
    console.print("    " + _month_line(days, first_monday, columns), markup=False)
    for row, marks in enumerate(grid):
        console.print(f"{WEEKDAYS[row]:<4}" + "".join(marks), markup=False)
    legend = [f"{SHADES[0]} none"]
    for level in range(1, len(SHADES)):
        low, high = math.floor((level - 1) * most / 4) + 1, math.floor(level * most / 4)
        if low <= high:
            legend.append(f"{SHADES[level]} {low}" + (f"–{high}" if high > low else ""))
    console.print("    " + "  ".join(legend), markup=False)


def _level(count: int, most: int) -> int:
    """Shades relative to the busiest day: a quarter of it or less is the lightest."""
    return math.ceil(4 * count / most) if count else 0


def _month_line(days: Sequence[tuple[date, int]], first_monday: date, columns: int) -> str:
    line = [" "] * (columns + 3)
    last_end = 0
    for day, _ in days:
        column = (day - first_monday).days // 7
        if (day.day == 1 or day == days[0][0]) and column >= last_end:
            line[column:column + 3] = MONTHS[day.month - 1]
            last_end = column + 4
    return "".join(line).rstrip()


def print_forecast(progress: Progress, console: Console) -> None:
    days = progress.forecast
    total = sum(count for _, count in days)
    console.print(f"\n[bold]Due in the next {len(days)} days[/bold]: {total} reviews "
                  f"({days[0][1]} today, overdue included)")
    if not total:
        return
    most = max(count for _, count in days)
    table = Table(show_header=True, box=None)
    table.add_column("day")
    table.add_column("due", justify="right")
    table.add_column("")
    for day, count in days:
        if count:
            table.add_row(f"{day:%a} {day}", str(count), "■" * math.ceil(30 * count / most))
    console.print(table)


def print_weeks(progress: Progress, console: Console) -> None:
    """Retention against the target and the time per answer, for recent weeks with practice."""
    if progress.retention is None:
        console.print("\nMeasured retention: no reviews of learned cards yet")
    else:
        console.print(f"\nMeasured retention: {progress.retention:.0%} of {progress.recalls} "
                      f"reviews of learned cards recalled (target {progress.target:.0%})")
    weeks = [(tally, time) for tally, time in zip(progress.retention_by_week,
                                                  progress.time_by_week, strict=True)
             if tally.total or time.attempts][-RECENT_WEEKS:]
    if not weeks:
        return
    table = Table(title="Week by week")
    for column in ("week of", "learned reviews", "retention", "vs target", "attempts",
                   "median time"):
        table.add_column(column, justify="left" if column == "week of" else "right")
    for tally, time in weeks:
        gap = "" if tally.share is None else f"{100 * (tally.share - progress.target):+.0f} pt"
        table.add_row(str(tally.week), str(tally.total), _percent(tally.share), gap,
                      str(time.attempts),
                      "—" if time.median_seconds is None else f"{time.median_seconds:.0f} s")
    console.print(table)


def print_coverage(progress: Progress, console: Console) -> None:
    if not progress.coverage:
        console.print("\nKey-point coverage: no graded attempts yet")
        return
    table = Table(title="Key-point coverage per topic")
    for column in ("topic", "covered", "share", "by week (▁ 0% … █ 100%)"):
        table.add_column(column, justify="right" if column in ("covered", "share") else "left")
    for topic in progress.coverage:
        table.add_row(escape(topic.topic), f"{topic.hits}/{topic.total}", _percent(topic.share),
                      sparkline(topic.weeks))
    console.print(table)


def sparkline(weeks: Sequence[WeekTally]) -> str:
    """One mark per week from ▁ (0%) to █ (100%); a space for a week without attempts."""
    return "".join(" " if week.share is None
                   else SPARKS[min(int(week.share * len(SPARKS)), len(SPARKS) - 1)]
                   for week in weeks)


def print_missed(progress: Progress, console: Console) -> None:
    if not progress.missed:
        console.print("Key points missed most: none yet")
        return
    table = Table(title="Key points you miss most")
    for column in ("card", "key point", "missed"):
        table.add_column(column, justify="right" if column == "missed" else "left")
    for point in progress.missed:
        table.add_row(escape(point.card_id), escape(point.text),
                      f"{point.missed}/{point.attempts}")
    console.print(table)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"
