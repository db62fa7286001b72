"""razbor under load: many signed-in users practising at once on PostgreSQL, a process killed.

    python bench/load.py [--users 200] [--minutes 5] [--workers 4] [--kill] [--no-throughput]
                         [--no-practice] [--client wrk|httpx]

Each part gets a throwaway database on the PostgreSQL server at RAZBOR_BENCH_PG (default
127.0.0.1:5432) and starts `razbor serve --accounts --workers N` on a free loopback port:

- steady run: the users sign in through the login form, then practise until the time is up,
  half through the pages (next card, answer form, analysis page, rating form) and half
  through the JSON API, with think times between steps. Prints p50/p99 per route, requests
  per second and every failed request; any failure here is a finding.
- kill run (--kill): the same, with one app process SIGKILLed halfway (`razbor serve` starts
  another). Requests that die with the process are the kill run's errors; a rating that got
  no answer is sent again, as a user would press the button again.
- after each run the database is audited: every attempt and rating acknowledged to a client is
  stored exactly once (attempts carry a unique tag in their text, so a duplicate would show),
  each card's reviews form one unbroken chain and its schedule equals the last review.
- throughput: at --workers 1, 2 and the chosen count, razbor and a bare Starlette app (one
  async route, a small HTML page, bench/bare_server.py) run side by side, started the same
  way, and a fixed number of connections in flight take the card page, /practice, the rating
  endpoint and the bare page in turn, best of --repeats. The load client is wrk where it is
  installed (C: a small share of a core, so a fast app's rate is the server's), else httpx
  (--client), whose one Python process is itself the limit at a few hundred requests/s.
  Printed per app process, with the server CPU time per request beside each rate, and the
  growth of the total with the number of processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import cycle, islice, zip_longest
from pathlib import Path

import httpx
import sqlalchemy as sa

from razbor.accounts import hash_password, new_token, token_digest
from razbor.decks import load_deck
from razbor.scheduling import Schedule
from razbor.storage import Store
from razbor.storage.accounts import Accounts
from razbor.storage.tables import attempts, cards, reviews, schedules, users

PG_ADMIN = os.environ.get("RAZBOR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_DIR = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
PASSWORD = "load-test-password"
SESSION_COOKIE = "razbor_session"
WRK = shutil.which("wrk")
# How the simulated users rate themselves: mostly "good", some cards come back soon.
RATINGS = {"again": 0.1, "hard": 0.15, "good": 0.6, "easy": 0.15}
RATING_VALUES = {"again": "1", "hard": "2", "good": "3", "easy": "4"}
RATING_TRIES = 3
# Mean seconds between a user's steps: a card every 40-45 s, brisk for a person who types an
# answer, and within what two cores grade for 200 users (at 10 s they are about saturated);
# --think 2 pushes the server far into overload.
DEFAULT_THINK = 20.0
# Idle connections are dropped sooner than uvicorn's 5 s keep-alive timeout. Otherwise a request
# can reach a connection just as a busy server closes it and get a reset (a known HTTP/1.1 race,
# which browsers answer by sending again); with the GIL held by grading threads, the window is
# wide enough to hit a few times a minute.
CLIENT_KEEPALIVE = 2.0
# The "warm" latency columns leave out the first minute (or the ramp, if longer): sign-in and
# each app process's first attempt, which loads the grader's sentence encoder.
WARM_AFTER = 60.0
RATINGS_PER_CONNECTION_SECOND = 25
TAG = re.compile(r"\[load (\S+)\]")
ROUTES = ("POST /login", "GET /practice", "GET /cards/{id}", "POST /cards/{id}/attempts",
          "GET /attempts/{id}", "POST /attempts/{id}/rating", "GET /api/next",
          "POST /api/cards/{id}/attempts", "GET /api/attempts/{id}/analysis",
          "POST /api/attempts/{id}/rating")

def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# -- databases and accounts ------------------------------------------------------------------


@contextmanager
def throwaway_database(admin_url: str = PG_ADMIN) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards, whatever happens."""
    name = f"razbor_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_accounts(url: str, count: int) -> list[str]:
    """`count` members sharing one password; hashed once, since argon2 takes ~50 ms a hash."""
    store = Store.open(url)
    accounts, password_hash, now = Accounts(store), hash_password(PASSWORD), datetime.now(UTC)
    names = [f"load{number:04d}" for number in range(count)]
    for name in names:
        accounts.add_user(name, password_hash, "member", now)
    store.close()
    return names


def open_sessions(url: str, names: list[str]) -> list[str]:
    """A session token per account, made in the database: the throughput part times pages,
    not sign-in, which the practice runs already go through."""
    store = Store.open(url)
    accounts, now, tokens = Accounts(store), datetime.now(UTC), []
    for name in names:
        token = new_token()
        accounts.start_session(accounts.user_named(name).id, token_digest(token), now)
        tokens.append(token)
    store.close()
    return tokens


