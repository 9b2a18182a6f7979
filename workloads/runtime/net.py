"""Network addresses parbench itself chooses."""

import socket

#: The only address parbench's own servers listen on unless told otherwise (`--host`).
LOOPBACK = "127.0.0.1"


def facing(address: str) -> str:
    """This machine's IPv4 address on the interface that reaches `address` (loopback for
    loopback): where a driver listens for a cluster's workers to reach it back. Connecting a UDP
    socket only picks the route; nothing is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((address, 9))
        return str(sock.getsockname()[0])
