"""`razbor serve --workers N`: each app process accepts on a socket of its own, without Nagle."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import uvicorn

from razbor.web.processes import listening_socket

from .conftest import LiveServer


def test_a_connection_accepted_on_an_app_process_socket_answers_without_nagle():
    """Served on the socket an app process binds, a keep-alive connection has TCP_NODELAY
    (uvicorn's shared socket left it off: each response then waited ~40 ms for an ACK)."""

    async def page(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    listener = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(page, log_level="warning", lifespan="off"))

    async def nodelay_of_one_connection() -> int:
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await reader.readuntil(b"ok")
        (connection,) = server.server_state.connections
        nodelay = connection.transport.get_extra_info("socket").getsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        server.should_exit = True
        await serving
        return nodelay

    assert asyncio.run(nodelay_of_one_connection()) == 1


def established_connections(pid: int, port: int) -> int:
    """Connections to the port that the process holds, read from /proc: its socket inodes
    matched against the kernel's table of established TCP connections."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == port and state == "01" and inode in inodes
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_keep_alive_connections_spread_over_the_app_processes(sqlite_url, seed_deck_dir):
    """32 connections opened at once, as a load client or a reverse proxy's pool opens them,
    reach both processes (the chance that the kernel hashes all of them onto one socket is 2
    in 2^32); on uvicorn's shared socket the first process awake accepted all of them."""
    from .test_workers import wait_for_processes

    server = LiveServer(sqlite_url, "--workers", "2", "--no-speech", deck=seed_deck_dir).start()
    connections = []
    try:
        processes = wait_for_processes(server.process.pid, 2)
        connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
        for connection in connections:
            connection.sendall(f"GET /static/style.css HTTP/1.1\r\nHost: 127.0.0.1:{server.port}"
                               "\r\n\r\n".encode())
        for connection in connections:
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        held = [established_connections(pid, server.port) for pid in processes]
        assert sum(held) == 32 and min(held) > 0, held
    finally:
        for connection in connections:
            connection.close()
        server.stop()


HANGING_APP = '''
import os


async def page(scope, receive, send):
    if scope["type"] == "http":
        body = str(os.getpid()).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def app():
    return page
'''


def answering_process(port: int) -> int | None:
    """The process id the tiny app answers with on a new connection, None while it starts."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b"".join(iter(lambda: connection.recv(4096), b""))
    except ConnectionRefusedError:
        return None
    return int(answer.rsplit(b"\r\n\r\n", 1)[1]) if answer.startswith(b"HTTP/1.1 200") else None


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_an_app_process_that_stops_answering_is_replaced(tmp_path):
    """A process frozen with SIGSTOP, once it has answered, stands for one stuck in a call
    that never returns: its event loop stops beating, and the parent kills it and starts
    another."""
    from .test_workers import app_processes, wait_for_processes, wait_until_gone

    (tmp_path / "tiny_app.py").write_text(HANGING_APP)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    parent = subprocess.Popen([sys.executable, "-c", (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); "
        "from razbor.web.processes import serve_processes; "
        f"sys.exit(serve_processes('tiny_app:app', '127.0.0.1', {port}, 2, hang_seconds=2, "
        "startup_seconds=30, log_level='warning'))")], stderr=subprocess.PIPE)
    try:
        frozen, _ = wait_for_processes(parent.pid, 2)
        deadline = time.monotonic() + 60
        while answering_process(port) != frozen:
            assert time.monotonic() < deadline, f"process {frozen} did not answer in 60 s"
            time.sleep(0.02)
        os.kill(frozen, signal.SIGSTOP)
        wait_until_gone(frozen)
        assert len(wait_for_processes(parent.pid, 2, other_than={frozen})) == 2
        assert answering_process(port) != frozen
    finally:
        parent.terminate()
        _, complaints = parent.communicate(timeout=60)
        for pid in app_processes(parent.pid) if parent.poll() is None else ():
            os.kill(pid, signal.SIGKILL)
    assert f"app process {frozen} has not answered for 2 s" in complaints.decode()