def add_unrated_attempts(url: str, names: list[str], per_user: int) -> list[list[int]]:
    """Attempts to rate, inserted in bulk (grading them through the API would take minutes);
    returns each user's attempt ids."""
    store = Store.open(url)
    now = datetime.now(UTC)
    with store.engine.begin() as db:
        user_ids = dict(db.execute(sa.select(users.c.name, users.c.id)
                                   .where(users.c.name.in_(names))).all())
        versions = db.execute(sa.select(cards.c.id, cards.c.current_version_id)
                              .where(cards.c.retired.is_(False)).order_by(cards.c.id)).all()
        if not versions:
            raise RuntimeError("no cards stored yet: start the server first, it stores the deck")
        rows = [{"user_id": user_ids[name], "card_id": card_id, "card_version_id": version,
                 "text": f"load attempt {number}", "answered_aloud": False, "seconds": 5.0,
                 "created_at": now}
                for name in names
                for number, (card_id, version) in zip(range(per_user), cycle(versions),
                                                      strict=False)]
        db.execute(attempts.insert(), rows)
        ids = db.execute(sa.select(attempts.c.user_id, attempts.c.id)
                         .where(attempts.c.created_at == now).order_by(attempts.c.id)).all()
    store.close()
    by_user = defaultdict(list)
    for user_id, attempt_id in ids:
        by_user[user_id].append(attempt_id)
    return [by_user[user_ids[name]] for name in names]


