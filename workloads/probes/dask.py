"""Is a Dask scheduler behind an address? Dask's handshake, then its `identity` call."""

from __future__ import annotations

import socket
import struct
import sys

from workloads.probes.wire import (
    DEFAULT_TIMEOUT,
    MAX_REPLY,
    Deadline,
    Endpoint,
    WrongService,
    bad_address,
    parse_endpoint,
    problem_at,
    recv,
    unavailable,
)
from workloads.runtime.net import LOOPBACK

#: Where Dask's scheduler listens by default, and its dashboard (often mistaken for it).
DASK_PORT = 8786
DASK_DASHBOARD_PORT = 8787


def parse_dask_address(text: str, source: str = "") -> Endpoint:
    """The endpoint of `tcp://HOST:PORT` (or `HOST:PORT`); EngineUnavailable otherwise."""
    scheme, sep, rest = text.partition("://")
    endpoint = parse_endpoint(rest if sep else text)
    if (sep and scheme != "tcp") or endpoint is None:
        raise bad_address(source, text, "a Dask scheduler address: give tcp://HOST:PORT, "
                                         f"e.g. tcp://{LOOPBACK}:{DASK_PORT}")
    return endpoint


def _dask_read(sock: socket.socket, deadline: Deadline) -> dict:
    """One message of Dask's TCP protocol (distributed/comm/tcp.py): its first frame, which
    holds the message as msgpack, decoded without Dask's hooks (so nothing is unpickled)."""
    import msgpack

    (size,) = struct.unpack("Q", recv(sock, 8, deadline))
    if not 16 <= size <= MAX_REPLY:
        raise WrongService("it does not speak Dask's protocol")
    data = recv(sock, size, deadline)
    (frames,) = struct.unpack_from("Q", data)
    start = 8 * (1 + frames)
    if not 1 <= frames <= 1024 or start + 8 > len(data):
        raise WrongService("it does not speak Dask's protocol")
    (first,) = struct.unpack_from("Q", data, 8)
    try:  # as Dask reads it: arrays as tuples (they can be keys), any key type
        message = msgpack.unpackb(data[start:start + first], raw=False, use_list=False,
                                  strict_map_key=False)
    except (ValueError, TypeError):  # msgpack's format errors are ValueErrors
        message = None
    if not isinstance(message, dict):
        raise WrongService("it does not speak Dask's protocol")
    return message


def _dask_write(sock: socket.socket, message: dict) -> None:
    """One message in Dask's framing: total length, frame count and lengths, the frames."""
    import msgpack

    frame = msgpack.packb(message, use_bin_type=True)
    packed = struct.pack("QQ", 1, len(frame)) + frame
    sock.sendall(struct.pack("Q", len(packed)) + packed)


def _dask_identity(sock: socket.socket, deadline: Deadline) -> None:
    """Complete Dask's handshake (the server speaks first), ask `identity`, expect a scheduler."""
    try:
        handshake = _dask_read(sock, deadline)
    except TimeoutError:
        raise WrongService(
            f"it accepted the connection but sent no Dask handshake within {deadline.seconds:g} s"
            f" (another kind of server? {DASK_DASHBOARD_PORT} is the dashboard; a scheduler "
            f"listens on {DASK_PORT} by default)") from None
    if "pickle-protocol" not in handshake:
        raise WrongService("it does not speak Dask's protocol")
    python = tuple(sys.version_info[:3])
    _dask_write(sock, {"compression": None, "python": python, "pickle-protocol": 5})
    _dask_write(sock, {"op": "identity", "reply": True})
    kind = str(_dask_read(sock, deadline).get("type", "unknown"))
    if not kind.endswith("Scheduler"):
        raise WrongService(f"it is a Dask {kind}, not a scheduler (give the scheduler's address)")


def check_dask_scheduler(address: str, timeout: float = DEFAULT_TIMEOUT, source: str = "") -> None:
    """Return once a Dask scheduler answers at `address`; else EngineUnavailable in one line.

    `source` names where the address came from (an environment variable) for the message.
    """
    problem = problem_at(parse_dask_address(address, source), timeout, _dask_identity)
    if problem:
        raise unavailable("Dask scheduler", address, source, problem)


