"""Speech figures: `python bench/speech.py` (needs razbor[speech,speech-base] and festival).

- real-time factor and peak memory of transcribing a synthesised minute of speech, as before
  card vocabularies and card-aware (the accuracy of each: bench/speech_cards.py);
- the server's rating latency while a transcription runs, as a ratio to the same server idle.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import LiveServer  # the same live server the tests use

SENTENCES = [
    "Batch normalization computes the mean and variance of each channel over the batch.",
    "At inference it uses running statistics collected during training.",
    "With several GPUs, synchronized batch norm all reduces sums, sums of squares and counts.",
    "Mixed precision keeps master weights in float thirty two and scales the loss.",
]


def synthesise_minute(folder: Path) -> Path:
    """About a minute of English speech from festival, joined with sox."""
    parts = []
    for number in range(4):
        text = " ".join(SENTENCES[number:] + SENTENCES[:number])
        part = folder / f"part{number}.wav"
        subprocess.run(["text2wave", "-o", str(part)], input=text.encode(), check=True,
                       capture_output=True)
        parts.append(str(part))
    joined = folder / "minute.wav"
    subprocess.run(["sox", *parts, str(joined)], check=True)
    return joined


TODAY = ("t = WhisperTranscriber(); t._load(); s = time.perf_counter();"
         "r = t.transcribe(Path(sys.argv[1]), 'en');")
CARD_AWARE = ("from razbor.decks import load_deck;"
              "from razbor.speech.normalise import mend_terms;"
              "from razbor.speech.vocabulary import card_vocabulary;"
              "from razbor.transcription import language_plan;"
              "deck = load_deck(); card = deck.get('batchnorm');"
              "t = WhisperTranscriber(); t._load(); s = time.perf_counter();"
              "v = card_vocabulary(card, deck.cards); language, priors = language_plan('auto', card);"
              "r = mend_terms(t.transcribe(Path(sys.argv[1]), language, hints=v, priors=priors), v);")


def transcription_figures(clip: Path, name: str, decode: str) -> None:
    """Real-time factor and peak memory of one way of transcribing, in a fresh process."""
    code = ("import sys, time, json; from pathlib import Path;"
            "from razbor.speech.whisper import WhisperTranscriber;" + decode +
            "print(json.dumps({'seconds': time.perf_counter() - s, 'duration': r.duration}))")
    result = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True,
                            text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{name}: {figures['duration']:.1f} s of speech (Whisper base, int8, beam 5, "
          f"{max(1, (os.cpu_count() or 2) - 1)} thread(s)) in {figures['seconds']:.1f} s, "
          f"real-time factor {figures['seconds'] / figures['duration']:.3f}, "
          f"peak RSS of the largest run so far {peak / 1024:.0f} MiB")


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
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        clip = synthesise_minute(folder)
        transcription_figures(clip, "today (language given, no vocabulary)", TODAY)
        transcription_figures(clip, "card-aware (detected among ru/en, batchnorm's vocabulary, "
                                    "mended)", CARD_AWARE)
        latency_under_transcription(clip, folder)


if __name__ == "__main__":
    main()
