"""Network addresses parbench itself chooses."""

#: The only address parbench's own servers listen on unless told otherwise (`--host`).
LOOPBACK = "127.0.0.1"
