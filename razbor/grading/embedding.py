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
from razbor.grading.text import sentences

THRESHOLD = 0.72


class Encoder(Protocol):
    def encode(self, texts: list[str], normalize_embeddings: bool = True) -> np.ndarray: ...


class EmbeddingGrader:
    name = "embedding"

    def __init__(self, encoder: Encoder, rules: RuleGrader, threshold: float = THRESHOLD):
        self.encoder = encoder
        self.rules = rules
        self.threshold = threshold

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
        statements = [point.text for point in card.rubric.key_points]
        vectors = self.encoder.encode(parts + statements, normalize_embeddings=True)
        similarity = vectors[len(parts):] @ vectors[:len(parts)].T
        points = []
        for result, row in zip(base.key_points, similarity, strict=True):
            best = int(np.argmax(row))
            if not result.covered and row[best] >= self.threshold:
                found = sentences(text)[best]
                result = replace(result, covered=True, confidence=round(float(row[best]), 2),
                                 evidence=((found.start, found.end),))
            points.append(result)
        points = tuple(points)
        return replace(base, backend=self.name, key_points=points,
                       suggested_rating=suggest_rating(points, base.mistakes))
