"""Dependencies point inward: the core knows nothing of the web, the CLI or the database."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "razbor"
CORE = ("cards", "scheduling", "decks", "rendering", "grading", "stemming")
OUTER = ("razbor.web", "razbor.cli", "razbor.terminal", "razbor.eval_report", "razbor.storage",
         "razbor.practice", "razbor.config", "sqlalchemy", "fastapi", "starlette", "click", "rich", "uvicorn")


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules(name: str) -> list[Path]:
    target = PACKAGE / name
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


def test_the_core_imports_nothing_from_outer_layers():
    for name in CORE:
        for path in modules(name):
            bad = {m for m in imports_of(path) if m.startswith(OUTER)}
            assert not bad, f"{path.name} imports {bad}"


def test_cards_import_nothing_of_the_project():
    assert not {m for m in imports_of(PACKAGE / "cards.py") if m.startswith("razbor")}


def test_only_scheduling_imports_fsrs():
    for path in PACKAGE.rglob("*.py"):
        if path.name != "scheduling.py":
            assert "fsrs" not in imports_of(path), path


def test_storage_and_practice_know_nothing_of_the_front_ends():
    for name in ("storage", "practice"):
        for path in modules(name):
            front = {m for m in imports_of(path)
                     if m.startswith(("razbor.web", "razbor.cli", "razbor.terminal", "fastapi",
                                      "click", "rich"))}
            assert not front, f"{path.name} imports {front}"
