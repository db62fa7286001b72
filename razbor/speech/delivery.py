"""How an answer was delivered: pace, fillers, long pauses, and how soon it got to the point."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from itertools import pairwise

from razbor.speech.transcript import Transcript

COMFORTABLE_WPM = (110, 160)
LONG_PAUSE_SECONDS = 2.0
FILLERS = {
    "ну": r"\bну\b", "эээ": r"\bэ+(?:-э+)*\b|\bээ+\b", "как бы": r"\bкак бы\b",
    "типа": r"\bтипа\b", "короче": r"\bкороче\b", "um": r"\bu+m+\b", "uh": r"\bu+h+\b",
    "like": r"\blike\b(?!\s+(?:a|the|this|that)\b)", "you know": r"\byou know\b",
}


@dataclass(frozen=True)
class Pause:
    after_word: str
    at: float
    seconds: float


@dataclass(frozen=True)
class DeliveryReport:
    duration: float
    words: int
    words_per_minute: float
    pace: str
    fillers: dict[str, int]
    long_pauses: tuple[Pause, ...]
    time_to_first_point: float | None
    share_before_first_point: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def delivery_report(transcript: Transcript, first_point_char: int | None = None
                    ) -> DeliveryReport:
    """The report for a transcript; `first_point_char` is where the first covered key point
    starts in transcript.text (from the grader's evidence), if any."""
    words = transcript.words
    speaking = max(transcript.duration, words[-1].end if words else 0.0)
    wpm = round(len(words) / speaking * 60, 1) if speaking > 0 else 0.0
    low, high = COMFORTABLE_WPM
    pace = "slow" if wpm < low else "fast" if wpm > high else "comfortable"
    lowered = transcript.text.lower()
    fillers = {name: len(re.findall(pattern, lowered)) for name, pattern in FILLERS.items()}
    pauses = tuple(Pause(before.text, before.end, round(after.start - before.end, 2))
                   for before, after in pairwise(words)
                   if after.start - before.end >= LONG_PAUSE_SECONDS)
    first_time = _time_at_char(transcript, first_point_char)
    share = round(first_time / speaking, 2) if first_time is not None and speaking else None
    return DeliveryReport(round(speaking, 1), len(words), wpm, pace,
                          {k: v for k, v in fillers.items() if v}, pauses, first_time, share)


def _time_at_char(transcript: Transcript, char: int | None) -> float | None:
    """The start time of the word that holds a character of the transcript text."""
    if char is None or not transcript.words:
        return None
    cursor = 0
    for word in transcript.words:
        found = transcript.text.find(word.text, cursor)
        if found < 0:
            continue
        if found + len(word.text) > char:
            return word.start
        cursor = found + len(word.text)
    return transcript.words[-1].start
