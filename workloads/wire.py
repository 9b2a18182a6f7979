"""Bytes over the wire: what a run on a cluster spread over emulated hosts (`cluster up --hosts`)
sends across the links between them.

An engine runs over an emulated network when its cluster address names a host of the network
that `cluster up` recorded for its `cluster_kind` (in the cluster_state folder). The count is
every host's sent bytes (the driver's too) after the run minus before it: each byte that crossed
a link, counted once, where it left. It includes what else the cluster sent meanwhile (its
heartbeats), which is little beside a workload's.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workloads.cluster import SUBNETS, Network, emulated
from workloads.runtime.errors import ParbenchError

if TYPE_CHECKING:
    from workloads.engines.base import Engine

#: How results and messages name a link without a rate.
UNSHAPED = "unshaped"


def link_label(link: str) -> str:
    """A network's link rate as results name it: `100mbit`, or `unshaped`."""
    return link or UNSHAPED


def network_of(engine: Engine) -> Network | None:
    """The emulated network the cluster `engine` is given runs on; None when it runs its own
    workers, or on a cluster on one machine, or one whose state is not in the cluster_state
    folder."""
    try:
        hosts = set(engine.cluster_hosts())
    except ParbenchError:  # not an address: the engine says so when it starts
        return None
    if engine.cluster_kind is None or not hosts:
        return None
    network = emulated(engine.cluster_kind, engine.settings.cluster_state)
    if network is None or not hosts & {h.address for h in network.hosts}:
        return None
    return network


def unmeasured(engine: Engine) -> str | None:
    """Why bytes over the wire are not counted for `engine` though its cluster address is on an
    emulated network (its state is elsewhere); None otherwise."""
    try:
        hosts = engine.cluster_hosts()
    except ParbenchError:
        return None
    emulated_hosts = [h for h in hosts if _in_subnets(h)]
    if not emulated_hosts or network_of(engine) is not None:
        return None
    return (f"bytes over the wire not counted: no cluster recorded in "
            f"{engine.settings.cluster_state} runs at {emulated_hosts[0]}; set PARBENCH_STATE to "
            "the --state folder of `cluster up`")


def _in_subnets(host: str) -> bool:
    try:
        return ipaddress.IPv4Address(host) in SUBNETS
    except ValueError:
        return False


def network_fields(network: Network) -> dict[str, Any]:
    """Where a run ran, as its JSON and the benchmarks' records name it: the cluster's hosts
    (the driver's not counted) and their links' rate."""
    return {"hosts": len(network.hosts), "link": link_label(network.link)}


@dataclass(frozen=True)
class Wire:
    """Bytes sent over an emulated network's links during a run."""

    bytes: int
    hosts: int  # the cluster's hosts (the driver's not counted)
    link: str  # `link_label`

    def fields(self) -> dict[str, Any]:
        """As a run's JSON and the benchmarks' records carry it."""
        return {"wire_bytes": self.bytes, "hosts": self.hosts, "link": self.link}

    def line(self) -> str:
        """`wire: 0.141 MB over 2 hosts (links 100mbit)` (MB = 10⁶ bytes)."""
        return f"wire: {self.bytes / 1e6:.3g} MB over {self.hosts} hosts (links {self.link})"


class Meter:
    """Counts what a network's hosts send between `start` and `read` (a few `ip` calls each:
    keep them outside what is timed)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._from = 0

    def start(self) -> None:
        self._from = self.network.sent_bytes()

    def read(self) -> Wire:
        """What was sent since `start`."""
        return Wire(self.network.sent_bytes() - self._from, **network_fields(self.network))
