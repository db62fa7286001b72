"""Stance: which stretches of an attempt assert anything, and of what polarity.

Similarity measures topic, not stance, so the semantic grader reads an attempt as units
(sentences, their clauses, pairs of short adjacent sentences, windows of run-on speech) and
marks each: a question, a dismissed or set-aside claim, an announcement of a topic and a bare
list of terms assert nothing; a warning does not assert the mistake it warns against; a
negated unit does not assert a positive claim. The predicates here decide which units may
credit a key point or a mistake.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass, replace
from itertools import islice, pairwise

from razbor.grading.morphology import carries_sentence
from razbor.grading.text import (
    SENTENCE_END,
    TOKEN,
    phrase_stems,
    sentences,
    stem,
    stems_match,
)

QUESTION_START = re.compile(r"^\s*(?:может|разве|неужели|ли\b|is it|isn't it|maybe|perhaps|do we|"
                            r"does it|should we|can we|could it|или\b)", re.I)
DISMISSAL = re.compile(
    r"\b(?:not needed|unnecessary|(?:do|does)n'?t (?:really )?matter|don'?t think|не думаю|"
    r"не особо|doesn'?t matter|does not matter|irrelevant|no need|"
    r"instead of bothering|not important|overrated|не нуж\w*|не обязател\w*|не важ\w*|"
    r"не имеет значения|неважно|не требуется|не играет роли|не стоит|незачем|ни при ч[её]м|"
    r"можно не|можно обойтись без|can (?:be )?skip\w*|optional|"
    r"(?:нет|не имеет) смысла|смысла нет|ни к чему|бессмысленн\w*|no point|pointless|"
    r"не (?:особо |очень )?вер(?:ю|им)|(?:don'?t|do not) (?:really )?believe|преувелич\w*|"
    r"exaggerat\w*|"
    # A denial frame: what follows "it is not true that" is denied, however it is worded.
    r"(?:not|n't|never) (?:true|the case|correct|right|so) that|(?:false|untrue|a myth) that|"
    r"(?:неверно|неправда|не правда|не факт|не так|неправильно|ошибочно|миф),? что|"
    r"нельзя сказать,? что|не (?:верно|правильно|соответствует действительности),? что)",
    re.I)
# Doubt ("I don't know whether X", "не уверен, что X", "не помню, нужен ли X") frames what
# follows it in its sentence as something the speaker does not claim, up to a contrast or a
# strong break ("не уверен, но думаю, что X"; "…, не помню; кажется, X"): it asserts nothing,
# like a question.
DOUBT = re.compile(
    r"\b(?:(?:don'?t|do not|didn'?t|did not|can'?t|cannot) (?:really |quite |exactly )?"
    r"(?:know|remember|recall|tell)(?: exactly| for sure)?,? (?:whether|if|how|why|what|which|"
    r"when|where)|not (?:quite |really |entirely |totally )?sure|no idea|unsure|"
    r"(?:wonder|unclear|forg[eo]t) (?:whether|if)|"
    r"не (?:очень |совсем |до конца |вполне )?уверен\w*|понятия не имею|без понятия|"
    r"затрудняюсь|"
    r"не (?:знаю|помню|понимаю|припомню)(?: точно)?,? (?:[^\W\d_]+ )?(?:ли|как|почему|зачем|"
    r"что|чем|как\w+|где|когда|сколько|в как\w+))\b", re.I)
DOUBT_LIFTED = re.compile(r";|\s[—–]\s|\b(?:but|however|although|though|yet|но|однако|хотя|"
                          r"зато)\b", re.I)
# What a stretch before a doubt frame ends with and does not claim ("X, но" before "не уверен"):
# separators, and a contrast word between them.
TAIL_SEPARATORS = ",;:—–-"
CONTRAST_AT_END = re.compile(r"\b(?:but|though|although|yet|но|хотя|однако)\Z", re.I)
# Announcing a topic ("I'd talk about ViTs versus CNNs", "ключевые слова: …") names it and
# states nothing about it, like a bare list of terms.
ANNOUNCEMENT = re.compile(
    r"\b(?:i'?d|i would|i'll|i will|let me|we could|one could) (?:also )?(?:talk|speak|"
    r"discuss|go on) about\b|\b(?:я бы|можно|стоит) (?:ещё |еще |также )?(?:рассказа|"
    r"поговори|обсуди|затрону|упомяну)\w* (?:про|о|об)\b|\bключевые слова\b|\bkey ?words\b",
    re.I)
# A statement that something is not needed ("needs no running statistics", "need not be the
# predictive ones"): an attempt states it by dismissing that thing.
NEEDLESS = re.compile(r"\b(?:needs? no|need not|needn'?t|no need|not needed|unnecessary|"
                      r"(?:does|do)(?:n'?t| not) (?:need|require|matter))\b", re.I)
NEEDED = re.compile(r"\b(?:needs?|needed|requires?|required|нужн\w*|необходим\w*|"
                    r"требу\w*)\b", re.I)
CONTRASTED = re.compile(r"\b(?:but|however|although|though|whereas|yet|но|однако|хотя|зато|"
                        r"а)\b", re.I)
SET_ASIDE = re.compile(r"\b(?:instead of|rather than|not|вместо|а не|но не)\b", re.I)
NEGATOR = re.compile(r"\b(?:not|no|never|cannot|не|нет|ни)\b|n't\b", re.I)
# Whether a stretch or a statement is negative as a whole ("loses nothing", "без параметров"):
# a mistake's statement and the stretch that asserts it agree in this.
NEGATIVE = re.compile(r"\b(?:not|no|never|cannot|without|nothing|none|neither|nor|не|нет|ни|без|"
                      r"ничего|никогда)\b|n't\b", re.I)
# "Only voxel Dice", "just call model.half()": saying that nothing else is done, a negation
# without a negator, as far as matching a negated statement goes.
EXCLUSIVE = re.compile(r"\b(?:only|just|alone|enough|sufficient|только|лишь|достаточно|"
                       r"хватит|хватает)\b", re.I)
# A sign of a formula or a calculation: what it joins is a relation, not a list of terms.
FORMULA = re.compile(r"[=≈~<>×·*^]")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
NEGATED_WORDS = 2
# A claim split over two sentences is a short one; two long sentences each stand alone.
PAIR_WORDS = 30
# A sentence longer than this without punctuation is cut into overlapping windows.
RUN_ON_WORDS = 30
WINDOW_WORDS = 12
WINDOW_STEP = 6
# A run of this many words with none that carries a sentence is a list of terms spoken
# without commas.
TERM_RUN_WORDS = 8
RUN_WORD = re.compile(r"[^\W\d_]+(?:[-'.][^\W\d_]+)*")
# A short heading before a colon ("LoRA:", "Ключевое:"), which a list of terms may follow.
HEADING = re.compile(r"^\s*(?:[^\W\d_][\w-]*\s?){1,3}:\s")
UNPUNCTUATED_BREAK = re.compile(r"[,;:()—–]")
CLAUSE_BREAK = re.compile(r"[;:,]|\s[—–]\s|\s(?:and|but|whereas|while|и|а|но)\s", re.I)
# A warning word judges its whole sentence ("X is a myth", "ошибка — думать, что X")...
WARNING = re.compile(
    r"\b(?:wrong|incorrect|mistake|error|myth|misconception|"
    r"неправильн\w*|неверн\w*|ошибк\w*|ошибочн\w*|заблуждени\w*|"
    r"миф|trap|pitfall|ловушк\w*|leak\w*|утечк\w*|(?:that|it)(?:'s| is) not (?:true|so|the case)|"
    r"это не так)\b", re.I)
# ...and a warning verb or frame only what follows it ("avoid X", "people think X", "нельзя X"):
# a clause before it ("LoRA always adds latency, because the branch cannot be removed") is
# said in the speaker's own voice.
WARNING_AHEAD = re.compile(
    r"\b(?:avoid|нельзя|не забы\w*|remember to|"
    r"(?:people|many|some|candidates) (?:often |usually |sometimes )?(?:say|think|assume|believe|"
    r"treat|claim|confuse|mix up)|"
    r"(?:часто|многие|некоторые) (?:думают|считают|путают|говорят)|"
    r"(?:don'?t|do not|не надо|не нужно|не стоит|не следует) (?:думать|считать|think|assume|"
    r"believe))\b", re.I)
# "Mean squared error", "ошибка первого рода": an error that is a quantity, not a verdict.
ERROR_QUANTITY = re.compile(
    r"\b(?:(?:mean )?squared|absolute|standard|type (?:i|ii|1|2)|reconstruction|relative|"
    r"среднеквадратичн\w*|квадратичн\w*|"
    r"абсолютн\w*|стандартн\w*|относительн\w*) (?:error|ошибк\w*)|"
    r"\bошибк\w* (?:первого|второго|I|II|1|2)(?:-го)? рода", re.I)
# Advice against doing something ("don't divide by the variance", "не нужно"): a warning
# against a positive wrong claim, but the very words of a negative one ("no rescaling is
# needed": "you don't need to rescale anything").
ADVICE = re.compile(r"\b(?:don'?t|do not|never|не надо|не нужно|не стоит|не следует)\b", re.I)


@dataclass(frozen=True)
class Unit:
    """A stretch of the attempt that may state one claim: a sentence, a clause, or two
    adjacent sentences (a claim split across them)."""

    text: str
    start: int
    end: int
    asserts: bool
    dismisses: bool
    warns: bool
    negated: bool = False
    advises: bool = False
    exclusive: bool = False
    needs: bool = False  # says, in its sentence, that something is needed
    # A clause of a negative sentence without a contrast ("можно считать AUC по меткам,
    # ничего не теряем"): the negation is part of the claim the clause belongs to.
    negative_sentence: bool = False
    negated_stems: frozenset[str] = frozenset()


def units(text: str) -> list[Unit]:
    """Sentences, their clauses (or windows over a long run of speech without punctuation),
    and pairs of adjacent sentences, each marked for stance.

    A pair asserts only where both its sentences do: a question, a list of terms or a single
    word ("Dropout.", a topic named like a heading) next to a claim does not become one. A
    clause inherits its sentence's stance: part of a question or of a dismissal asserts
    nothing either, except that what follows a colon explains the dismissal ("не стоит
    считать AUC по меткам: кривая выродится в точку") and asserts its own content.
    """
    negated = negated_words(text)
    negated_at = [at for at, _ in negated]
    found = [(sentence.start, sentence.end) for sentence in sentences(text)]
    marked: dict[tuple[int, int], Unit] = {}
    for start, end in found:
        marked.update(_sentence_units(text, start, end, alone=len(found) == 1))
    for first, second in pairwise(found):
        if len(text[first[0]:second[1]].split()) <= PAIR_WORDS:
            pair = _unit(text, first[0], second[1])
            marked.setdefault((first[0], second[1]), replace(
                pair, asserts=pair.asserts and marked[first].asserts and marked[second].asserts))
    return [replace(unit, negated_stems=frozenset(
                stem for _, stem in negated[bisect_left(negated_at, unit.start):
                                            bisect_left(negated_at, unit.end)]))
            for unit in (marked[key] for key in sorted(marked))]


def _sentence_units(text: str, start: int, end: int, alone: bool
                    ) -> dict[tuple[int, int], Unit]:
    """A sentence and its clauses or windows, marked. What the clauses inherit from the
    sentence is found once, so a long run of speech costs time in proportion to its length."""
    doubts = list(DOUBT.finditer(text, start, end))
    doubted = _Doubts.of(text, doubts, end)
    sentence = _unit(text, start, end, alone=alone)
    warned_from = _warning_reach(text, start, end)
    advice = ADVICE.search(text, start, end)
    negative_sentence = sentence.negated and not CONTRASTED.search(sentence.text)
    marked = {(start, end): replace(sentence, asserts=sentence.asserts and not doubts)}
    clauses = _clauses(text, start, end) + _outside_doubt(text, doubts, start, end)
    for clause_start, clause_end in clauses + _windows(text, start, end):
        clause = _unit(text, clause_start, clause_end)
        marked[(clause_start, clause_end)] = replace(
            clause, asserts=(clause.asserts and sentence.asserts
                             and not doubted.over(clause_start, clause_end)),
            dismisses=clause.dismisses or (sentence.dismisses and text[clause_start - 1] != ":"),
            warns=clause.warns or (warned_from is not None and warned_from <= clause_end),
            advises=clause.advises or (advice is not None and advice.end() <= clause_end),
            needs=clause.needs or sentence.needs,
            negative_sentence=negative_sentence)
    return marked


def _outside_doubt(text: str, doubts: list[re.Match], start: int,
                   end: int) -> list[tuple[int, int]]:
    """The stretches of a sentence before its first doubt frame and after the contrast that
    lifts the last one ("не уверен в деталях, но <claim>"): a claim around a doubt, whole
    however many commas it has."""
    if not doubts:
        return []
    stretches = [(start, doubts[0].start())]
    lifted = DOUBT_LIFTED.search(text, doubts[-1].end(), end)
    if lifted:
        stretches.append((lifted.end(), end))
    trimmed = [(first + len(text[first:last]) - len(text[first:last].lstrip()),
                first + len(_without_tail(text[first:last]))) for first, last in stretches]
    return [(first, last) for first, last in trimmed if len(text[first:last].split()) >= 3]


def _without_tail(stretch: str) -> str:
    """The stretch without the separators and the contrast word it ends with. Stripped, not
    matched: a pattern anchored at the end is tried from every separator of a long run, in
    time that grows with the cube of the run, holding the interpreter all along."""
    kept = _strip_separators(stretch)
    contrast = CONTRAST_AT_END.search(kept)
    return _strip_separators(kept[:contrast.start()]) if contrast else kept


def _strip_separators(stretch: str) -> str:
    stripped = stretch.rstrip().rstrip(TAIL_SEPARATORS)
    while stripped != stretch:
        stretch, stripped = stripped, stripped.rstrip().rstrip(TAIL_SEPARATORS)
    return stripped


@dataclass(frozen=True)
class _Doubts:
    """A sentence's doubt frames, each with how far it reaches: up to the first contrast or
    strong break after it that lifts it (to the sentence's end if none does)."""

    starts: list[int]
    # The farthest reach of the frames up to each one, in order.
    reaches: list[float]

    @classmethod
    def of(cls, text: str, doubts: list[re.Match], end: int) -> _Doubts:
        lifts = list(DOUBT_LIFTED.finditer(text, doubts[0].end(), end)) if doubts else []
        lift_starts = [lift.start() for lift in lifts]
        reaches, farthest = [], -math.inf
        for doubt in doubts:
            after = bisect_left(lift_starts, doubt.end())
            farthest = max(farthest, lifts[after].end() if after < len(lifts) else math.inf)
            reaches.append(farthest)
        return cls([doubt.start() for doubt in doubts], reaches)

    def over(self, start: int, end: int) -> bool:
        """Whether the stretch lies under a frame: one inside it, or one before it that
        reaches past its start."""
        before = bisect_left(self.starts, start)
        inside = before < len(self.starts) and self.starts[before] < end
        return inside or (before > 0 and self.reaches[before - 1] > start)


def negated_words(text: str) -> list[tuple[int, str]]:
    """(offset, stem) of the words a negator directly governs: the two after it ("do not
    use running …", "не берём среднее") in its own sentence or line."""
    found = []
    ends = [end.start() for end in SENTENCE_END.finditer(text)] + [len(text)]
    for negator in NEGATOR.finditer(text):
        end = ends[bisect_left(ends, negator.end())]
        following = WORD.finditer(text, negator.end(), end)
        for word in islice(following, NEGATED_WORDS):
            found.append((word.start(), stem(word.group().lower())))
    return found


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Overlapping windows of WINDOW_WORDS words over a sentence of more than RUN_ON_WORDS
    words without a punctuation mark: transcribed speech comes as one run of several claims,
    each diluted in it. Punctuated text has its clauses instead."""
    if UNPUNCTUATED_BREAK.search(text, start, end):
        return []
    words = [(start + match.start(), start + match.end())
             for match in re.finditer(r"\S+", text[start:end])]
    if len(words) <= RUN_ON_WORDS:
        return []
    return [(words[first][0], words[min(first + WINDOW_WORDS, len(words)) - 1][1])
            for first in range(0, len(words) - WINDOW_WORDS // 2, WINDOW_STEP)]


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces, cursor = [], start
    for match in CLAUSE_BREAK.finditer(text[start:end]):
        pieces.append((cursor, start + match.start()))
        cursor = start + match.end()
    if not pieces:
        return []
    pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if len(text[a:b].split()) >= 3]


def _unit(text: str, start: int, end: int, alone: bool = False) -> Unit:
    """A stretch marked for stance. A single word states nothing beside other sentences
    ("Dropout." before the claim, like a heading), but `alone`, as the whole attempt ("push",
    "Итерация."), it is the answer to a question asking for a term."""
    body = text[start:end]
    question = text[end:end + 1] == "?" or body.rstrip().endswith("?") or bool(
        QUESTION_START.match(body))
    listing = (_is_term_list(body) or _is_term_run(body) or bool(ANNOUNCEMENT.search(body))
               or (len(body.split()) <= 1 and not alone))
    needs = bool(NEEDED.search(body)) and not NEGATIVE.search(body)
    return Unit(body, start, end, asserts=not (question or listing),
                dismisses=bool(DISMISSAL.search(body)), warns=_warned(text, start, end),
                negated=bool(NEGATIVE.search(body)), exclusive=bool(EXCLUSIVE.search(body)),
                advises=bool(ADVICE.search(body)), needs=needs)


def _warned(text: str, start: int, end: int) -> bool:
    """Whether a warning judges text[start:end]: a warning word or a warning verb in it."""
    return _warning_reach(text, start, end) is not None


def _warning_reach(text: str, start: int, end: int) -> int | None:
    """Where the stretches of text[start:end] that a warning judges may end: anywhere (its
    start) for a warning word in it, from the end of its first warning verb for a verb that
    warns about what follows, None if there is no warning."""
    body = ERROR_QUANTITY.sub(lambda found: " " * len(found.group()), text[start:end])
    if WARNING.search(body):
        return start
    ahead = WARNING_AHEAD.search(body)
    return start + ahead.end() if ahead else None


def _is_term_list(body: str) -> bool:
    """Bare terms separated by commas or slashes ("gamma, beta, running stats"), under a
    heading or not ("LoRA: rank, alpha, merge"), state nothing.
    A formula or a calculation ("lift = P(A, B) / (P(A)·P(B))", "0,009 / 0,0585 ≈ 0,15")
    states a relation, and a decimal comma separates no terms."""
    if FORMULA.search(body):
        return False
    body = HEADING.sub("", body, count=1)
    items = [item.strip() for item in re.split(r"(?<!\d),|,(?!\d)|/|\s\+\s", body)
             if item.strip()]
    return len(items) >= 3 and sum(len(item.split()) <= 2 for item in items) >= 0.75 * len(items)


def _is_term_run(body: str) -> bool:
    """Terms strung together without any punctuation and without a word that makes a sentence
    ("batchnorm running mean running variance inference gamma beta SyncBN"): a list of terms
    spoken, or keywords stuffed in. A number or a formula makes it a calculation, and a dash
    a Russian sentence without a verb ("мощность — единица минус вероятность ошибки")."""
    if FORMULA.search(body) or re.search(r"\d|\s[—–-]\s|[,;:()]", body):
        return False
    words = RUN_WORD.findall(body.lower())
    return len(words) >= TERM_RUN_WORDS and not any(map(carries_sentence, words))


def claims(unit: Unit) -> bool:
    return unit.asserts and not unit.dismisses


def asserted_at(text: str, spans: tuple[tuple[int, int], ...], mistake: bool = False) -> bool:
    """Whether the attempt asserts what lies at these spans, for any backend's verdict: not in
    a question or a bare list of terms, nor (for a key point) in a dismissal or (for a mistake)
    in a warning. A verdict with no span in the text cannot be checked and stands."""
    usable = claims_unwarned if mistake else claims
    holding = [unit for unit in units(text)
               if any(unit.start <= start and end <= unit.end for start, end in spans)]
    if not holding:
        return True
    return usable(min(holding, key=lambda unit: unit.end - unit.start))


@dataclass(frozen=True)
class Statement:
    """A statement's words as stems: those it asserts, which a unit stating it must not
    negate, and those it negates itself ("a node that has no children"), which such a unit
    must not affirm."""

    asserted: frozenset[str]
    refused: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str) -> Statement:
        """What a statement asserts, before any "instead of …" it sets aside. A word it both
        says and negates ("report AP …, and never compare AP …") is asserted."""
        kept = SET_ASIDE.split(text, maxsplit=1)[0]
        negated = negated_words(kept)
        at = {offset for offset, _ in negated}
        said = {stem(word.group().lower()) for word in TOKEN.finditer(kept)
                if word.start() not in at}
        refused = frozenset(found for _, found in negated) - said
        return cls(frozenset(phrase_stems(kept)) - refused, refused)


def states(unit: Unit, statement: Statement, needless: bool = False) -> bool:
    """Whether the unit can state the statement: it asserts, does not negate the statement's
    own words, and does not affirm a word the statement negates. A needless statement
    (NEEDLESS) is stated by a unit that dismisses its object ("бегущие статистики ей не
    нужны"), its negation agreeing, and not by one that says the thing is needed ("на
    inference нужны running statistics")."""
    if needless:
        return unit.asserts and not unit.needs
    return (claims(unit) and not _denies(unit, statement.asserted)
            and not _affirms(unit, statement.refused))


def _denies(unit: Unit, stems: frozenset[str]) -> bool:
    """Whether the unit negates a word of the statement ("we do not use running statistics")."""
    return any(stems_match(said, wanted) for said in unit.negated_stems for wanted in stems)


def _affirms(unit: Unit, refused: frozenset[str]) -> bool:
    """Whether the unit says, without negating it, a word the statement negates ("a node
    with children" against "a node that has no children")."""
    if not refused:
        return False
    affirmed = set(phrase_stems(unit.text)) - unit.negated_stems
    return any(stems_match(said, wanted) for said in affirmed for wanted in refused)


def asserts_mistake(unit: Unit, negated: bool, hinted: bool) -> bool:
    """Whether the unit can assert a mistake whose statement is (or is not) negative. A negated
    unit does not assert a positive wrong claim ("a globally optimal tree is not found this
    way"). Found by meaning alone, a negative statement ("no instance-level metric") needs a
    negative or exclusive unit ("only voxel Dice") too."""
    if not unit.asserts or unit.warns or (not negated and (unit.advises or unit.negated)):
        return False
    return hinted or not negated or unit.negated or unit.exclusive or unit.negative_sentence


def claims_unwarned(unit: Unit) -> bool:
    """A mistake may itself be a dismissal ("PR-AUC is not needed"), so only questions, lists
    and warnings rule a unit out."""
    return unit.asserts and not (unit.warns or unit.advises)
