"""An LLM judge over an OpenAI-compatible chat API (OpenAI, vLLM, Ollama, llama.cpp server).

Optional and never required: it runs only when the settings name a base URL and a model. Its
verdicts pass the same stance checks as the built-in grader: a point it quotes from a question,
a dismissal or a bare list of terms, or a mistake it quotes from a warning, does not count.
"""

from __future__ import annotations

import json
import re

import httpx

from razbor.cards import Card
from razbor.grading.feedback import Feedback, MistakeResult, PointResult, suggest_rating
from razbor.grading.stance import asserted_at

INSTRUCTIONS = """You grade an answer given in a machine-learning job interview.
The answer may be in English, Russian, or Russian with English terms; it may be transcribed
speech with fillers. A key point is covered only when the answer states the idea, not when it
merely names a keyword. A mistake is made only when the answer asserts it; naming it as a
warning ("don't average the variances") does not make it.
Reply with one JSON object and nothing else:
{"covered": [key point ids], "mistakes": [mistake ids], "evidence": {id: "exact quote"}}"""


class LLMJudge:
    name = "llm"
    # A reply takes seconds, up to the timeout: the web app grades its attempts in a job.
    slow = True

    def __init__(self, base_url: str, model: str, key: str = "", timeout: float = 60.0):
        if not base_url or not model:
            raise ValueError("the LLM judge needs RAZBOR_LLM_URL and RAZBOR_LLM_MODEL")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = timeout

    def _prompt(self, card: Card, text: str) -> str:
        points = "\n".join(f"- {p.id}: {p.text}" for p in card.gradable_rubric.key_points)
        mistakes = "\n".join(f"- {m.id}: {m.text}" for m in card.gradable_rubric.mistakes)
        return (f"Question: {card.title}\n\nKey points:\n{points}\n\nTypical mistakes:\n"
                f"{mistakes}\n\nAnswer:\n<<<\n{text}\n>>>")

    def grade(self, card: Card, text: str) -> Feedback:
        response = httpx.post(self.url, headers=self.headers, timeout=self.timeout, json={
            "model": self.model, "temperature": 0,
            "messages": [{"role": "system", "content": INSTRUCTIONS},
                         {"role": "user", "content": self._prompt(card, text)}],
        })
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        verdict = _json_object(content)
        covered, asserted = set(verdict.get("covered", [])), set(verdict.get("mistakes", []))
        evidence = verdict.get("evidence", {}) or {}
        spans = {item_id: _spans(text, evidence.get(item_id)) for item_id in covered | asserted}
        covered = {i for i in covered if asserted_at(text, spans[i])}
        asserted = {i for i in asserted if asserted_at(text, spans[i], mistake=True)}
        points = tuple(PointResult(p.id, p.id in covered, 0.8 if p.id in covered else 0.2,
                                   spans.get(p.id, ()) if p.id in covered else ())
                       for p in card.gradable_rubric.key_points)
        mistakes = tuple(MistakeResult(m.id, m.id in asserted, 0.8 if m.id in asserted else 0.2,
                                       spans.get(m.id, ()) if m.id in asserted else ())
                         for m in card.gradable_rubric.mistakes)
        return Feedback(card.id, self.name, points, mistakes,
                        suggested_rating=suggest_rating(points, mistakes))


def _json_object(content: str) -> dict:
    """The first JSON object in a reply, also when the model wraps it in a code fence."""
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if match is None:
        raise ValueError("the LLM reply holds no JSON object")
    return json.loads(match.group())


def _spans(text: str, quote: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(quote, str) or not quote.strip():
        return ()
    start = text.find(quote.strip())
    return ((start, start + len(quote.strip())),) if start >= 0 else ()
