"""Is the expected service behind an address? Bounded checks of a Dask scheduler, a Spark
standalone master and a Ray head (its GCS), for the engines to run before they hand an address to
their framework.

Each check has one deadline for all of it (name lookup, connect, the reply) and reads a bounded
number of bytes, so a wrong service, a silent port and a connection nobody answers all fail
within `timeout` seconds, with one line that names the address and what was expected there.
Nothing the peer sends is unpickled: the replies are read as plain msgpack, protobuf fields or
plain bytes.
"""

from __future__ import annotations

import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from workloads.errors import EngineUnavailable

#: The only address parbench's own servers listen on unless told otherwise.
LOOPBACK = "127.0.0.1"
#: Seconds a check may take in all.
DEFAULT_TIMEOUT = 5.0
#: Where the frameworks listen by default (and what else is often mistaken for them).
DASK_PORT = 8786
DASK_DASHBOARD_PORT = 8787
SPARK_PORT = 7077
SPARK_WEB_PORT = 8080
RAY_PORT = 6379
#: The largest reply read from a peer (a scheduler lists its workers: ~2 KiB each).
MAX_REPLY = 64 * 2**20

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_LOCAL_MASTER = re.compile(r"^local(\[[^\]]*\])?$|^local-cluster\[[^\]]*\]$")


class _WrongService(Exception):
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


def _resolve(endpoint: Endpoint, deadline: Deadline, family: int = 0) -> list[tuple]:
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
    found = _resolve(Endpoint(host, 1), Deadline(timeout), socket.AF_INET)
    return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in found))


def _connect(endpoint: Endpoint, deadline: Deadline) -> socket.socket:
    """A TCP connection to the first of the endpoint's addresses that accepts one."""
    error: OSError = ConnectionRefusedError()
    for family, kind, proto, _, sockaddr in _resolve(endpoint, deadline):
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


def _recv(sock: socket.socket, size: int, deadline: Deadline) -> bytes:
    """Exactly `size` bytes, or _WrongService when the peer closes first."""
    data = bytearray()
    while len(data) < size:
        sock.settimeout(deadline.left())
        chunk = sock.recv(min(size - len(data), 2**20))
        if not chunk:
            raise _WrongService("it closed the connection without answering")
        data += chunk
    return bytes(data)


def _problem(exc: BaseException, deadline: Deadline) -> str:
    """What went wrong, in words, for a failed connect or read."""
    if isinstance(exc, _WrongService):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return (f"no answer within {deadline.seconds:g} s (a host that drops the connection, "
                "or a server that does not accept it or does not reply)")
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _problem_at(endpoint: Endpoint, timeout: float,
                converse: Callable[[socket.socket, Deadline], None]) -> str | None:
    """Connect and run `converse` within `timeout`: None if it passed, else what went wrong."""
    deadline = Deadline(timeout)
    try:
        with _connect(endpoint, deadline) as sock:
            converse(sock, deadline)
    except (OSError, _WrongService) as exc:
        return _problem(exc, deadline)
    return None


def _unavailable(what: str, address: str, source: str, problem: str) -> EngineUnavailable:
    where = f" (${source})" if source else ""
    return EngineUnavailable(f"no {what} at {address}{where}: {problem}")


def _bad_address(source: str, text: str, expected: str) -> EngineUnavailable:
    name = source or "address"
    return EngineUnavailable(f"{name}={text!r} is not {expected}")


# --------------------------------------------------------------------------- Dask


def parse_dask_address(text: str, source: str = "") -> Endpoint:
    """The endpoint of `tcp://HOST:PORT` (or `HOST:PORT`); EngineUnavailable otherwise."""
    scheme, sep, rest = text.partition("://")
    endpoint = parse_endpoint(rest if sep else text)
    if (sep and scheme != "tcp") or endpoint is None:
        raise _bad_address(source, text, "a Dask scheduler address: give tcp://HOST:PORT, "
                                         f"e.g. tcp://{LOOPBACK}:{DASK_PORT}")
    return endpoint


def _dask_read(sock: socket.socket, deadline: Deadline) -> dict:
    """One message of Dask's TCP protocol (distributed/comm/tcp.py): its first frame, which
    holds the message as msgpack, decoded without Dask's hooks (so nothing is unpickled)."""
    import msgpack

    (size,) = struct.unpack("Q", _recv(sock, 8, deadline))
    if not 16 <= size <= MAX_REPLY:
        raise _WrongService("it does not speak Dask's protocol")
    data = _recv(sock, size, deadline)
    (frames,) = struct.unpack_from("Q", data)
    start = 8 * (1 + frames)
    if not 1 <= frames <= 1024 or start + 8 > len(data):
        raise _WrongService("it does not speak Dask's protocol")
    (first,) = struct.unpack_from("Q", data, 8)
    try:  # as Dask reads it: arrays as tuples (they can be keys), any key type
        message = msgpack.unpackb(data[start:start + first], raw=False, use_list=False,
                                  strict_map_key=False)
    except (ValueError, TypeError):  # msgpack's format errors are ValueErrors
        message = None
    if not isinstance(message, dict):
        raise _WrongService("it does not speak Dask's protocol")
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
        raise _WrongService(
            f"it accepted the connection but sent no Dask handshake within {deadline.seconds:g} s"
            f" (another kind of server? {DASK_DASHBOARD_PORT} is the dashboard; a scheduler "
            f"listens on {DASK_PORT} by default)") from None
    if "pickle-protocol" not in handshake:
        raise _WrongService("it does not speak Dask's protocol")
    python = tuple(sys.version_info[:3])
    _dask_write(sock, {"compression": None, "python": python, "pickle-protocol": 5})
    _dask_write(sock, {"op": "identity", "reply": True})
    kind = str(_dask_read(sock, deadline).get("type", "unknown"))
    if not kind.endswith("Scheduler"):
        raise _WrongService(f"it is a Dask {kind}, not a scheduler (give the scheduler's address)")


