"""Is a Spark standalone master behind an address? One request to its `Master` RPC endpoint."""

from __future__ import annotations

import re
import socket
import struct

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
from workloads.runtime.errors import first_line
from workloads.runtime.net import LOOPBACK

_LOCAL_MASTER = re.compile(r"^local(\[[^\]]*\])?$|^local-cluster\[[^\]]*\]$")
#: Where a Spark standalone master listens by default, and its web UI.
SPARK_PORT = 7077
SPARK_WEB_PORT = 8080

# Spark's RPC (common/network-common, core/rpc/netty): a frame is its length (8 bytes, itself
# included), a message type and the message. RpcRequest: id (8 bytes), body length (4), body.
# The body is a RequestMessage: sender and receiver addresses (a 0 byte: none), the endpoint
# name (Java's writeUTF), then the content in Java serialization: here a plain String, which
# the Master endpoint answers with an RpcResponse (an "unsupported message" failure, one ERROR
# line in the master's log), any other Spark process with an RpcFailure "Could not find Master".
_RPC_REQUEST, _RPC_RESPONSE, _RPC_FAILURE = 3, 4, 5
_REQUEST_ID = 0x5061726265  # "Parbe"
_MASTER_ENDPOINT = "Master"
_PROBE_TEXT = "parbench: is this a Spark standalone master? (a probe; ignore)"


def _java_utf(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _spark_request() -> bytes:
    java_string = b"\xac\xed\x00\x05\x74" + _java_utf(_PROBE_TEXT)  # stream header, TC_STRING
    body = b"\x00\x00" + _java_utf(_MASTER_ENDPOINT) + java_string
    header = struct.pack(">bqi", _RPC_REQUEST, _REQUEST_ID, len(body))
    return struct.pack(">q", 8 + len(header) + len(body)) + header + body


def _spark_master_reply(sock: socket.socket, deadline: Deadline) -> None:
    """Send the probe request; a reply from an endpoint named Master means a standalone master."""
    sock.sendall(_spark_request())
    try:
        (size,) = struct.unpack(">q", recv(sock, 8, deadline))
    except TimeoutError:
        raise WrongService(
            f"it accepted the connection but gave no Spark RPC reply within {deadline.seconds:g}"
            f" s (another kind of server? {SPARK_WEB_PORT} is the web UI; a master listens on "
            f"{SPARK_PORT} by default)") from None
    if not 17 <= size <= MAX_REPLY:
        raise WrongService("it does not speak Spark's RPC protocol")
    kind, request = struct.unpack(">bq", recv(sock, 9, deadline))
    if request != _REQUEST_ID or kind not in (_RPC_RESPONSE, _RPC_FAILURE):
        raise WrongService("it does not speak Spark's RPC protocol")
    if kind == _RPC_FAILURE:
        text = recv(sock, min(size - 17, 4096), deadline)[4:].decode(errors="replace")
        if f"Could not find {_MASTER_ENDPOINT}" in text:
            raise WrongService("it is a Spark process but not a standalone master (a worker or "
                                "a driver?)")
        reason = first_line(text)[:160] or "no reason given"
        raise WrongService(f"its Spark RPC refused the request: {reason}")


def is_local_master(master: str) -> bool:
    """`local`, `local[N]`, `local[*]`, `local[N,F]`, `local-cluster[...]`: nothing to probe."""
    return bool(_LOCAL_MASTER.match(master))


def parse_spark_master(url: str, source: str = "") -> list[Endpoint]:
    """The endpoints of `spark://HOST:PORT[,HOST:PORT...]`; EngineUnavailable otherwise."""
    scheme, sep, rest = url.partition("://")
    endpoints = [parse_endpoint(part) for part in rest.split(",")] if sep else [None]
    if scheme != "spark" or None in endpoints:
        raise bad_address(source, url, "a Spark master URL: give spark://HOST:PORT for a "
                                        f"standalone master (e.g. spark://{LOOPBACK}:{SPARK_PORT})"
                                        " or local[N]")
    return endpoints  # type: ignore[return-value]


def check_spark_master(url: str, timeout: float = DEFAULT_TIMEOUT, source: str = "") -> None:
    """Return once a Spark standalone master answers at `url` (one of its masters, for a
    `spark://h1:p1,h2:p2` list); else EngineUnavailable in one line. Each master gets an equal
    share of `timeout`."""
    endpoints = parse_spark_master(url, source)
    problems = []
    for endpoint in endpoints:
        problem = problem_at(endpoint, timeout / len(endpoints), _spark_master_reply)
        if problem is None:
            return
        problems.append(problem if len(endpoints) == 1 else f"{endpoint}: {problem}")
    raise unavailable("Spark master", url, source, "; ".join(problems))


