"""The stats page's charts, drawn on the server as SVG: no script, no network, no inline style.

Each chart is built as an element tree, so the serializer escapes every text and attribute
(topic names and card titles come from deck files). Colours are SVG presentation attributes,
which the CSP allows where it forbids style attributes; classes let static/style.css refine
them. Every chart is an image with a title and a description for screen readers, and the
page shows the same numbers in a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from xml.etree import ElementTree as ET

from markupsafe import Markup

from razbor.progress import Progress, TopicCoverage, WeekTally, WeekTime, week_of

Translate = Callable[[str], str]
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
ACCENT = "#2f5bd3"
MUTED = "#667085"
GRID = "#e3e7ee"
TARGET = "#067647"
LEVELS = (GRID, "#c6d3f5", "#8fa8ec", "#5a80e0", ACCENT)
CELL, STEP = 11, 13
PLOT_WIDTH, PLOT_HEIGHT, LEFT, TOP, BOTTOM = 560, 120, 44, 12, 26
AXIS_LABELS = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str


def stats_charts(progress: Progress, t: Translate) -> dict[str, Markup]:
    """Every chart of the stats page; a chart with nothing to show is left out."""
    charts = {"heatmap": heatmap(progress.reviews_per_day, t),
              "forecast": forecast(progress.forecast, t)}
    if any(week.total for week in progress.retention_by_week):
        charts["retention"] = retention(progress.retention_by_week, progress.target, t)
    if any(week.attempts for week in progress.time_by_week):
        charts["time"] = answer_time(progress.time_by_week, t)
    for number, topic in enumerate(progress.coverage):
        charts[f"coverage-{number}"] = coverage_sparkline(topic, f"coverage-{number}", t)
    return charts


def heatmap(days: Sequence[tuple[date, int]], t: Translate) -> Markup:
    """A calendar of reviews: a column per week, a row per weekday, darker for more."""
    first_monday = week_of(days[0][0])
    columns = (days[-1][0] - first_monday).days // 7 + 1
    left, top = 30, 16
    width, height = max(left + columns * STEP, 220), top + 7 * STEP + 24
    most = max((count for _, count in days), default=0)
    total = sum(count for _, count in days)
    svg = _svg("heatmap", width, height, t("reviews_per_day"),
               f"{t('reviews_word')}: {total}; {days[0][0]} – {days[-1][0]}")
    _month_labels(svg, days, first_monday, left, t)
    weekdays = t("weekdays_short").split()
    for row in (0, 2, 4):
        _text(svg, 0, top + row * STEP + CELL - 1, weekdays[row], "axis")
    for day, count in days:
        level = math.ceil(4 * count / most) if count else 0
        cell = ET.SubElement(svg, "rect", {
            "x": _number(left + (day - first_monday).days // 7 * STEP),
            "y": _number(top + day.weekday() * STEP), "width": str(CELL), "height": str(CELL),
            "rx": "2", "fill": LEVELS[level], "class": f"day level-{level}"})
        ET.SubElement(cell, "title").text = f"{day.isoformat()}: {count}"
    _legend(svg, width, top + 7 * STEP + 8, t)
    return _markup(svg)


def _month_labels(svg: ET.Element, days: Sequence[tuple[date, int]], first_monday: date,
                  left: int, t: Translate) -> None:
    months = t("months_short").split()
    last_column = -3
    for day, _ in days:
        column = (day - first_monday).days // 7
        if (day.day == 1 or day == days[0][0]) and column - last_column >= 3:
            _text(svg, left + column * STEP, 10, months[day.month - 1], "axis")
            last_column = column


def _legend(svg: ET.Element, width: int, y: int, t: Translate) -> None:
    x = width - len(LEVELS) * STEP - 40
    _text(svg, x - 4, y + CELL - 1, t("less"), "axis", anchor="end")
    for level, colour in enumerate(LEVELS):
        ET.SubElement(svg, "rect", {"x": _number(x + level * STEP), "y": str(y),
                                    "width": str(CELL), "height": str(CELL), "rx": "2",
                                    "fill": colour, "class": f"legend level-{level}"})
    _text(svg, x + len(LEVELS) * STEP + 2, y + CELL - 1, t("more"), "axis")


def forecast(days: Sequence[tuple[date, int]], t: Translate) -> Markup:
    """Cards due per day for the coming days; overdue cards count as due today."""
    total = sum(count for _, count in days)
    return _bars("forecast", t("due_forecast"), f"{t('due')}: {total}",
                 [Bar(_day_label(day, t), count, f"{day.isoformat()}: {count}")
                  for day, count in days], str)


def answer_time(weeks: Sequence[WeekTime], t: Translate) -> Markup:
    """The median seconds per attempt, week by week."""
    unit = t("seconds_short")
    bars = [Bar(_day_label(week.week, t), week.median_seconds or 0,
                f"{week.week.isoformat()}: {_seconds(week.median_seconds, unit)} "
                f"({t('attempts_count')}: {week.attempts})") for week in weeks]
    answered = [week.median_seconds for week in weeks if week.median_seconds is not None]
    return _bars("time", t("time_per_answer"),
                 f"{t('median')}: {_seconds(min(answered), unit)} – "
                 f"{_seconds(max(answered), unit)}",
                 bars, lambda value: _seconds(value, unit))


def retention(weeks: Sequence[WeekTally], target: float, t: Translate) -> Markup:
    """Measured retention per week as a line, the target as a dashed line across."""
    width, height = LEFT + PLOT_WIDTH + 70, TOP + PLOT_HEIGHT + BOTTOM
    measured = [week for week in weeks if week.total]
    svg = _svg("retention", width, height, t("retention_by_week"),
               f"{t('target')}: {_percent(target)}; " + "; ".join(
                   f"{week.week.isoformat()}: {_percent(week.share)}" for week in measured))
    for share in (0.0, 0.5, 1.0):
        _gridline(svg, _share_y(share), _percent(share))
    target_y = _share_y(target)
    ET.SubElement(svg, "line", {"x1": str(LEFT), "x2": str(LEFT + PLOT_WIDTH),
                                "y1": _number(target_y), "y2": _number(target_y),
                                "stroke": TARGET, "stroke-dasharray": "6 4", "class": "target"})
    _text(svg, LEFT + PLOT_WIDTH + 4, target_y + 4, f"{t('target')} {_percent(target)}",
          "target", fill=TARGET)
    step = PLOT_WIDTH / len(weeks)
    points = [(LEFT + (number + 0.5) * step, _share_y(week.share), week)
              for number, week in enumerate(weeks) if week.total]
    ET.SubElement(svg, "polyline", {
        "points": " ".join(f"{_number(x)},{_number(y)}" for x, y, _ in points),
        "fill": "none", "stroke": ACCENT, "stroke-width": "2", "class": "measured"})
    for x, y, week in points:
        dot = ET.SubElement(svg, "circle", {"cx": _number(x), "cy": _number(y), "r": "3",
                                            "fill": ACCENT, "class": "measured"})
        ET.SubElement(dot, "title").text = (f"{week.week.isoformat()}: {_percent(week.share)} "
                                            f"({week.hits}/{week.total})")
    _x_labels(svg, [_day_label(week.week, t) for week in weeks], step)
    return _markup(svg)


def coverage_sparkline(topic: TopicCoverage, chart_id: str, t: Translate) -> Markup:
    """A small line of one topic's weekly key-point coverage, 0 to 100%."""
    width, height = 160, 30
    svg = _svg(chart_id, width, height, f"{t('coverage_by_topic')}: {topic.topic}",
               "; ".join(f"{week.week.isoformat()}: {_percent(week.share)}"
                         for week in topic.weeks if week.total))
    svg.set("class", "chart sparkline")
    step = width / len(topic.weeks)
    points = [(_number((number + 0.5) * step), _number(3 + (1 - week.share) * (height - 6)))
              for number, week in enumerate(topic.weeks) if week.total]
    ET.SubElement(svg, "line", {"x1": "0", "x2": str(width), "y1": str(height - 3),
                                "y2": str(height - 3), "stroke": GRID})
    ET.SubElement(svg, "polyline", {"points": " ".join(f"{x},{y}" for x, y in points),
                                    "fill": "none", "stroke": ACCENT, "stroke-width": "1.5"})
    for x, y in points:
        ET.SubElement(svg, "circle", {"cx": x, "cy": y, "r": "1.8", "fill": ACCENT})
    return _markup(svg)


