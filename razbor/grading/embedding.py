"""A sentence-embedding backend: paraphrases the rules miss, checked by the rules' polarity.

Optional (`pip install 'razbor[embeddings]'`): loads any sentence-transformers model from a
local path or name. A key point counts as covered when the rules find it, or when some
sentence of the attempt is close enough to the point's statement; mistakes stay with the
rules, whose negation and warning handling similarity alone cannot provide.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import numpy as np

from razbor.cards import Card
from razbor.grading.feedback import Feedback, suggest_rating
from razbor.grading.rules import RuleGrader
from razbor.grading.stance import asserted_at
from razbor.grading.text import sentences

THRESHOLD = 0.7
MARGIN = 0.1


class Encoder(Protocol):
    def encode(self, texts: list[str], normalize_embeddings: bool = True) -> np.ndarray: ...


class EmbeddingGrader:
    name = "embedding"

    def __init__(self, encoder: Encoder, rules: RuleGrader, threshold: float = THRESHOLD,
                 margin: float = MARGIN):
        self.encoder = encoder
        self.rules = rules
        self.threshold = threshold
        self.margin = margin

    @classmethod
    def from_path(cls, model: str, rules: RuleGrader) -> EmbeddingGrader:
        if not model:
            raise ValueError("set RAZBOR_EMBEDDING_MODEL to a sentence-transformers model path")
        from sentence_transformers import SentenceTransformer

        return cls(SentenceTransformer(model, local_files_only=True), rules)

    def grade(self, card: Card, text: str) -> Feedback:
        base = self.rules.grade(card, text)
        parts = [text[s.start:s.end] for s in sentences(text)]
        if not parts:
            return replace(base, backend=self.name)
        statements = [point.text for point in card.gradable_rubric.key_points]
        vectors = self.encoder.encode(parts + statements, normalize_embeddings=True)
        similarity = np.asarray(vectors[len(parts):] @ vectors[:len(parts)].T)
        ordered = np.sort(similarity, axis=0)
        runner_up = ordered[-2] if len(statements) > 1 else np.zeros(len(parts))
        found = sentences(text)
        points = []
        for index, result in enumerate(base.key_points):
            row = similarity[index]
            clear = (row >= self.threshold) & (row == ordered[-1]) & (row - runner_up >= self.margin)
            best = int(np.argmax(np.where(clear, row, -1)))
            evidence = ((found[best].start, found[best].end),)
            if not result.covered and clear.any() and asserted_at(text, evidence):
                result = replace(result, covered=True, confidence=round(float(row[best]), 2),
                                 evidence=evidence)
            points.append(result)
        points = tuple(points)
        return replace(base, backend=self.name, key_points=points,
                       suggested_rating=suggest_rating(points, base.mistakes))