# -- servers -----------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """The process and every process under it, read from /proc."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of the processes still alive."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Server:
    """A server command in a child process on a free loopback port, its output in a log."""

    def __init__(self, command: list[str], folder: Path, ready_path: str,
                 env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = folder / f"server-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--host", LOOPBACK, "--port", str(self.port)],
                env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_ready(ready_path)

    def _wait_until_ready(self, path: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                httpx.get(self.url + path, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 120 s")

    def app_processes(self) -> list[int]:
        """The app processes the server started (its children, less multiprocessing's tracker)."""
        found = []
        for pid in descendants(self.process.pid)[1:]:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except FileNotFoundError:
                continue
        return found

    def cpu_seconds(self) -> float:
        return cpu_seconds(descendants(self.process.pid))

    def tracebacks(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return ["Traceback" + part.split("\n\n")[0] for part in text.split("Traceback")[1:]]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def razbor_server(url: str, workers: int, folder: Path, deck: Path | None = None) -> Server:
    """`razbor serve` as a team runs it: accounts on, no speech, N processes on PostgreSQL;
    the built-in deck unless another is given."""
    return Server([sys.executable, "-m", "razbor.cli", "serve", "--db", url, "--accounts",
                   "--no-speech", "--workers", str(workers), "--new-per-day", "100000"],
                  folder, "/static/style.css", {"RAZBOR_AUDIO_DIR": str(folder / "audio"),
                                                "RAZBOR_DECK": str(deck or "")})


def bare_server(workers: int, folder: Path) -> Server:
    return Server([sys.executable, str(BENCH_DIR / "bare_server.py"), "--workers", str(workers)],
                  folder, "/")


# -- the simulated users -----------------------------------------------------------------------


@dataclass
class Failure:
    route: str
    what: str
    at: float


@dataclass
class Recorder:
    """Latency per route (with the moment each answer came) and every failed request."""

    started: float = field(default_factory=time.monotonic)
    latency: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    elapsed: float = 0.0
    warm_after: float = 0.0

    def now(self) -> float:
        return time.monotonic() - self.started

    def answered(self, route: str, milliseconds: float) -> None:
        self.latency[route].append((self.now(), milliseconds))

    def fail(self, route: str, what: str) -> None:
        self.failures.append(Failure(route, what, self.now()))

    def milliseconds(self, route: str, after: float = 0.0) -> list[float]:
        return [ms for moment, ms in self.latency.get(route, []) if moment >= after]


@dataclass
class Ledger:
    """What the server acknowledged: attempt tag -> id, rated attempt id -> review id (None
    when the rating went through the form, whose answer is a redirect)."""

    attempts: dict[str, int] = field(default_factory=dict)
    reviews: dict[int, int | None] = field(default_factory=dict)
    attempts_sent: int = 0
    ratings_retried: int = 0


class SimulatedUser:
    """One person practising: signs in, then answers, reads the analysis, rates; repeat."""

    def __init__(self, name: str, base_url: str, gate: asyncio.Semaphore, recorder: Recorder,
                 ledger: Ledger, answers: dict[str, str], think: float, seed: int):
        self.name = name
        self.gate = gate
        self.recorder = recorder
        self.ledger = ledger
        self.answers = answers
        self.think_mean = think
        self.random = random.Random(seed)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(
            max_connections=1, keepalive_expiry=CLIENT_KEEPALIVE))
        self.rounds = 0

    async def practise_until(self, deadline: float) -> None:
        try:
            if not await self.sign_in():
                return
            while time.monotonic() < deadline:
                self.rounds += 1
                if self.random.random() < 0.5:
                    await self.page_round()
                else:
                    await self.api_round()
        finally:
            await self.client.aclose()

    async def think(self) -> None:
        await asyncio.sleep(self.random.uniform(0.5, 1.5) * self.think_mean)

    async def request(self, route: str, method: str, path: str, expect: tuple[int, ...],
                      **options) -> httpx.Response | None:
        """Send one request inside the concurrency gate; None (and a recorded failure) unless
        the status is one of `expect`. Latency is timed inside the gate, so it is the server's."""
        async with self.gate:
            self.recorder.requests += 1
            start = time.perf_counter()
            try:
                response = await self.client.request(method, path, **options)
            except httpx.HTTPError as error:
                self.recorder.fail(route, type(error).__name__)
                return None
            self.recorder.answered(route, (time.perf_counter() - start) * 1000)
        if response.status_code not in expect:
            self.recorder.fail(route, f"HTTP {response.status_code}")
            return None
        return response

    async def sign_in(self) -> bool:
        response = await self.request("POST /login", "POST", "/login", (303,),
                                      data={"name": self.name, "password": PASSWORD})
        return response is not None and SESSION_COOKIE in self.client.cookies

    def answer(self, card_id: str) -> tuple[str, str]:
        """A plausible answer (the start of the card's short answer) with a unique tag."""
        tag = f"{self.name}-{self.rounds}"
        self.ledger.attempts_sent += 1
        return tag, f"{self.answers.get(card_id, 'no idea')} [load {tag}]"

    def rating(self) -> str:
        return self.random.choices(list(RATINGS), weights=list(RATINGS.values()))[0]

    async def page_round(self) -> None:
        """As in a browser: /practice redirects to a card, the form posts the answer, the
        analysis page follows, the rating form redirects back to /practice."""
        card_id, page = await self.open_next_card()
        if page is None:
            return
        started_at = re.search(r'name="started_at" value="([^"]+)"', page.text)
        await self.think()
        tag, text = self.answer(card_id)
        posted = await self.request("POST /cards/{id}/attempts", "POST", f"/cards/{card_id}/attempts",
                                    (303,), data={"text": text,
                                                  "started_at": started_at[1] if started_at else ""})
        made = posted and re.fullmatch(r"/attempts/(\d+)", posted.headers["location"])
        if not made:
            return
        attempt_id = int(made[1])
        self.ledger.attempts[tag] = attempt_id
        if not await self.request("GET /attempts/{id}", "GET", f"/attempts/{attempt_id}", (200,)):
            return
        await self.think()
        await self.rate("POST /attempts/{id}/rating", f"/attempts/{attempt_id}/rating", attempt_id,
                        data={"rating": RATING_VALUES[self.rating()]})

    async def open_next_card(self) -> tuple[str, httpx.Response | None]:
        found = await self.request("GET /practice", "GET", "/practice", (200, 303))
        if found is None:
            return "", None
        location = found.headers.get("location", "")
        card_id = location.removeprefix("/cards/") if location.startswith("/cards/") else None
        if found.status_code == 303 and card_id is None:
            self.recorder.fail("GET /practice", f"redirected to {location}")
            return "", None
        card_id = card_id or self.any_card()
        return card_id, await self.request("GET /cards/{id}", "GET", f"/cards/{card_id}", (200,))

    def any_card(self) -> str:
        """A card to practise again when nothing is due or new (the user went through all)."""
        return self.random.choice(sorted(self.answers))

    async def api_round(self) -> None:
        """As a script or another front end: the same flow through the JSON API."""
        found = await self.request("GET /api/next", "GET", "/api/next", (200,))
        if found is None:
            return
        card_id = (found.json()["card"] or {}).get("id") or self.any_card()
        await self.think()
        tag, text = self.answer(card_id)
        posted = await self.request("POST /api/cards/{id}/attempts", "POST",
                                    f"/api/cards/{card_id}/attempts", (201,),
                                    json={"text": text, "answered_aloud": False,
                                          "seconds": round(self.random.uniform(20, 300), 1)})
        if posted is None:
            return
        attempt_id = posted.json()["id"]
        self.ledger.attempts[tag] = attempt_id
        if not await self.request("GET /api/attempts/{id}/analysis", "GET",
                                  f"/api/attempts/{attempt_id}/analysis", (200,)):
            return
        await self.think()
        await self.rate("POST /api/attempts/{id}/rating", f"/api/attempts/{attempt_id}/rating",
                        attempt_id, json={"rating": self.rating()})

    async def rate(self, route: str, path: str, attempt_id: int, **body) -> None:
        """Post a rating; when no answer came (the process died), post the same again."""
        expect = (303,) if "data" in body else (200, 201)
        for sent_before in range(RATING_TRIES):
            if sent_before:
                self.ledger.ratings_retried += 1
                await asyncio.sleep(0.5)
            rated = await self.request(route, "POST", path, expect, **body)
            if rated is not None:
                if "data" in body and not rated.headers["location"].startswith("/practice"):
                    self.recorder.fail(route, f"redirected to {rated.headers['location']}")
                    return
                self.ledger.reviews[attempt_id] = rated.json()["id"] if "json" in body else None
                return


# -- a practice run ----------------------------------------------------------------------------


@dataclass
class ProcessLog:
    """What happened to the app processes during a run, read from /proc four times a second:
    the one the bench killed, any other that went away, and the replacements, and the CPU time
    of the whole server tree."""

    killed: int | None = None
    killed_at: float | None = None
    replaced_after: float | None = None
    gone: list[tuple[float, int]] = field(default_factory=list)
    started: list[tuple[float, int]] = field(default_factory=list)
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    cpu_at_start: float = 0.0

    @property
    def unexpected_exits(self) -> list[tuple[float, int]]:
        return [(moment, pid) for moment, pid in self.gone if pid != self.killed]

    @property
    def cpu_seconds(self) -> float:
        """Server CPU time used during the run, by live and dead processes alike."""
        return sum(self.cpu_by_pid.values()) - self.cpu_at_start


@dataclass
class PracticeRun:
    users: int
    seconds: float
    workers: int
    recorder: Recorder
    ledger: Ledger
    rounds: int
    processes: ProcessLog
    client_cpu_seconds: float
    tracebacks: list[str] = field(default_factory=list)
    audit: Audit | None = None


def answers_by_card(deck: Path | None = None) -> dict[str, str]:
    return {card.id: card.short_answer[:400] for card in load_deck(deck)}


async def simulate(base_url: str, names: list[str], seconds: float, think: float, in_flight: int,
                   answers: dict[str, str], watch: Callable[[Recorder, asyncio.Event], Awaitable[None]]
                   ) -> tuple[Recorder, Ledger, int]:
    """All users practising until the time is up. They start spread over the first fifth (at
    most a minute), since signing in costs an argon2 hash each."""
    if not base_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError("the load client talks to loopback servers only")
    gate, recorder, ledger = asyncio.Semaphore(in_flight), Recorder(), Ledger()
    deadline = time.monotonic() + seconds
    ramp = min(60.0, seconds / 5)
    recorder.warm_after = max(ramp, WARM_AFTER)
    people = [SimulatedUser(name, base_url, gate, recorder, ledger, answers, think, number)
              for number, name in enumerate(names)]

    async def start(number: int, person: SimulatedUser) -> None:
        await asyncio.sleep(ramp * number / len(people))
        await person.practise_until(deadline)

    done = asyncio.Event()
    watching = asyncio.ensure_future(watch(recorder, done))
    await asyncio.gather(*(start(number, person) for number, person in enumerate(people)))
    recorder.elapsed = time.monotonic() - recorder.started
    done.set()
    await watching
    return recorder, ledger, sum(person.rounds for person in people)


async def watch_processes(server: Server, log: ProcessLog, kill_at: float | None,
                          recorder: Recorder, done: asyncio.Event) -> None:
    """Follow the app processes until the run is done; SIGKILL one at `kill_at` seconds."""
    known = set(server.app_processes())
    while not done.is_set():
        moment = time.monotonic() - recorder.started
        if kill_at is not None and log.killed is None and moment >= kill_at and known:
            log.killed, log.killed_at = min(known), moment
            os.kill(log.killed, signal.SIGKILL)
        for pid in descendants(server.process.pid):
            log.cpu_by_pid[pid] = max(log.cpu_by_pid.get(pid, 0.0), cpu_seconds([pid]))
        current = set(server.app_processes())
        log.gone += [(moment, pid) for pid in known - current]
        log.started += [(moment, pid) for pid in current - known]
        if log.killed and log.replaced_after is None and current - known:
            log.replaced_after = moment - log.killed_at
        known = current
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.25)


def run_practice(url: str, names: list[str], seconds: float, workers: int, kill: bool = False,
                 think: float = DEFAULT_THINK, in_flight: int = 64, deck: Path | None = None
                 ) -> PracticeRun:
    """Serve `url` with `workers` processes, let the users practise, audit the database."""
    if kill and workers < 2:
        raise ValueError("killing an app process needs --workers 2 or more")
    log = ProcessLog()
    with tempfile.TemporaryDirectory(prefix="razbor-load-") as folder:
        server = razbor_server(url, workers, Path(folder), deck)
        try:
            if workers > 1:
                _wait_for_processes(server, workers)
            log.cpu_at_start = server.cpu_seconds()
            client_cpu = time.process_time()
            recorder, ledger, rounds = asyncio.run(simulate(
                server.url, names, seconds, think, in_flight, answers_by_card(deck),
                partial(watch_processes, server, log, seconds / 2 if kill else None)))
            client_cpu = time.process_time() - client_cpu
        finally:
            server.stop()
        run = PracticeRun(len(names), seconds, workers, recorder, ledger, rounds, log, client_cpu,
                          server.tracebacks())
    run.audit = audit(url, ledger)
    return run


def _wait_for_processes(server: Server, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(server.app_processes()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} app processes after 60 s")
        time.sleep(0.2)


# -- the exactly-once audit --------------------------------------------------------------------


@dataclass
class Audit:
    """The database against what the clients were told."""

    acknowledged_attempts: int
    acknowledged_reviews: int
    missing_attempts: list[str]
    duplicate_attempts: list[str]
    wrong_attempt_ids: list[str]
    missing_reviews: list[int]
    wrong_review_ids: list[int]
    duplicate_reviews: list[int]
    unacknowledged_attempts: list[str]
    unacknowledged_reviews: list[int]
    broken_chains: list[tuple[int, str]]
    stale_schedules: list[tuple[int, str]]

    @property
    def problems(self) -> dict[str, list]:
        names = ("missing_attempts", "duplicate_attempts", "wrong_attempt_ids", "missing_reviews",
                 "wrong_review_ids", "duplicate_reviews", "broken_chains", "stale_schedules")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    @property
    def exactly_once(self) -> bool:
        return not self.problems


def audit(url: str, ledger: Ledger) -> Audit:
    store = Store.open(url)
    with store.engine.connect() as db:
        stored_attempts = db.execute(sa.select(attempts.c.id, attempts.c.text)).all()
        stored_reviews = db.execute(sa.select(
            reviews.c.id, reviews.c.attempt_id, reviews.c.user_id, reviews.c.card_id,
            reviews.c.state_before, reviews.c.state_after).order_by(reviews.c.id)).all()
        stored_schedules = db.execute(sa.select(schedules)).all()
    store.close()
    ids_by_tag = defaultdict(list)
    for attempt_id, text in stored_attempts:
        tag = TAG.search(text)
        if tag:
            ids_by_tag[tag[1]].append(attempt_id)
    reviews_by_attempt = defaultdict(list)
    for review in stored_reviews:
        reviews_by_attempt[review.attempt_id].append(review.id)
    broken, stale = _chain_faults(stored_reviews, stored_schedules)
    return Audit(
        acknowledged_attempts=len(ledger.attempts), acknowledged_reviews=len(ledger.reviews),
        missing_attempts=[tag for tag in ledger.attempts if not ids_by_tag.get(tag)],
        duplicate_attempts=[tag for tag, ids in ids_by_tag.items() if len(ids) > 1],
        wrong_attempt_ids=[tag for tag, attempt_id in ledger.attempts.items()
                           if ids_by_tag.get(tag) and attempt_id not in ids_by_tag[tag]],
        missing_reviews=[i for i in ledger.reviews if not reviews_by_attempt.get(i)],
        wrong_review_ids=[i for i, review_id in ledger.reviews.items()
                          if review_id is not None and reviews_by_attempt.get(i)
                          and review_id not in reviews_by_attempt[i]],
        duplicate_reviews=[i for i, ids in reviews_by_attempt.items() if len(ids) > 1],
        unacknowledged_attempts=[tag for tag in ids_by_tag if tag not in ledger.attempts],
        unacknowledged_reviews=[i for i in reviews_by_attempt if i not in ledger.reviews],
        broken_chains=broken, stale_schedules=stale)


def _chain_faults(stored_reviews, stored_schedules) -> tuple[list, list]:
    """Cards whose reviews do not each start from the state the previous one left, and cards
    whose schedule is not the state after their last review."""
    last_state, broken = {}, []
    for review in stored_reviews:
        key = (review.user_id, review.card_id)
        if review.state_before != last_state.get(key):
            broken.append(key)
        last_state[key] = review.state_after
    stale = []
    for row in stored_schedules:
        key = (row.user_id, row.card_id)
        expected = Schedule.from_dict(last_state[key]) if key in last_state else None
        if expected is None or (row.state, row.step, row.stability, row.difficulty, row.due,
                                row.last_review) != (
                expected.state, expected.step, expected.stability, expected.difficulty,
                expected.due, expected.last_review):
            stale.append(key)
    stale += [key for key in last_state if key not in {(r.user_id, r.card_id)
                                                       for r in stored_schedules}]
    return sorted(set(broken)), stale


# -- throughput ---------------------------------------------------------------------------------


@dataclass
class Rate:
    requests: int
    failures: Counter
    seconds: float
    cpu_seconds: float
    client_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)


async def closed_loop(server: Server, tokens: list[str], next_request: Callable[[int], tuple | None],
                      connections: int, seconds: float, warmup: float = 2.0) -> Rate:
    """`connections` clients each sending the next request as soon as the last is answered;
    counted after a warm-up. next_request(connection) gives (method, path, json, statuses),
    or None when that connection has nothing left to send."""
    counted, failures, stop = [0], Counter(), [False]
    clients = [httpx.AsyncClient(base_url=server.url, timeout=60, cookies=(
        {SESSION_COOKIE: tokens[n % len(tokens)]} if tokens else None))
        for n in range(connections)]

    async def loop(connection: int, client: httpx.AsyncClient) -> None:
        while not stop[0]:
            request = next_request(connection)
            if request is None:
                return
            method, path, body, statuses = request
            try:
                response = await client.request(method, path, json=body)
            except httpx.HTTPError as error:
                failures[type(error).__name__] += 1
                continue
            if response.status_code in statuses:
                counted[0] += 1
            else:
                failures[f"HTTP {response.status_code}"] += 1

    async def timer() -> Rate:
        await asyncio.sleep(warmup)
        counted[0] = 0
        failures.clear()
        cpu, client_cpu, start = server.cpu_seconds(), time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        rate = Rate(counted[0], Counter(failures), time.perf_counter() - start,
                    server.cpu_seconds() - cpu, time.process_time() - client_cpu)
        stop[0] = True
        return rate

    try:
        rate, *_ = await asyncio.gather(timer(), *(loop(n, c) for n, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.aclose()
    return rate


def cycling(paths: list[str], statuses: tuple[int, ...]) -> Callable[[int], tuple]:
    position = [0]

    def next_request(connection: int) -> tuple:
        position[0] += 1
        return "GET", paths[position[0] % len(paths)], None, statuses

    return next_request


def rating_each(attempt_ids: list[list[int]]) -> Callable[[int], tuple | None]:
    """Each connection rates its own user's attempts, each once, "good", across all the runs
    it is used for."""
    queues = [list(reversed(ids)) for ids in attempt_ids]

    def next_request(connection: int) -> tuple | None:
        if not queues[connection]:
            return None
        return ("POST", f"/api/attempts/{queues[connection].pop()}/rating", {"rating": "good"},
                (201,))

    return next_request


THROUGHPUT_FIGURES = ("bare Starlette", "card page", "/practice", "rating")
CLIENTS = {"httpx": "httpx (Python, asyncio; at a few hundred requests/s it fills a core)",
           "wrk": "wrk (C, one thread: a fast app's rate is the server's)"}


@dataclass
class Throughput:
    """Every repetition of each figure at one worker count; the best of them is reported, as
    the other processes on a shared machine only ever make a figure worse."""

    workers: int
    rates: dict[str, list[Rate]] = field(default_factory=lambda: defaultdict(list))
    tracebacks: list[str] = field(default_factory=list)

    def per_second(self, figure: str) -> float:
        return max(rate.per_second for rate in self.rates[figure])

    def cpu_ms(self, figure: str) -> float:
        return min(rate.cpu_ms_per_request for rate in self.rates[figure])

    def client_cpu_share(self, figure: str) -> float:
        """How busy the load client was: near 1, it and not the server set the rate."""
        best = max(self.rates[figure], key=lambda rate: rate.per_second)
        return best.client_cpu_seconds / best.seconds

    @property
    def failures(self) -> Counter:
        """Failed requests by figure and kind (a status or an exception), warm-ups excluded."""
        return sum((Counter({(figure, kind): count for kind, count in rate.failures.items()})
                    for figure, rates in self.rates.items() for rate in rates), Counter())


def measure_throughput(url: str, names: list[str], worker_counts: list[int], connections: int,
                       seconds: float, repeats: int = 3, client: str = "httpx") -> list[Throughput]:
    """Per worker count, razbor and the bare app side by side, figures taken in turn, with
    httpx or wrk as the load client; `names` are at least 2 x `connections` accounts."""
    # Pages and ratings each on their own accounts: rated cards leave the queue, and a user
    # with none left gets the "all done" page from /practice instead of its redirect.
    page_names, rating_names = names[:connections], names[connections:2 * connections]
    tokens, rating_tokens = open_sessions(url, page_names), open_sessions(url, rating_names)
    deck = [card.id for card in load_deck()]
    results, ratings = [], None
    for workers in worker_counts:
        with tempfile.TemporaryDirectory(prefix="razbor-load-") as folder:
            razbor = razbor_server(url, workers, Path(folder))
            bare = None
            try:
                bare = bare_server(workers, Path(folder))
                if workers > 1:
                    _wait_for_processes(razbor, workers)
                    _wait_for_processes(bare, workers)
                # Once the server has stored the deck; more ratings than a connection can send.
                if ratings is None:
                    rating_ids = add_unrated_attempts(
                        url, rating_names, per_user=int(RATINGS_PER_CONNECTION_SECOND * (
                            seconds + 2) * repeats * len(worker_counts)))
                    ratings = (wrk_ratings(rating_tokens, rating_ids) if client == "wrk"
                               else rating_each(rating_ids))
                result = Throughput(workers)
                if client == "wrk":
                    loads = wrk_loads(bare, razbor, tokens, deck, ratings, connections)
                    take = partial(wrk_rate, folder=Path(folder))
                else:
                    loads = {"bare Starlette": (bare, [], cycling(["/"], (200,))),
                             "card page": (razbor, tokens, cycling(
                                 [f"/cards/{card}" for card in deck], (200,))),
                             "/practice": (razbor, tokens, cycling(["/practice"], (303,))),
                             "rating": (razbor, rating_tokens, ratings)}
                    take = closed_loop_rate
                for _ in range(repeats):
                    for figure, (server, cookies, requests) in loads.items():
                        result.rates[figure].append(
                            take(server, cookies, requests, connections, seconds))
            finally:
                razbor.stop()
                if bare:
                    bare.stop()
            result.tracebacks = razbor.tracebacks()
        results.append(result)
    return results


def closed_loop_rate(server: Server, tokens: list[str], next_request: Callable[[int], tuple | None],
                     connections: int, seconds: float) -> Rate:
    return asyncio.run(closed_loop(server, tokens, next_request, connections, seconds))


# -- throughput with wrk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request as wrk sends it, with its user's session."""

    method: str
    path: str
    token: str | None = None
    body: str | None = None


def wrk_loads(bare: Server, razbor: Server, tokens: list[str], deck: list[str],
              ratings: Iterator[Sent], connections: int) -> dict[str, tuple]:
    """Each figure's server, the status its requests must get (checked once with httpx before
    the figure: wrk counts any 2xx or 3xx as success) and, for a run of so many seconds, the
    requests wrk cycles through."""
    pages = [Sent("GET", f"/cards/{card}", tokens[number % len(tokens)])
             for number, card in enumerate(deck)]
    practice = [Sent("GET", "/practice", token) for token in tokens]
    budget = RATINGS_PER_CONNECTION_SECOND * connections
    return {"bare Starlette": (bare, 200, lambda seconds: [Sent("GET", "/")]),
            "card page": (razbor, 200, lambda seconds: pages),
            "/practice": (razbor, 303, lambda seconds: practice),
            "rating": (razbor, 201, lambda seconds: list(islice(ratings, int(budget * seconds))))}


def wrk_ratings(tokens: list[str], attempt_ids: list[list[int]]) -> Iterator[Sent]:
    """Every attempt rated once, "good", by its own user, the users taken in turn."""
    body = json.dumps({"rating": "good"})
    return (Sent("POST", f"/api/attempts/{attempt}/rating", token, body)
            for row in zip_longest(*attempt_ids)
            for token, attempt in zip(tokens, row, strict=True) if attempt is not None)


def wrk_rate(server: Server, status: int, requests: Callable[[float], list[Sent]],
             connections: int, seconds: float, folder: Path, warmup: float = 2.0) -> Rate:
    """Like closed_loop, with wrk as the client: C, one thread, a small share of a core, so
    that a fast app's rate is the server's and not the client's. The first request's status
    is checked first, and the count starts after a warm-up run."""
    warming = requests(warmup)
    first = warming[0]
    answer = httpx.request(first.method, server.url + first.path, content=first.body,
                           cookies={SESSION_COOKIE: first.token} if first.token else None,
                           headers={"Content-Type": "application/json"})
    if answer.status_code != status:
        raise RuntimeError(f"{first.method} {first.path} answered {answer.status_code}, "
                           f"not {status}: the figure would count the wrong page")
    _wrk(server, warming, connections, warmup, folder)
    cpu, client = server.cpu_seconds(), _children_cpu_seconds()
    output = _wrk(server, requests(seconds), connections, seconds, folder)
    return _wrk_result(output, server.cpu_seconds() - cpu, _children_cpu_seconds() - client)


def _wrk(server: Server, requests: list[Sent], connections: int, seconds: float,
         folder: Path) -> str:
    script = folder / "requests.lua"
    script.write_text(_lua_script(requests))
    run = subprocess.run([WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                          "-s", str(script), server.url], capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stdout}{run.stderr}")
    return run.stdout


def _lua_script(requests: list[Sent]) -> str:
    """wrk's request hook sending these requests in turn, each with its own session cookie."""
    def literal(value: str | None) -> str:
        return "nil" if value is None else json.dumps(value)

    rows = ",\n".join(
        f"  {{{literal(sent.method)}, {literal(sent.path)}, "
        f"{literal(f'{SESSION_COOKIE}={sent.token}' if sent.token else None)}, "
        f"{literal(sent.body)}}}" for sent in requests)
    return (f"local requests = {{\n{rows}\n}}\nlocal position = 0\n"
            "request = function()\n"
            "  position = position % #requests + 1\n"
            "  local sent = requests[position]\n"
            '  local headers = {["Content-Type"] = "application/json"}\n'
            '  if sent[3] then headers["Cookie"] = sent[3] end\n'
            "  return wrk.format(sent[1], sent[2], headers, sent[4])\n"
            "end\n")


def _wrk_result(output: str, server_cpu: float, client_cpu: float) -> Rate:
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    if total is None:
        raise RuntimeError(f"wrk printed no totals:\n{output}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    failures = Counter()
    if refused := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        failures["HTTP 4xx/5xx"] = int(refused.group(1))
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                           r"timeout (\d+)", output):
        for kind, count in zip(("connect", "read", "write", "timeout"), errors.groups(),
                               strict=True):
            failures[f"socket {kind} error"] = int(count)
    return Rate(int(total.group(1)) - failures["HTTP 4xx/5xx"], +failures,
                float(total.group(2)) * scale, server_cpu, client_cpu)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- reports -------------------------------------------------------------------------------------


def print_practice(run: PracticeRun, title: str) -> None:
    recorder = run.recorder
    print(f"\n{title}: {run.users} users, {run.seconds / 60:g} min, {run.workers} app "
          f"processes, {run.rounds} practice rounds")
    print(f"  {'route':34}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'failed':>8}"
          f"{'p50 warm':>10}{'p99 warm':>10}")
    failed = Counter(failure.route for failure in recorder.failures)
    for route in ROUTES:
        samples = recorder.milliseconds(route)
        warm = recorder.milliseconds(route, recorder.warm_after)
        if samples or failed[route]:
            print(f"  {route:34}{len(samples):9d}{_ms(samples, .5):>9}{_ms(samples, .99):>9}"
                  f"{_ms(samples, 1):>9}{failed[route]:8d}{_ms(warm, .5):>10}{_ms(warm, .99):>10}")
    print(f"  (warm: answered after {recorder.warm_after:.0f} s, once every user has signed in and "
          "each process has loaded its sentence encoder on its first attempt)")
    print(f"  {recorder.requests} requests in {recorder.elapsed:.0f} s: "
          f"{recorder.requests / recorder.elapsed:.1f} requests/s; {len(recorder.failures)} failed")
    log = run.processes
    print(f"  server CPU {log.cpu_seconds:.0f} s ({log.cpu_seconds / recorder.elapsed:.2f} cores "
          f"on average, {1000 * log.cpu_seconds / max(1, run.rounds):.0f} ms per round); load "
          f"client CPU {run.client_cpu_seconds:.0f} s; machine load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if log.killed:
        replaced = (f"its replacement was up {log.replaced_after:.1f} s later"
                    if log.replaced_after is not None else "no replacement seen")
        print(f"  killed app process {log.killed} at {log.killed_at:.0f} s; {replaced}")
    for moment, pid in log.unexpected_exits:
        print(f"  app process {pid} went away at {moment:.0f} s without being killed by the "
              "bench")
    for (route, what), count in Counter((f.route, f.what) for f in recorder.failures).items():
        moments = [f.at for f in recorder.failures if (f.route, f.what) == (route, what)]
        print(f"  failed: {count} x {route}: {what} (at {min(moments):.1f}-{max(moments):.1f} s)")
    if run.ledger.ratings_retried:
        print(f"  ratings sent again after no answer: {run.ledger.ratings_retried}")
    if run.tracebacks:
        print(f"  server log: {len(run.tracebacks)} tracebacks; the first:\n{run.tracebacks[0]}")


def _ms(samples: list[float], share: float) -> str:
    return f"{percentile(samples, share):.1f}" if samples else "-"


def print_audit(result: Audit, ledger: Ledger) -> None:
    print(f"  audit: {result.acknowledged_attempts} acknowledged attempts (of "
          f"{ledger.attempts_sent} sent) and {result.acknowledged_reviews} acknowledged ratings")
    if result.exactly_once:
        print("    every acknowledged attempt and rating is stored exactly once; review chains "
              "unbroken; every schedule equals its card's last review")
    for name, items in result.problems.items():
        print(f"    PROBLEM {name.replace('_', ' ')}: {len(items)}, e.g. {items[:5]}")
    if result.unacknowledged_attempts or result.unacknowledged_reviews:
        print(f"    unacknowledged but stored (answer lost with the process): "
              f"{len(result.unacknowledged_attempts)} attempts, "
              f"{len(result.unacknowledged_reviews)} ratings")


def print_throughput(results: list[Throughput], connections: int, seconds: float,
                     repeats: int, client: str = "httpx") -> None:
    print(f"\nthroughput: {connections} connections in flight, best of {repeats} x {seconds:g} s "
          f"per figure, taken in turn; load client {CLIENTS[client]}")
    print("  requests/s per app process (server CPU ms per request)")
    print(f"  {'workers':>7}" + "".join(f"{figure:>20}" for figure in THROUGHPUT_FIGURES))
    for result in results:
        print(f"  {result.workers:7d}" + "".join(
            f"{result.per_second(figure) / result.workers:12.0f} ({result.cpu_ms(figure):5.2f})"
            for figure in THROUGHPUT_FIGURES))
    print("  ratio to the bare app at the same worker count: by request rate | by server CPU "
          "per request")
    for result in results:
        print(f"  {result.workers:7d}{'1':>20}" + "".join(
            f"{result.per_second(figure) / result.per_second('bare Starlette'):12.2f} |"
            f"{result.cpu_ms('bare Starlette') / result.cpu_ms(figure):6.2f}"
            for figure in THROUGHPUT_FIGURES[1:]))
    first = results[0]
    print(f"  total requests/s as a multiple of --workers {first.workers}")
    for result in results:
        print(f"  {result.workers:7d}" + "".join(
            f"{result.per_second(figure) / first.per_second(figure):20.2f}"
            for figure in THROUGHPUT_FIGURES))
    print("  load client CPU busy (share of one core) during the best run of each figure")
    for result in results:
        print(f"  {result.workers:7d}" + "".join(
            f"{result.client_cpu_share(figure):20.2f}" for figure in THROUGHPUT_FIGURES))
    failures = sum((result.failures for result in results), Counter())
    print(f"  failed requests during the throughput figures: {sum(failures.values())}")
    for (figure, kind), count in failures.items():
        print(f"    {figure}: {count} x {kind}")
    for result in results:
        if result.tracebacks:
            print(f"  razbor's log at --workers {result.workers}: {len(result.tracebacks)} "
                  f"tracebacks; the first:\n{result.tracebacks[0]}")


# -- the command -----------------------------------------------------------------------------------


def practice_part(users: int, seconds: float, workers: int, kill: bool, think: float,
                  in_flight: int) -> bool:
    """One practice run on its own database, printed; True if it met its bar."""
    with throwaway_database() as url:
        names = add_accounts(url, users)
        run = run_practice(url, names, seconds, workers, kill, think, in_flight)
    print_practice(run, "kill run (one app process SIGKILLed halfway)" if kill else "steady run")
    print_audit(run.audit, run.ledger)
    return run.audit.exactly_once and (kill or not (run.recorder.failures
                                                    or run.processes.unexpected_exits))


def throughput_part(workers: int, connections: int, seconds: float, repeats: int,
                    client: str) -> None:
    counts = sorted({1, 2, workers}) if workers > 1 else [1]
    with throwaway_database() as url:
        names = add_accounts(url, 2 * connections)
        results = measure_throughput(url, names, counts, connections, seconds, repeats, client)
    print_throughput(results, connections, seconds, repeats, client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    parser.add_argument("--minutes", type=float, default=5, help="length of each practice run")
    parser.add_argument("--workers", type=int, default=4, help="app processes (default 4)")
    parser.add_argument("--kill", action="store_true",
                        help="also a run with one app process killed halfway")
    parser.add_argument("--think", type=float, default=DEFAULT_THINK,
                        help=f"mean seconds a user spends between steps (default {DEFAULT_THINK:g})")
    parser.add_argument("--in-flight", type=int, default=64,
                        help="most requests the client has open at once (default 64)")
    parser.add_argument("--no-throughput", action="store_true", help="skip the throughput part")
    parser.add_argument("--no-practice", action="store_true",
                        help="skip the practice runs: only the throughput figures")
    parser.add_argument("--connections", type=int, default=32,
                        help="connections in flight for the throughput figures (default 32)")
    parser.add_argument("--throughput-seconds", type=float, default=10,
                        help="seconds per throughput figure (default 10)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="times each throughput figure is taken, the best kept (default 3)")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="wrk" if WRK else "httpx",
                        help="load client of the throughput figures (default wrk where "
                             "installed, else httpx)")
    args = parser.parse_args()
    if args.client == "wrk" and not WRK:
        parser.error("--client wrk: wrk is not installed (apt-get install wrk), or pass "
                     "--client httpx")
    if args.kill and args.workers < 2:
        parser.error("--kill needs --workers 2 or more: with one process there is none to spare")
    seconds = args.minutes * 60
    passed = args.no_practice or practice_part(args.users, seconds, args.workers, False,
                                               args.think, args.in_flight)
    if args.kill and not args.no_practice:
        passed &= practice_part(args.users, seconds, args.workers, True, args.think,
                                args.in_flight)
    if not args.no_throughput:
        throughput_part(args.workers, args.connections, args.throughput_seconds, args.repeats,
                        args.client)
    if not passed:
        print("\nFAILED: see the failures and problems above")
        sys.exit(1)


if __name__ == "__main__":
    main()