def check_dask_scheduler(address: str, timeout: float = DEFAULT_TIMEOUT, source: str = "") -> None:
    """Return once a Dask scheduler answers at `address`; else EngineUnavailable in one line.

    `source` names where the address came from (an environment variable) for the message.
    """
    problem = _problem_at(parse_dask_address(address, source), timeout, _dask_identity)
    if problem:
        raise _unavailable("Dask scheduler", address, source, problem)


# --------------------------------------------------------------------------- Spark

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
        (size,) = struct.unpack(">q", _recv(sock, 8, deadline))
    except TimeoutError:
        raise _WrongService(
            f"it accepted the connection but gave no Spark RPC reply within {deadline.seconds:g}"
            f" s (another kind of server? {SPARK_WEB_PORT} is the web UI; a master listens on "
            f"{SPARK_PORT} by default)") from None
    if not 17 <= size <= MAX_REPLY:
        raise _WrongService("it does not speak Spark's RPC protocol")
    kind, request = struct.unpack(">bq", _recv(sock, 9, deadline))
    if request != _REQUEST_ID or kind not in (_RPC_RESPONSE, _RPC_FAILURE):
        raise _WrongService("it does not speak Spark's RPC protocol")
    if kind == _RPC_FAILURE:
        text = _recv(sock, min(size - 17, 4096), deadline)[4:].decode(errors="replace")
        if f"Could not find {_MASTER_ENDPOINT}" in text:
            raise _WrongService("it is a Spark process but not a standalone master (a worker or "
                                "a driver?)")
        raise _WrongService(f"its Spark RPC refused the request: {text.splitlines()[0][:160]}")


def is_local_master(master: str) -> bool:
    """`local`, `local[N]`, `local[*]`, `local[N,F]`, `local-cluster[...]`: nothing to probe."""
    return bool(_LOCAL_MASTER.match(master))


