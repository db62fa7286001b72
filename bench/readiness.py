"""How long the interview-date plan takes, by the number of cards in scope and days left.

`python bench/readiness.py [--cards 221 5000] [--days 14 60 365]` gives each card a history of
one to five random ratings, then prints the median time of the forecast (razbor.readiness) for
every pair. The home page computes it on each visit of a user with a date, so it should stay
well under a second for a deck the size of the built-in one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from razbor.readiness import StartedCard, forecast
from razbor.scheduling import Planner, Rating, SchedulerSettings

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RATINGS = (Rating.AGAIN, Rating.GOOD, Rating.GOOD, Rating.EASY)


def started_cards(count: int, planner: Planner, rng: random.Random) -> dict[str, StartedCard]:
    """Cards started up to 200 days ago, each reviewed on its due dates since."""
    cards = {}
    for number in range(count):
        schedule, moment = None, NOW - timedelta(days=rng.randrange(1, 200))
        reviews = rng.randrange(1, 6)
        for _ in range(reviews):
            schedule = planner.review(schedule, rng.choice(RATINGS), moment)
            moment = schedule.due
        cards[f"card-{number}"] = StartedCard(schedule, reviews)
    return cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, nargs="+", default=[221, 5000])
    parser.add_argument("--days", type=int, nargs="+", default=[14, 60, 365])
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    planner = Planner(SchedulerSettings(fuzz=False))
    print("cards  days  median ms  behind  reviews/day")
    for count in arguments.cards:
        cards = started_cards(count, planner, random.Random(count))
        for days in arguments.days:
            timings = []
            for _ in range(arguments.repeat):
                start = time.perf_counter()
                plan = forecast(cards, [], NOW, NOW.date() + timedelta(days=days), planner)
                timings.append(time.perf_counter() - start)
            print(f"{count:5}  {days:4}  {statistics.median(timings) * 1000:9.0f}  "
                  f"{plan.behind:6}  {plan.reviews_per_day:11}")


if __name__ == "__main__":
    main()
