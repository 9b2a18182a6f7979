"""Real servers on 127.0.0.1 that are not what a client expects, for the tests of address checks:
an HTTP server, a port that accepts no connection, a closed port, a server that talks nonsense."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator

from workloads.runtime.net import LOOPBACK


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def http_server() -> Iterator[int]:
    """A plain HTTP server (the standard library's) in a thread; yields its port."""
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), _QuietHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _connect_blocks(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.3)
        try:
            probe.connect((LOOPBACK, port))
        except TimeoutError:
            return True
        except OSError:
            return False
    return False


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that listens but never accepts, with its backlog full: a new connection gets no
    answer at all, as from a host that drops packets. Yields the port."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(16):
            if _connect_blocks(port):
                break
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((LOOPBACK, port))
            fillers.append(filler)
        else:
            raise RuntimeError(f"could not fill the backlog of port {port}")
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def talker(payload: bytes) -> Iterator[int]:
    """A server that sends `payload` to each connection, then keeps it open. Yields its port."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)
            with contextlib.suppress(OSError):
                conn.sendall(payload)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for sock in [*accepted, listener]:
            sock.close()