def parse_spark_master(url: str, source: str = "") -> list[Endpoint]:
    """The endpoints of `spark://HOST:PORT[,HOST:PORT...]`; EngineUnavailable otherwise."""
    scheme, sep, rest = url.partition("://")
    endpoints = [parse_endpoint(part) for part in rest.split(",")] if sep else [None]
    if scheme != "spark" or None in endpoints:
        raise _bad_address(source, url, "a Spark master URL: give spark://HOST:PORT for a "
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
        problem = _problem_at(endpoint, timeout / len(endpoints), _spark_master_reply)
        if problem is None:
            return
        problems.append(problem if len(endpoints) == 1 else f"{endpoint}: {problem}")
    raise _unavailable("Spark master", url, source, "; ".join(problems))


# --------------------------------------------------------------------------- Ray

# Ray's GCS is a gRPC server: HTTP/2 frames (RFC 9113) of a 9-byte header (length, type, flags,
# stream) and a payload; request headers as HPACK literals (RFC 7541, no table, no Huffman
# coding); the request as one gRPC message (a flag byte, a 4-byte length, protobuf). The probe
# asks NodeInfoGcsService/GetClusterId, which a GCS answers with a DATA frame holding its
# cluster id (field 2 of GetClusterIdReply), or, with token authentication on (Ray's default
# since 2.5x), with trailers refusing the missing token in Ray's words; another gRPC server (a
# raylet, a worker) ends the stream without data ("unimplemented"); anything else does not send
# HTTP/2's SETTINGS frame first.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_H2_DATA, _H2_HEADERS, _H2_RST_STREAM, _H2_SETTINGS, _H2_PING, _H2_GOAWAY = 0, 1, 3, 4, 6, 7
_H2_END_STREAM = _H2_ACK = 0x1
_H2_END_HEADERS = 0x4
_H2_STREAM = 1
_GCS_METHOD = "/ray.rpc.NodeInfoGcsService/GetClusterId"
_CLUSTER_ID_FIELD = 2
#: The start of the grpc-message a GCS with token authentication sends to a probe without one
#: (a plain literal in the trailers, as Ray's gRPC writes them).
_RAY_AUTH_REFUSAL = b"InvalidAuthToken"


def _h2_frame(kind: int, flags: int, stream: int = 0, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + struct.pack(">BBI", kind, flags, stream) + payload


def _hpack_literal(name: str, value: str) -> bytes:
    """One header field as an HPACK literal without indexing, with a new name."""
    fields = b""
    for text in (name.encode(), value.encode()):
        if len(text) >= 127:
            raise ValueError(f"header too long for the probe: {text!r}")
        fields += bytes([len(text)]) + text
    return b"\x00" + fields


def _gcs_request(authority: str) -> bytes:
    headers = b"".join(_hpack_literal(name, value) for name, value in (
        (":method", "POST"), (":scheme", "http"), (":path", _GCS_METHOD),
        (":authority", authority), ("content-type", "application/grpc"), ("te", "trailers")))
    empty_message = b"\x00" + struct.pack(">I", 0)
    return (_H2_PREFACE + _h2_frame(_H2_SETTINGS, 0)
            + _h2_frame(_H2_HEADERS, _H2_END_HEADERS, _H2_STREAM, headers)
            + _h2_frame(_H2_DATA, _H2_END_STREAM, _H2_STREAM, empty_message))


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _protobuf_fields(data: bytes) -> dict[int, int | bytes]:
    """The top-level fields of a protobuf message (varints and length-delimited only)."""
    found: dict[int, int | bytes] = {}
    at = 0
    while at < len(data):
        tag, at = _varint(data, at)
        if tag & 7 == 0:
            found[tag >> 3], at = _varint(data, at)
        elif tag & 7 == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated field")
            found[tag >> 3], at = data[at:at + size], at + size
        else:
            raise ValueError("unexpected wire type")
    return found


def _is_cluster_id_reply(payload: bytes) -> bool:
    """Whether a DATA payload is one gRPC message holding a cluster id."""
    if len(payload) < 5 or payload[0] != 0:
        return False
    (size,) = struct.unpack_from(">I", payload, 1)
    try:
        cluster_id = _protobuf_fields(payload[5:5 + size]).get(_CLUSTER_ID_FIELD)
    except ValueError:
        return False
    return isinstance(cluster_id, bytes) and bool(cluster_id)


def _ray_gcs_reply(sock: socket.socket, deadline: Deadline) -> None:
    """Ask for the cluster id over gRPC; return once a GCS has sent it."""
    host, port = sock.getpeername()[:2]
    sock.sendall(_gcs_request(str(Endpoint(host, port))))
    first = True
    while True:
        try:
            header = _recv(sock, 9, deadline)
        except TimeoutError:
            if not first:
                raise
            raise _WrongService(
                f"it accepted the connection but gave no gRPC answer within {deadline.seconds:g}"
                f" s (another kind of server? a Ray head's GCS listens on {RAY_PORT} by "
                "default)") from None
        size = int.from_bytes(header[:3], "big")
        kind, flags, stream = header[3], header[4], struct.unpack_from(">I", header, 5)[0]
        if first and kind != _H2_SETTINGS:
            raise _WrongService("it does not speak gRPC (HTTP/2)")
        first = False
        payload = _recv(sock, size, deadline)
        if kind == _H2_SETTINGS and not flags & _H2_ACK:
            sock.sendall(_h2_frame(_H2_SETTINGS, _H2_ACK))
        elif kind == _H2_PING and not flags & _H2_ACK:
            sock.sendall(_h2_frame(_H2_PING, _H2_ACK, 0, payload))
        elif kind == _H2_DATA and stream == _H2_STREAM:
            if _is_cluster_id_reply(payload):
                return
            raise _WrongService("its gRPC reply is not a Ray GCS's")
        elif kind == _H2_HEADERS and stream == _H2_STREAM and flags & _H2_END_STREAM:
            if _RAY_AUTH_REFUSAL in payload:
                return  # a GCS that wants its cluster's token, which Ray's client sends
            raise _WrongService("it speaks gRPC but is not a Ray GCS (a raylet or a worker? give "
                                f"the head's GCS address, port {RAY_PORT} by default)")
        elif kind in (_H2_RST_STREAM, _H2_GOAWAY):
            raise _WrongService("it speaks gRPC but is not a Ray GCS (a raylet or a worker? give "
                                f"the head's GCS address, port {RAY_PORT} by default)")


def parse_ray_address(text: str, source: str = "") -> Endpoint:
    """The endpoint of a Ray head's GCS, `HOST:PORT`; EngineUnavailable otherwise."""
    endpoint = parse_endpoint(text)
    if endpoint is None:
        raise _bad_address(source, text, "a Ray cluster address: give the head's GCS as "
                                         f"HOST:PORT, e.g. {LOOPBACK}:{RAY_PORT}")
    return endpoint


def check_ray(address: str, timeout: float = DEFAULT_TIMEOUT, source: str = "") -> None:
    """Return once a Ray head's GCS answers at `address`; else EngineUnavailable in one line."""
    problem = _problem_at(parse_ray_address(address, source), timeout, _ray_gcs_reply)
    if problem:
        raise _unavailable("Ray cluster (GCS)", address, source, problem)
