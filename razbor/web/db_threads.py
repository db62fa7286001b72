"""Worker threads of their own for the short database work nearly every request does.

Starlette runs blocking calls on up to 40 worker threads. A session lookup, the choice of the
next card or a rating takes a fraction of a millisecond of CPU, mostly waiting for the
database; with dozens of them in flight, the threads spend much of their CPU time taking the
GIL from each other (measured: a third of `/practice`'s CPU time at 32 requests in flight), and
a few threads keep the database just as busy. Grading and every other slow call stay on the
shared threads.

Reads and writes get separate threads: reads never wait for a lock (PostgreSQL and SQLite's
WAL read a snapshot), while a write can wait for its card's turn or SQLite's write lock, and a
write waiting must not hold up the reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

READ_THREADS = 4
WRITE_THREADS = 4
T = TypeVar("T")
# A limiter belongs to one event loop (a test client runs each on a loop of its own).
_READ_LIMITER: RunVar[CapacityLimiter] = RunVar("razbor_read_limiter")
_WRITE_LIMITER: RunVar[CapacityLimiter] = RunVar("razbor_write_limiter")


async def run_read(function: Callable[..., T], *args, **kwargs) -> T:
    """Call a function that only reads the database, on one of the read threads."""
    return await _run(partial(function, *args, **kwargs), _READ_LIMITER, READ_THREADS)


async def run_write(function: Callable[..., T], *args, **kwargs) -> T:
    """Call a short function that writes to the database, on one of the write threads."""
    return await _run(partial(function, *args, **kwargs), _WRITE_LIMITER, WRITE_THREADS)


async def _run(call: Callable[[], T], slot: RunVar[CapacityLimiter], threads: int) -> T:
    try:
        limiter = slot.get()
    except LookupError:
        limiter = CapacityLimiter(threads)
        slot.set(limiter)
    return await anyio.to_thread.run_sync(call, limiter=limiter)
