"""Is a Ray head behind an address? One gRPC call to its GCS, `GetClusterId`."""

from __future__ import annotations

import socket
import struct

from workloads.probes.wire import (
    DEFAULT_TIMEOUT,
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

#: Where a Ray head's GCS listens by default.
RAY_PORT = 6379

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
            header = recv(sock, 9, deadline)
        except TimeoutError:
            if not first:
                raise
            raise WrongService(
                f"it accepted the connection but gave no gRPC answer within {deadline.seconds:g}"
                f" s (another kind of server? a Ray head's GCS listens on {RAY_PORT} by "
                "default)") from None
        size = int.from_bytes(header[:3], "big")
        kind, flags, stream = header[3], header[4], struct.unpack_from(">I", header, 5)[0]
        if first and kind != _H2_SETTINGS:
            raise WrongService("it does not speak gRPC (HTTP/2)")
        first = False
        payload = recv(sock, size, deadline)
        if kind == _H2_SETTINGS and not flags & _H2_ACK:
            sock.sendall(_h2_frame(_H2_SETTINGS, _H2_ACK))
        elif kind == _H2_PING and not flags & _H2_ACK:
            sock.sendall(_h2_frame(_H2_PING, _H2_ACK, 0, payload))
        elif kind == _H2_DATA and stream == _H2_STREAM:
            if _is_cluster_id_reply(payload):
                return
            raise WrongService("its gRPC reply is not a Ray GCS's")
        elif kind == _H2_HEADERS and stream == _H2_STREAM and flags & _H2_END_STREAM:
            if _RAY_AUTH_REFUSAL in payload:
                return  # a GCS that wants its cluster's token, which Ray's client sends
            raise WrongService("it speaks gRPC but is not a Ray GCS (a raylet or a worker? give "
                                f"the head's GCS address, port {RAY_PORT} by default)")
        elif kind in (_H2_RST_STREAM, _H2_GOAWAY):
            raise WrongService("it speaks gRPC but is not a Ray GCS (a raylet or a worker? give "
                                f"the head's GCS address, port {RAY_PORT} by default)")


def parse_ray_address(text: str, source: str = "") -> Endpoint:
    """The endpoint of a Ray head's GCS, `HOST:PORT`; EngineUnavailable otherwise."""
    endpoint = parse_endpoint(text)
    if endpoint is None:
        raise bad_address(source, text, "a Ray cluster address: give the head's GCS as "
                                         f"HOST:PORT, e.g. {LOOPBACK}:{RAY_PORT}")
    return endpoint


def check_ray(address: str, timeout: float = DEFAULT_TIMEOUT, source: str = "") -> None:
    """Return once a Ray head's GCS answers at `address`; else EngineUnavailable in one line."""
    problem = problem_at(parse_ray_address(address, source), timeout, _ray_gcs_reply)
    if problem:
        raise unavailable("Ray cluster (GCS)", address, source, problem)
