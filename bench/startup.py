"""How fast razbor answers before any real work: `python bench/startup.py`.

Prints the median wall time of `razbor --help` in a new process (target 0.3 s) and of loading
the built-in deck in a warm process (target 100 ms for 200 cards, so the figure is also given
per 200 cards), each with its ratio to the target: read back from the parsed-deck cache, as
every load after the first, and parsed into an empty cache, as the first load after an
install or an edit. The benchmark's caches are temporary folders.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_TARGET_S = 0.3
DECK_TARGET_S_PER_200 = 0.1


def median_seconds(action, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    installed = shutil.which("razbor")
    command = [installed, "--help"] if installed else [sys.executable, "-m", "razbor.cli", "--help"]
    help_time = median_seconds(lambda: subprocess.run(command, capture_output=True, check=True), 10)
    print(f"razbor --help        {help_time * 1000:8.1f} ms   "
          f"ratio to 0.3 s: {help_time / HELP_TARGET_S:.2f}")

    from razbor.decks import builtin_deck_path, load_deck

    with tempfile.TemporaryDirectory() as caches:
        os.environ["XDG_CACHE_HOME"] = caches
        cards = len(load_deck())
        cached = median_seconds(lambda: load_deck(builtin_deck_path()), 5)
        counter = itertools.count()

        def parse_into_an_empty_cache() -> None:
            os.environ["XDG_CACHE_HOME"] = str(Path(caches) / f"empty-{next(counter)}")
            load_deck(builtin_deck_path())

        parsed = median_seconds(parse_into_an_empty_cache, 3)
    for how, deck_time in (("from the cache", cached), ("parsed", parsed)):
        per_200 = deck_time * 200 / cards
        print(f"deck load, {how:15}{deck_time * 1000:8.1f} ms   {cards} cards, "
              f"{per_200 * 1000:.1f} ms per 200 cards, ratio to 100 ms: "
              f"{per_200 / DECK_TARGET_S_PER_200:.2f}")


if __name__ == "__main__":
    main()
