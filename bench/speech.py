"""Speech figures: `python bench/speech.py [--repeat N] [--no-latency]` (needs
razbor[speech,speech-base], festival with its Russian and English voices, and sox).

- Cost of transcription, plain (language given, no vocabulary, no English re-decoding: what
  razbor did before card vocabularies) against card-aware (language detected among ru/en, the
  card's prompt, English terms re-decoded, spellings mended), on a synthesised English minute
  and on a Russian minute with English terms. Each run is a fresh process that first loads the
  deck (as the server has before any recording arrives), then the model; it reports CPU
  seconds per second of audio (user + system, from getrusage: what the work costs, little
  moved by the machine's other load), the wall-clock real-time factor and the process's peak
  resident memory. Medians of --repeat runs, the two paths alternated.
- The card-aware path step by step, in CPU seconds and peak RSS after each step.
- The server's rating latency while a transcription runs, as a ratio to the same server idle.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import LiveServer  # the same live server the tests use
from speech_clips import CLIPS

SENTENCES = [
    "Batch normalization computes the mean and variance of each channel over the batch.",
    "At inference it uses running statistics collected during training.",
    "With several GPUs, synchronized batch norm all reduces sums, sums of squares and counts.",
    "Mixed precision keeps master weights in float thirty two and scales the loss.",
]
VOICES = {"ru": "voice_msu_ru_nsh_clunits", "en": "voice_cmu_us_slt_arctic_hts"}
CARD = "batchnorm"


def _say(text: str, voice: str, target: Path) -> None:
    subprocess.run(["text2wave", "-eval", f"({VOICES[voice]})", "-F", "16000", "-o",
                    str(target)], input=text.encode(), check=True, capture_output=True)


def synthesise_minute(folder: Path) -> Path:
    """About a minute of English speech from festival, joined with sox."""
    parts = []
    for number in range(4):
        part = folder / f"part{number}.wav"
        _say(" ".join(SENTENCES[number:] + SENTENCES[:number]), "en", part)
        parts.append(str(part))
    joined = folder / "minute.wav"
    subprocess.run(["sox", *parts, str(joined)], check=True)
    return joined


def synthesise_russian_minute(folder: Path) -> Path:
    """About a minute of Russian with English terms: the benchmark's Russian and mixed answers
    to the batchnorm card (bench/speech_clips.py), one after another."""
    parts = []
    for language in ("ru", "mixed"):
        for answer in CLIPS[CARD][language]:
            for voice, text in answer:
                part = folder / f"ru{len(parts)}.wav"
                _say(text, voice, part)
                parts.append(str(part))
    joined = folder / "russian-minute.wav"
    subprocess.run(["sox", *parts, str(joined)], check=True)
    return joined


def _usage() -> tuple[float, float]:
    """(CPU seconds so far, peak resident MiB so far) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(clip: Path, path: str, language: str) -> dict:
    """One transcription in this (fresh) process: the server's state first, then the model,
    then the transcription: plain, card-aware, or (steps) card-aware taken apart to time each
    step (the same calls transcribe() makes, in its order)."""
    from faster_whisper import decode_audio

    from razbor.decks import load_deck
    from razbor.speech.normalise import mend_terms
    from razbor.speech.transcript import Transcript
    from razbor.speech.vocabulary import card_vocabulary
    from razbor.speech.whisper import (
        SPEECH_SLACK,
        TERMS_LANGUAGE,
        WhisperTranscriber,
        _spoken,
        detect_language,
        speech_stretches,
    )
    from razbor.transcription import language_plan

    deck = load_deck()
    card = deck.get(CARD)
    transcriber = WhisperTranscriber()
    model = transcriber._load()
    steps = [("before", *_usage())]
    started = time.perf_counter()

    def step(name: str) -> None:
        steps.append((name, *_usage()))

    if path == "plain":
        transcriber.recover_terms = False
        transcript = transcriber.transcribe(clip, language)
        step("transcribe")
    elif path == "card-aware":
        vocabulary = card_vocabulary(card, deck.cards)
        _, priors = language_plan("auto", card)
        transcript = mend_terms(transcriber.transcribe(clip, None, hints=vocabulary,
                                                       priors=priors), vocabulary)
        step("transcribe")
    else:
        vocabulary = card_vocabulary(card, deck.cards)
        step("card vocabulary")
        audio = decode_audio(str(clip))
        step("read audio")
        speech = speech_stretches(audio)
        until = speech[-1][1] + SPEECH_SLACK
        step("voice activity")
        _, priors = language_plan("auto", card)
        detected = detect_language(model, audio, priors, until)
        step("language among ru/en")
        words, info = transcriber._decode(audio, detected, vocabulary.prompt(detected),
                                          until=until)
        step("decode with the card's prompt")
        words = [word for word in words if _spoken(word, speech)]
        if info.language != TERMS_LANGUAGE:
            words = transcriber._recover_terms(audio, words, speech, vocabulary)
            step("English terms re-decoded")
        model.feature_extractor.forget()
        model.encode.forget()
        transcript = mend_terms(Transcript(" ".join(w.text for w in words), info.language,
                                           round(float(info.duration), 2), tuple(words)),
                                vocabulary)
        step("spellings mended")
    seconds = time.perf_counter() - started
    return {"duration": transcript.duration, "seconds": seconds, "text": transcript.text,
            "language": transcript.language,
            "steps": [(name, cpu - steps[i][1], peak)
                      for i, (name, cpu, peak) in enumerate(steps[1:])],
            "cpu": steps[-1][1] - steps[0][1], "peak": steps[-1][2]}


