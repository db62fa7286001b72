"""Printing an evaluation report as tables: overall, per language, per label, the errors."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

HEADLINE = ("keypoint_macro_f1", "keypoint_micro_f1", "mistake_precision", "mistake_recall")


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_report(report: dict, console: Console) -> None:
    summary = Table(title="Grader quality")
    summary.add_column("slice")
    summary.add_column("attempts", justify="right")
    for key in HEADLINE:
        summary.add_column(key.replace("_", " "), justify="right")
    summary.add_row("all", str(report["attempts"]), *(_figure(report[k]) for k in HEADLINE))
    for lang, part in report["by_lang"].items():
        summary.add_row(lang, str(part["attempts"]), *(_figure(part[k]) for k in HEADLINE))
    for card, part in report["by_card"].items():
        summary.add_row(card, str(part["attempts"]), *(_figure(part[k]) for k in HEADLINE))
    console.print(summary)
    for kind in ("per_key_point", "per_mistake"):
        labels = Table(title=kind.replace("_", " "))
        for column in ("id", "precision", "recall", "F1", "support"):
            labels.add_column(column, justify="left" if column == "id" else "right")
        for label, figures in report[kind].items():
            labels.add_row(label, _figure(figures["precision"]), _figure(figures["recall"]),
                           _figure(figures["f1"]), str(figures["support"]))
        console.print(labels)
    console.print(f"grading latency: p50 {report['latency_p50_ms']:.1f} ms, "
                  f"p99 {report['latency_p99_ms']:.1f} ms")
    for error in report["errors"]:
        console.print(f"[dim]{error['id']}: missed {error['missed']}, extra {error['extra']}, "
                      f"mistakes wrong {error['mistakes_wrong']}[/dim]")
