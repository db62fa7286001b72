"""Attempt text as the grader sees it: sentences of stemmed tokens with negation marked.

Russian and English are stemmed with Snowball, token by token, so a Russian sentence with
English terms needs no language switch. Offsets point into the original text for evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise

from razbor.stemming import snowball_stem

# A word, or a sign of notation that stands for one ("√(σ² + ε)": square root, squared).
TOKEN = re.compile(r"(?i:(?:batch|батч)[-\s]?(?:norm|норм)[^\W_]*)|[^\W_²³]+(?:'[^\W_]+)?|[√²∇]")
COMPOUND_BATCHNORM = re.compile(r"(?:batch|батч)[-\s]?(?:norm|норм)")
SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)[.!?…]+(?=\s|$)|\n")
CLAUSE_BREAK = re.compile(r"[,:;()\[\]—–]|\s-\s")
NEGATORS = {"not", "no", "never", "without", "nor", "cannot", "otherwise", "не", "нет", "ни",
            "без", "иначе"}
CONTRAST = {"but", "instead", "rather", "whereas", "while", "however", "а", "но", "зато",
            "однако", "вместо"}
STOPWORDS = {
    "the", "a", "an", "of", "to", "is", "are", "be", "it", "its", "this", "that", "these",
    "those", "so", "as", "then", "just", "also",
    "um", "uh", "er", "erm", "hmm", "like", "yeah", "okay", "ok", "basically", "actually",
    "в", "во", "на", "по", "с", "со", "к", "о", "об", "от", "до", "из", "за",
    "у", "же", "ли", "бы", "это", "этот", "эта", "эти", "то", "так", "там", "тут", "вот",
    "ну", "э", "ээ", "эээ", "короче", "типа", "просто", "ещё", "еще", "уже", "да", "как",
    "его", "её", "ее", "их", "он", "она", "оно", "они", "мы", "вы", "я",
}
CONJUNCTIONS = {"and", "or", "и", "или"}
# Words that open a sentence about the previous sentence's subject.
REFERRING = {"it", "they", "this", "он", "она", "оно", "они", "это", "этот", "эта", "эти"}
NEGATION_REACH = 6
# "X is not needed", "X не влезет": at the end of a clause these words carry a negation back
# over it; elsewhere ("не смотрит на текущий batch") the negation only reaches forward.
BACKWARD = ("need", "necessari", "requir", "enough", "suffici", "fit", "work", "нуж", "необходим",
            "обязательн", "требует", "достаточн", "влез", "помест", "работа", "подходит",
            "использ", "бер", "смотр", "учитыва")

# Russian spellings of English terms, so "батч" and "batch" are one word to the patterns.
LOANWORDS = {"батч": "batch", "минибатч": "minibatch", "инференс": "inferenc", "лосс": "loss",
             "скор": "score", "градиент": "gradient", "трейн": "train", "датасет": "dataset",
             "эпох": "epoch", "чекпоинт": "checkpoint", "дропаут": "dropout",
             "рандомн": "random", "позит": "posit", "позитив": "posit", "негат": "negat",
             "негатив": "negat", "скейл": "scale", "скейлинг": "scale", "лейбл": "label",
             "трешхолд": "threshold", "оверф": "overfit", "оверфитнул": "overfit",
             "оверфиттинг": "overfit", "фич": "featur", "эмбеддинг": "embed", "ток": "token",
             "сэмпл": "sampl", "семпл": "sampl", "бэкпроп": "backprop", "кроп": "crop",
             "кропа": "crop", "андерфло": "underflow", "оверфло": "overflow",
             "энкодер": "encod", "декодер": "decod", "претрейн": "pretrain",
             "файнтюн": "finetun", "файнтюнинг": "finetun", "рейт": "rate",
             "аттеншн": "attent", "аттенш": "attent", "трансформер": "transform",
             "пулинг": "pool", "кэш": "cach", "шардинг": "shard", "оптимайзер": "optim",
             "шедулер": "schedul", "клиппинг": "clip", "софтмакс": "softmax", "логит": "logit",
             "сигмоид": "sigmoid", "синкбатчнорм": "syncbatchnorm", "олл": "all",
             "редьюс": "reduc"}
# Notation and its spelled-out names, as one stem: "√(σ² + ε)" is "sqrt(var + eps)".
NOTATION = {"√": "sqrt", "²": "squar", "∇": "gradient", "ε": "ep", "epsilon": "ep",
            "эпсилон": "ep"}
CYRILLIC = re.compile(r"[а-я]")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of a lower-case word, Russian or English by its letters."""
    word = word.replace("ё", "е")
    if word in NOTATION:
        return NOTATION[word]
    if COMPOUND_BATCHNORM.match(word):
        return "batchnorm"
    if word.endswith("n't"):
        return "not"
    if CYRILLIC.search(word):
        stemmed = snowball_stem("russian", word)
        return LOANWORDS.get(stemmed, stemmed)
    if word.isascii() and word.isalpha():
        return snowball_stem("english", word)
    return word


@dataclass(frozen=True)
class Token:
    stem: str
    start: int
    end: int
    clause: int
    negated: bool
    item: int = 0