def _bars(chart_id: str, title: str, desc: str, bars: Sequence[Bar],
          show: Callable[[float], str]) -> Markup:
    width, height = LEFT + PLOT_WIDTH + 8, TOP + PLOT_HEIGHT + BOTTOM
    svg = _svg(chart_id, width, height, title, desc)
    most = max((bar.value for bar in bars), default=0) or 1
    _gridline(svg, TOP, show(most))
    _gridline(svg, TOP + PLOT_HEIGHT, show(0))
    step = PLOT_WIDTH / len(bars)
    for number, bar in enumerate(bars):
        tall = PLOT_HEIGHT * bar.value / most
        rect = ET.SubElement(svg, "rect", {
            "x": _number(LEFT + number * step + step * 0.15), "y": _number(TOP + PLOT_HEIGHT - tall),
            "width": _number(step * 0.7), "height": _number(tall), "fill": ACCENT, "class": "bar"})
        ET.SubElement(rect, "title").text = bar.tooltip
    _x_labels(svg, [bar.label for bar in bars], step)
    return _markup(svg)


def _svg(chart_id: str, width: int, height: int, title: str, desc: str) -> ET.Element:
    svg = ET.Element("svg", {
        "xmlns": SVG_NAMESPACE, "class": f"chart {chart_id}", "role": "img",
        "viewBox": f"0 0 {width} {height}", "width": str(width), "height": str(height),
        "aria-labelledby": f"{chart_id}-title {chart_id}-desc"})
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = desc
    return svg


