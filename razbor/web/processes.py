"""Several app processes on one port, each accepting on a listening socket of its own.

uvicorn's `--workers` shares one listening socket among its processes, and two things go wrong
with it on Linux. Whichever process wakes first accepts every connection waiting, so the
long-lived keep-alive connections of a reverse proxy or a load client all land in one process
while the others idle (measured: all 32 connections on one of two processes in three runs of
four). And the socket it binds reports protocol number 0, so asyncio leaves Nagle's algorithm on
for the connections it accepts, and each keep-alive response waits about 40 ms for the client's
delayed acknowledgement (uvicorn issue 3149; a bare page fell from 7,800 to 360 requests/s).

Here each process binds its own TCP socket to the address with SO_REUSEPORT, and the kernel
spreads new connections over the sockets. The parent only starts the processes, replaces one
that dies or whose event loop stops (as uvicorn's supervisor does), and stops them all on
SIGTERM or SIGINT. A process that cannot start (its app factory fails) stops the whole
server, as one process would, instead of being restarted in a loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

BACKLOG = 2048
CHECK_SECONDS = 0.2
STOP_SECONDS = 30.0
# Each process's event loop notes the time this often; the parent replaces a process whose
# loop has not done so for HANG_SECONDS (a deadlock, a call that never returns). Generous:
# under heavy grading a busy loop still gets the GIL within seconds, and killing a busy
# process would lose its requests.
BEAT_SECONDS = 1.0
HANG_SECONDS = 60.0
# The first beat comes once the app is built and starting: this long for that, at most.
STARTUP_SECONDS = 180.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to the address, which other processes of this user may bind too."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
        flags=socket.AI_PASSIVE)[0]
    listener = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address)
    listener.listen(BACKLOG)
    return listener


def serve_processes(app: str, host: str, port: int, count: int, *,
                    hang_seconds: float = HANG_SECONDS, startup_seconds: float = STARTUP_SECONDS,
                    **options: Any) -> int:
    """Serve the app factory at `app` ("module:function") in `count` processes until SIGTERM
    or SIGINT; returns the exit status (STARTUP_FAILURE when a process could not start). A
    process that dies, or whose event loop stops for `hang_seconds` (or has not started
    after `startup_seconds`), is replaced.
    Only Linux spreads connections over sockets bound with SO_REUSEPORT; elsewhere uvicorn's
    own supervisor serves them."""
    if not sys.platform.startswith("linux"):
        uvicorn.run(app, factory=True, host=host, port=port, workers=count, **options)
        return 0
    context = multiprocessing.get_context("spawn")

    def start() -> tuple[BaseProcess, Any]:
        # A beat dated so that the process counts as hung if its first one does not come
        # within startup_seconds.
        beat = context.Value("d", time.monotonic() + startup_seconds - hang_seconds, lock=False)
        process = context.Process(target=_serve, args=(app, host, port, options, beat))
        process.start()
        return process, beat

    stopping: list[int] = []
    previous = {number: signal.signal(number, lambda received, _: stopping.append(received))
                for number in (signal.SIGTERM, signal.SIGINT)}
    processes = [start() for _ in range(count)]
    try:
        while True:
            time.sleep(CHECK_SECONDS)
            if stopping:
                break
            for index, (process, beat) in enumerate(processes):
                if process.is_alive():
                    if time.monotonic() - beat.value < hang_seconds:
                        continue
                    print(f"razbor: app process {process.pid} has not answered for "
                          f"{hang_seconds:g} s; starting another", file=sys.stderr)
                    process.kill()
                    process.join()
                elif process.exitcode == STARTUP_FAILURE:
                    print(f"razbor: app process {process.pid} could not start; stopping",
                          file=sys.stderr)
                    return STARTUP_FAILURE
                else:
                    print(f"razbor: app process {process.pid} exited ({process.exitcode}); "
                          "starting another", file=sys.stderr)
                processes[index] = start()
        return 0
    finally:
        _stop([process for process, _ in processes])
        for number, handler in previous.items():
            signal.signal(number, handler)


def _serve(app: str, host: str, port: int, options: dict[str, Any], beat: Any) -> None:
    """One app process: its own socket, uvicorn's server, the app built by its factory, and
    a heartbeat from its event loop. It stops when its parent is gone (killed outright, say),
    rather than keep the port."""
    server = uvicorn.Server(uvicorn.Config(app, factory=True, host=host, port=port,
                                           backlog=BACKLOG, **options))
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        server.should_exit = True

    async def serve() -> None:
        beating = asyncio.create_task(_beat(beat))
        try:
            await server.serve(sockets=[listening_socket(host, port)])
        finally:
            beating.cancel()

    threading.Thread(target=watch_parent, daemon=True).start()
    asyncio.run(serve())
    if not server.started:
        sys.exit(STARTUP_FAILURE)


async def _beat(beat: Any) -> None:
    """Note, as long as the event loop runs, that it does (read by the parent)."""
    while True:
        beat.value = time.monotonic()
        await asyncio.sleep(BEAT_SECONDS)


def _stop(processes: list[BaseProcess]) -> None:
    """Ask every process to finish its requests and stop; kill what is left after a while."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