@dataclass(frozen=True)
class Sentence:
    """Content tokens of one sentence (stopwords and fillers dropped), in order."""

    tokens: tuple[Token, ...]
    start: int
    end: int
    # All the words of each comma-separated item that has a content token, stopwords included.
    item_words: tuple[int, ...] = ()
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    def has_stem(self, wanted: str) -> bool:
        """Whether any token matches the stem (stems_match): a cheap test before scanning for
        a phrase, made for every phrase of the lexicon, so it looks stems up rather than
        comparing them: the wanted stem among the tokens' stems and their specific
        prefixes, or a specific prefix of it among the tokens' stems."""
        found = self.cache.get(wanted)
        if found is None:
            stems, prefixes = self._stem_index()
            found = self.cache[wanted] = (
                wanted in stems or wanted in prefixes
                or any(prefix in stems for prefix in _specific_prefixes(wanted)))
        return found

    def _stem_index(self) -> tuple[frozenset[str], frozenset[str]]:
        index = self.cache.get("stem index")
        if index is None:
            stems = frozenset(token.stem for token in self.tokens)
            index = self.cache["stem index"] = (stems, frozenset(
                prefix for found in stems for prefix in _specific_prefixes(found)))
        return index

    def is_keyword_list(self) -> bool:
        """A comma list of bare terms ("mean, variance, gamma, beta") states no idea. Items
        are measured in all their words: short spoken clauses ("а те средние, которые он
        накопил, пока учился") have few content words but are no terms."""
        short = sum(size <= 2 for size in self.item_words)
        return len(self.item_words) >= 4 and short >= 0.75 * len(self.item_words)


def _clause_ids(text: str, start: int, end: int) -> list[int]:
    """For each character of the sentence, which clause (comma-, colon-, dash-separated) it is in."""
    ids, clause, cursor = [], 0, start
    for match in CLAUSE_BREAK.finditer(text, start, end):
        ids.extend([clause] * (match.start() - cursor))
        clause += 1
        ids.extend([clause] * (match.end() - match.start()))
        cursor = match.end()
    ids.extend([clause] * (end - cursor))
    return ids


def _sentence(text: str, start: int, end: int) -> Sentence:
    clauses = _clause_ids(text, start, end)
    tokens: list[Token] = []
    negation_left = 0
    negation_clause = -1
    clause_bump = 0
    negator_at = -1
    backward: list[int] = []
    for match in TOKEN.finditer(text, start, end):
        word = match.group().lower()
        clause = clauses[match.start() - start] + clause_bump
        stemmed = stem(word)
        if word in CONTRAST:
            clause_bump += 1
            negation_left = 0
            continue
        if word in NEGATORS or stemmed == "not":
            negation_left, negation_clause, negator_at = NEGATION_REACH, clause, len(tokens)
            continue
        if word in STOPWORDS:
            continue
        negated = negation_left > 0 and clause == negation_clause
        negation_left = negation_left - 1 if negated else 0
        if negated and negator_at == len(tokens) and stemmed.startswith(BACKWARD):
            backward.append(len(tokens))
        item = text.count(",", start, match.start())
        tokens.append(Token(stemmed, match.start(), match.end(), clause, negated, item))
    for index in backward:
        clause = tokens[index].clause
        if index + 1 == len(tokens) or tokens[index + 1].clause != clause:
            tokens = [_negate(t) if t.clause == clause else t for t in tokens]
    said = {token.item for token in tokens}
    words = [text.count(",", start, match.start()) for match in TOKEN.finditer(text, start, end)]
    return Sentence(tuple(tokens), start, end,
                    tuple(words.count(item) for item in sorted(said)))


def _negate(token: Token) -> Token:
    return Token(token.stem, token.start, token.end, token.clause, True, token.item)


def sentences(text: str) -> list[Sentence]:
    """The text cut into sentences at . ! ? ; and line breaks."""
    found, cursor = [], 0
    for match in SENTENCE_END.finditer(text):
        if match.start() > cursor:
            found.append(_sentence(text, cursor, match.start()))
        cursor = match.end()
    if cursor < len(text):
        found.append(_sentence(text, cursor, len(text)))
    return [sentence for sentence in found if sentence.tokens]


def continued(text: str, found: list[Sentence]) -> list[Sentence]:
    """Each sentence that opens with a pronoun ("Он делает all reduce…", "It is the area…")
    joined to the one before it, whose subject the pronoun stands for; the two stay separate
    clauses."""
    joined = []
    for first, second in pairwise(found):
        opening = TOKEN.search(text, second.start, second.end)
        if opening is None or opening.group().lower() not in REFERRING:
            continue
        clauses = 1 + max(token.clause for token in first.tokens)
        items = 1 + max(token.item for token in first.tokens)
        joined.append(Sentence(first.tokens + tuple(
            replace(token, clause=token.clause + clauses, item=token.item + items)
            for token in second.tokens), first.start, second.end,
            first.item_words + second.item_words))
    return joined


def phrase_stems(phrase: str) -> tuple[str, ...]:
    """A lexicon phrase reduced the same way as attempt text."""
    words = [match.group().lower() for match in TOKEN.finditer(phrase)]
    return tuple(stem(word) for word in words if word not in STOPWORDS)


@lru_cache(maxsize=65536)
def _specific_prefixes(stem: str) -> tuple[str, ...]:
    """The stems one or two letters shorter that stems_match still lets match this one."""
    return tuple(stem[:-cut] for cut in (1, 2) if len(stem) - cut >= _least_prefix(stem[:-cut]))


def _least_prefix(shorter: str) -> int:
    return 4 if CYRILLIC.match(shorter) else 5


@lru_cache(maxsize=262144)
def stems_match(pattern: str, found: str) -> bool:
    """Equal stems, or one a prefix of the other when both are long enough to be specific.

    Snowball leaves some inflections apart ("канала" -> "кана", "канал"); prefixes bridge them.
    English stems are more regular, so a Latin prefix must be longer to count.
    """
    if pattern == found:
        return True
    shorter, longer = sorted((pattern, found), key=len)
    return (len(shorter) >= _least_prefix(shorter) and longer.startswith(shorter)
            and len(longer) - len(shorter) <= 2)
