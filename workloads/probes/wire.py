"""The wire side of every probe: endpoints, one deadline for a whole check, bounded reads, and
the one-line messages a failed check ends in.

Each check has one deadline for all of it (name lookup, connect, the reply) and reads a bounded
number of bytes, so a wrong service, a silent port and a connection nobody answers all fail
within the timeout, with one line that names the address and what was expected there. Nothing the
peer sends is unpickled: the replies are read as plain msgpack, protobuf fields or plain bytes.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from workloads.runtime.errors import EngineUnavailable

#: Seconds a check may take in all.
DEFAULT_TIMEOUT = 5.0
#: The largest reply read from a peer (a scheduler lists its workers: ~2 KiB each).
MAX_REPLY = 64 * 2**20

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class WrongService(Exception):
    """The peer answered, but not as the expected service does (the message says how)."""


@dataclass(frozen=True)
class Endpoint:
    """One host and port, as written in an address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class Deadline:
    """One point in time that every step of a check counts down to."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises TimeoutError once there are none."""
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining


def parse_endpoint(text: str) -> Endpoint | None:
    """`HOST:PORT` or `[IPv6]:PORT` with a port in 1..65535, else None."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        valid = _is_ip(host, socket.AF_INET6)
    else:
        valid = bool(_HOST.match(host))
    if not (sep and valid and port.isascii() and port.isdigit()):
        return None
    return Endpoint(host, int(port)) if 1 <= int(port) <= 65535 else None


def _is_ip(text: str, family: int) -> bool:
    try:
        socket.inet_pton(family, text)
    except (OSError, ValueError):
        return False
    return True


def resolve(endpoint: Endpoint, deadline: Deadline, family: int = 0) -> list[tuple]:
    """getaddrinfo within the deadline (a name lookup can block for much longer)."""
    query = {"family": family, "type": socket.SOCK_STREAM}
    try:
        return socket.getaddrinfo(endpoint.host, endpoint.port, flags=socket.AI_NUMERICHOST,
                                  **query)
    except socket.gaierror:
        pass  # a name, not an address: look it up in a thread that may outlive the deadline
    found: dict[str, object] = {}

    def lookup() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(endpoint.host, endpoint.port, **query)
        except OSError as exc:
            found["error"] = exc

    thread = threading.Thread(target=lookup, name="parbench-resolve", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if "addresses" in found:
        return found["addresses"]  # type: ignore[return-value]
    if "error" in found:
        raise OSError(f"cannot resolve the host name {endpoint.host!r}")
    raise OSError(f"looking up the host name {endpoint.host!r} took over {deadline.seconds:g} s")


def host_addresses(host: str, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """The IPv4 addresses `host` resolves to, looked up within `timeout` (else OSError)."""
    found = resolve(Endpoint(host, 1), Deadline(timeout), socket.AF_INET)
    return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in found))


def connect(endpoint: Endpoint, deadline: Deadline) -> socket.socket:
    """A TCP connection to the first of the endpoint's addresses that accepts one."""
    error: OSError = ConnectionRefusedError()
    for family, kind, proto, _, sockaddr in resolve(endpoint, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.left())
            sock.connect(sockaddr)
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def recv(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    """Exactly `size` bytes, or WrongService when the peer closes first."""
    data = bytearray()
    while len(data) < size:
        sock.settimeout(deadline.left())
        chunk = sock.recv(min(size - len(data), 2**20))
        if not chunk:
            raise WrongService("it closed the connection without answering")
        data += chunk
    return bytes(data)


def problem(exc: BaseException, deadline: Deadline) -> str:
    """What went wrong, in words, for a failed connect or read."""
    if isinstance(exc, WrongService):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return (f"no answer within {deadline.seconds:g} s (a host that drops the connection, "
                "or a server that does not accept it or does not reply)")
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def problem_at(endpoint: Endpoint, timeout: float,
                converse: Callable[[socket.socket, Deadline], None]) -> str | None:
    """Connect and run `converse` within `timeout`: None if it passed, else what went wrong."""
    deadline = Deadline(timeout)
    try:
        with connect(endpoint, deadline) as sock:
            converse(sock, deadline)
    except (OSError, WrongService) as exc:
        return problem(exc, deadline)
    return None


def unavailable(what: str, address: str, source: str, problem: str) -> EngineUnavailable:
    where = f" (${source})" if source else ""
    return EngineUnavailable(f"no {what} at {address}{where}: {problem}")


def bad_address(source: str, text: str, expected: str) -> EngineUnavailable:
    name = source or "address"
    return EngineUnavailable(f"{name}={text!r} is not {expected}")