def _gridline(svg: ET.Element, y: float, label: str) -> None:
    ET.SubElement(svg, "line", {"x1": str(LEFT), "x2": str(LEFT + PLOT_WIDTH),
                                "y1": _number(y), "y2": _number(y), "stroke": GRID})
    _text(svg, LEFT - 6, y + 4, label, "axis", anchor="end")


def _x_labels(svg: ET.Element, labels: Sequence[str], step: float) -> None:
    every = math.ceil(len(labels) / AXIS_LABELS)
    for number in range(0, len(labels), every):
        _text(svg, LEFT + (number + 0.5) * step, TOP + PLOT_HEIGHT + 16, labels[number], "axis",
              anchor="middle")


def _text(svg: ET.Element, x: float, y: float, content: str, kind: str, anchor: str = "start",
          fill: str = MUTED) -> None:
    ET.SubElement(svg, "text", {"x": _number(x), "y": _number(y), "class": kind,
                                "text-anchor": anchor, "fill": fill,
                                "font-size": "10"}).text = content


def _share_y(share: float) -> float:
    return TOP + (1 - share) * PLOT_HEIGHT


def _day_label(day: date, t: Translate) -> str:
    return f"{day.day} {t('months_short').split()[day.month - 1]}"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _seconds(seconds: float | None, unit: str) -> str:
    return "—" if seconds is None else f"{seconds:.0f} {unit}"


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _markup(svg: ET.Element) -> Markup:
    """The serialized chart, marked safe for Jinja: the tree's serializer has escaped it."""
    return Markup(ET.tostring(svg, encoding="unicode"))