def run_child(clip: Path, path: str, language: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(clip), path, language],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def transcription_figures(clips: dict[str, tuple[Path, str]], repeat: int) -> None:
    print(f"transcription, Whisper base int8, beam 5, 1 thread; medians of {repeat} fresh "
          f"processes each; load average before: {_load()}")
    print(f"{'clip':16} {'path':10} {'CPU s/s':>8} {'RTF':>6} {'peak MiB':>9} {'CPU ratio':>9}")
    for name, (clip, language) in clips.items():
        runs: dict[str, list[dict]] = {"plain": [], "card-aware": []}
        for _ in range(repeat):  # alternated, so both meet the same load
            for path, results in runs.items():
                results.append(run_child(clip, path, language))
        plain_cpu = None
        for path, results in runs.items():
            duration = results[0]["duration"]
            cpu = statistics.median(r["cpu"] for r in results) / duration
            rtf = statistics.median(r["seconds"] for r in results) / duration
            peak = statistics.median(r["peak"] for r in results)
            plain_cpu = plain_cpu or cpu
            print(f"{name:16} {path:10} {cpu:8.3f} {rtf:6.3f} {peak:9.0f} "
                  f"{cpu / plain_cpu:9.2f}")
        steps = run_child(clip, "steps", language)
        print(f"  card-aware step by step ({name}, {steps['duration']:.0f} s): " + "; ".join(
            f"{step} {cpu:.2f} s CPU, peak {peak:.0f} MiB" for step, cpu, peak in steps["steps"]))
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rating_latencies(client: httpx.Client, count: int) -> list[float]:
    samples = []
    for number in range(count):
        card = ("batchnorm", "roc-auc", "mixed-precision", "dental-lesions-3d")[number % 4]
        attempt = client.post(f"/api/cards/{card}/attempts",
                              json={"text": "mean and variance over the batch", "seconds": 3})
        start = time.perf_counter()
        client.post(f"/api/attempts/{attempt.json()['id']}/rating", json={"rating": 3})
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def latency_under_transcription(clip: Path, folder: Path) -> None:
    server = LiveServer(f"sqlite:///{folder / 'bench.sqlite3'}").start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            rating_latencies(client, 20)
            idle = rating_latencies(client, 60)
            with clip.open("rb") as audio:
                uploaded = client.post("/api/cards/batchnorm/recordings",
                                       files={"audio": ("minute.wav", audio, "audio/wav")}).json()
            busy = []
            while client.get(f"/api/recordings/{uploaded['id']}").json()["status"] != "done":
                busy.extend(rating_latencies(client, 5))
    finally:
        server.stop()
    idle_p50, busy_p50 = statistics.median(idle), statistics.median(busy)
    print(f"rating latency p50: idle {idle_p50:.2f} ms, during transcription {busy_p50:.2f} ms "
          f"({len(busy)} ratings), ratio {busy_p50 / idle_p50:.2f} (target <= 2)")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3], sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-latency", action="store_true",
                        help="skip the rating latency under transcription")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        english = synthesise_minute(folder)
        clips = {"English minute": (english, "en"),
                 "Russian minute": (synthesise_russian_minute(folder), "ru")}
        transcription_figures(clips, arguments.repeat)
        if not arguments.no_latency:
            latency_under_transcription(english, folder)


if __name__ == "__main__":
    main()
