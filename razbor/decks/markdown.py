"""Card files: Markdown with YAML front matter, parsed strictly so authors get exact errors."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from razbor.cards import DEFAULT_INSTRUCTION, Card, KeyPoint, Mistake, Rubric
from razbor.decks.problems import Problem
from razbor.grading.lexicon import default_lexicon
from razbor.grading.patterns import PatternError, compile_pattern

# libyaml's parser where PyYAML was built with it: the same safe loading, several times faster.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SECTION_HEADINGS = {
    "короткий ответ": "short_answer",
    "short answer": "short_answer",
    "подробный разбор": "analysis",
    "detailed analysis": "analysis",
    "analysis": "analysis",
    "типичные ошибки": "mistakes",
    "typical mistakes": "mistakes",
    "как сказать на собеседовании": "interview",
    "how to say it in the interview": "interview",
}
CANONICAL_HEADINGS = {
    "short_answer": "Короткий ответ",
    "analysis": "Подробный разбор",
    "mistakes": "Типичные ошибки",
    "interview": "Как сказать на собеседовании",
}
FRONT_MATTER_KEYS = {"id", "title", "question", "lang", "difficulty", "tags", "instruction", "rubric",
                     "related", "lab"}
REQUIRED_KEYS = ("id", "title", "lang", "difficulty")
LANGUAGES = ("ru", "en")
CARD_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RUBRIC_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$")


class _CardFile:
    """One card file being parsed; collects problems instead of stopping at the first."""

    def __init__(self, path: Path, text: str, topics: tuple[str, ...]):
        self.path = path
        self.lines = text.splitlines()
        self.folder_topics = topics
        self.problems: list[Problem] = []
        self.key_lines: dict[str, int] = {}

    def problem(self, line: int, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.path, line, message, hint))

    def parse(self) -> Card | None:
        split = self._split_front_matter()
        if split is None:
            return None
        front_text, body_start = split
        meta = self._load_front_matter(front_text)
        sections = self._sections(body_start)
        if meta is None or self.problems:
            return None
        card = self._build(meta, sections)
        return None if self.problems else card

    def _split_front_matter(self) -> tuple[str, int] | None:
        if not self.lines or self.lines[0].strip() != "---":
            self.problem(1, "the file does not start with YAML front matter",
                         "put a line '---', the card's fields, and another '---' at the top")
            return None
        for index in range(1, len(self.lines)):
            if self.lines[index].strip() == "---":
                return "\n".join(self.lines[1:index]), index + 1
        self.problem(1, "the front matter is never closed", "end it with a line '---'")
        return None

    def _load_front_matter(self, text: str) -> dict | None:
        try:
            node = yaml.compose(text, Loader=SAFE_LOADER)
            meta = yaml.load(text, Loader=SAFE_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            reason = getattr(error, "problem", None) or str(error)
            self.problem(line, f"the front matter is not valid YAML: {reason}",
                         "check indentation and quote values that contain ':' or '#'")
            return None
        if not isinstance(meta, dict):
            self.problem(2, "the front matter is not a mapping of fields",
                         "write fields as 'name: value' lines")
            return None
        for key_node, _ in node.value:
            self.key_lines[str(key_node.value)] = key_node.start_mark.line + 2
        return meta

    def _sections(self, body_start: int) -> dict[str, tuple[int, str]]:
        sections: dict[str, tuple[int, str]] = {}
        current: str | None = None
        heading_line = 0
        buffer: list[str] = []

        def close() -> None:
            if current is not None:
                sections[current] = (heading_line, "\n".join(buffer).strip())

        for number, line in enumerate(self.lines[body_start:], start=body_start + 1):
            match = HEADING.match(line)
            if match:
                close()
                name = SECTION_HEADINGS.get(match.group(1).strip().casefold())
                if name is None:
                    self.problem(number, f"unknown section '{match.group(1)}'",
                                 "use one of: " + ", ".join(CANONICAL_HEADINGS.values()))
                elif name in sections:
                    self.problem(number, f"section '{match.group(1)}' appears twice",
                                 "merge the two sections into one")
                current, heading_line, buffer = name, number, []
            elif current is not None:
                buffer.append(line)
            elif line.strip():
                self.problem(number, "text before the first section heading",
                             "start the body with '## Короткий ответ'")
        close()
        last_line = max(len(self.lines), 1)
        for name, heading in CANONICAL_HEADINGS.items():
            if name not in sections:
                self.problem(last_line, f"missing section '{heading}'",
                             f"add a '## {heading}' heading with its text")
            elif not sections[name][1]:
                self.problem(sections[name][0], f"section '{heading}' is empty",
                             "write the section's text under its heading")
        return sections

    def _line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    def _build(self, meta: dict, sections: dict[str, tuple[int, str]]) -> Card | None:
        for key in meta:
            if key not in FRONT_MATTER_KEYS:
                self.problem(self._line_of(str(key)), f"unknown field '{key}'",
                             "known fields: " + ", ".join(sorted(FRONT_MATTER_KEYS)))
        for key in REQUIRED_KEYS:
            if meta.get(key) in (None, ""):
                self.problem(1, f"missing field '{key}'", f"add '{key}: ...' to the front matter")
        if self.problems:
            return None
        card_id = self._card_id(meta["id"])
        title = self._text_field(meta, "title")
        lang = self._language(meta["lang"])
        difficulty = self._difficulty(meta["difficulty"])
        tags = self._tags(meta.get("tags", []))
        instruction = self._text_field(meta, "instruction") if "instruction" in meta else ""
        question = self._text_field(meta, "question") if "question" in meta else ""
        rubric = self._rubric(meta.get("rubric"))
        related = self._related(meta.get("related", []))
        lab = self._text_field(meta, "lab") if "lab" in meta else ""
        if self.problems:
            return None
        topics = tuple(dict.fromkeys((*self.folder_topics, *tags))) or ("general",)
        return Card(
            id=card_id, title=title, lang=lang, topics=topics, difficulty=difficulty,
            short_answer=sections["short_answer"][1], analysis=sections["analysis"][1],
            mistakes=sections["mistakes"][1], interview=sections["interview"][1],
            instruction=instruction or DEFAULT_INSTRUCTION, rubric=rubric, related=related,
            lab=lab, source=str(self.path), question=question,
        )

    def _card_id(self, value: object) -> str:
        text = str(value)
        if not CARD_ID.match(text):
            self.problem(self._line_of("id"), f"card id {text!r} is not a slug",
                         "use lowercase latin letters, digits and '-', e.g. 'roc-auc'")
        return text

    def _text_field(self, meta: dict, key: str) -> str:
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(self._line_of(key), f"field '{key}' must be non-empty text",
                         f"write '{key}: some text'")
            return ""
        return value.strip()

    def _language(self, value: object) -> str:
        if value not in LANGUAGES:
            self.problem(self._line_of("lang"), f"language {value!r} is not supported",
                         "use 'ru' or 'en'")
        return str(value)

    def _difficulty(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            self.problem(self._line_of("difficulty"), f"difficulty {value!r} is not 1..5",
                         "use a whole number from 1 (easy) to 5 (hard)")
            return 0
        return value

    def _tags(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
            self.problem(self._line_of("tags"), "field 'tags' must be a list of words",
                         "write 'tags: [metrics, ranking]'")
            return ()
        return tuple(value)

    def _related(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and CARD_ID.match(v)
                                                  for v in value):
            self.problem(self._line_of("related"), "field 'related' must be a list of card ids",
                         "write 'related: [roc-auc, calibration]'")
            return ()
        return tuple(value)

    def _rubric(self, value: object) -> Rubric:
        if value is None:
            return Rubric()
        line = self._line_of("rubric")
        if not isinstance(value, dict) or set(value) - {"key_points", "mistakes"}:
            self.problem(line, "field 'rubric' must have only 'key_points' and 'mistakes'",
                         "write 'rubric:' with 'key_points:' and 'mistakes:' lists under it")
            return Rubric()
        key_points = self._rubric_items(value.get("key_points") or [], "key_points", line)
        mistakes = self._rubric_items(value.get("mistakes") or [], "mistakes", line)
        return Rubric(
            key_points=tuple(KeyPoint(*item) for item in key_points),
            mistakes=tuple(Mistake(*item) for item in mistakes),
        )

    def _rubric_items(self, items: object, kind: str, line: int) -> list[tuple]:
        if not isinstance(items, list):
            self.problem(line, f"rubric '{kind}' must be a list",
                         "write each item as '- id: ...' with 'text: ...' under it")
            return []
        parsed = []
        for number, item in enumerate(items, start=1):
            if (
                not isinstance(item, dict)
                or not {"id", "text"} <= set(item) <= {"id", "text", "match", "wordings"}
                or not isinstance(item["text"], str)
                or not item["text"].strip()
            ):
                self.problem(line, f"rubric {kind} item {number} must have 'id' and 'text' "
                             "(and optionally 'match' and 'wordings')",
                             "write '- id: bn.stats' and 'text: one sentence' under it")
                continue
            if not RUBRIC_ID.match(str(item["id"])):
                self.problem(line, f"rubric id {item['id']!r} is not a valid id",
                             "use lowercase letters, digits, '.', '_' or '-', e.g. 'bn.stats'")
                continue
            patterns = item.get("match", [])
            if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                self.problem(line, f"rubric id {item['id']!r}: 'match' must be a list of "
                             "patterns", "write match: ['@mean + @over_batch']")
                continue
            for pattern in patterns:
                try:
                    compile_pattern(pattern, default_lexicon())
                except PatternError as error:
                    self.problem(line, f"rubric id {item['id']!r}: {error}",
                                 "use concepts from razbor/grading/lexicon.yaml or plain words")
            wordings = item.get("wordings", [])
            if not isinstance(wordings, list) or not all(
                    isinstance(wording, str) and wording.strip() for wording in wordings):
                self.problem(line, f"rubric id {item['id']!r}: 'wordings' must be a list of "
                             "sentences", "write wordings: ['на инференсе dropout выключен']")
                continue
            parsed.append((str(item["id"]), item["text"].strip(), tuple(patterns),
                           tuple(wording.strip() for wording in wordings)))
        return parsed


def parse_card(path: Path, text: str, topics: tuple[str, ...] = ()) -> tuple[Card | None, list]:
    """Parse one card file; returns the card (or None) and every problem found."""
    card_file = _CardFile(path, text, topics)
    card = card_file.parse()
    return card, card_file.problems


def dump_card(card: Card, folder_topics: tuple[str, ...] = ()) -> str:
    """The card as a card file; parse_card of the result gives the same card back."""
    meta: dict = {"id": card.id, "title": card.title, "lang": card.lang,
                  "difficulty": card.difficulty}
    if card.question:
        meta["question"] = card.question
    tags = [topic for topic in card.topics if topic not in folder_topics]
    if tags and tags != ["general"]:
        meta["tags"] = tags
    if card.instruction != DEFAULT_INSTRUCTION:
        meta["instruction"] = card.instruction
    if card.related:
        meta["related"] = list(card.related)
    if card.lab:
        meta["lab"] = card.lab
    if card.rubric.key_points or card.rubric.mistakes:
        meta["rubric"] = {
            "key_points": [_rubric_entry(p) for p in card.rubric.key_points],
            "mistakes": [_rubric_entry(m) for m in card.rubric.mistakes],
        }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100)
    body = "\n\n".join(
        f"## {CANONICAL_HEADINGS[name]}\n\n{getattr(card, name)}" for name in CANONICAL_HEADINGS
    )
    return f"---\n{front}---\n\n{body}\n"


def _rubric_entry(item: KeyPoint | Mistake) -> dict:
    entry = {"id": item.id, "text": item.text}
    if item.match:
        entry["match"] = list(item.match)
    if item.wordings:
        entry["wordings"] = list(item.wordings)
    return entry
