"""Emulated hosts: network namespaces on one private subnet, joined by a switch, links shaped.

    parbench-<tag>-sw   the switch: a bridge, one port per host and one for this machine
    parbench-<tag>-h0   host 0 (scheduler, master, head, slurmctld): eth0 at 10.231.S.1
    parbench-<tag>-h1   host 1 (a worker): eth0 at 10.231.S.2, ...
    parbench-<tag>-hd   the driver's host: eth0 at 10.231.S.254
    this machine        <tag>c at 10.231.S.253, unshaped: `up` and `status` probe through it

Every host is a veth pair: one end in the host (eth0), the other on the switch's bridge. A link
rate puts a token bucket (`tc ... tbf`) on both ends of every host's pair, each direction shaped.
No namespace has a default route: nothing in them reaches beyond the subnet. The names follow
from the tag alone, so `destroy` finds everything even when `create` was cut short.

The driver runs on a host of its own (`ip netns exec parbench-<tag>-hd ...`), not on this machine:
a Ray driver listens on every address of its host, which in a namespace are the emulated ones.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workloads.runtime import scratch
from workloads.runtime.errors import ClusterError, ParbenchError

#: The private range emulated networks take their /24 subnets from.
SUBNETS = ipaddress.IPv4Network("10.231.0.0/16")
#: The last address byte of the driver's host, and of this machine's (control) link.
DRIVER_HOST = 254
CONTROL = 253
#: The most hosts one network holds (addresses .1 up to .DRIVER_HOST - 1).
MAX_HOSTS = 64
#: Link rates `--link` takes: tc's bit units.
RATE = re.compile(r"^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$", re.IGNORECASE)
_UNIT = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}
#: The bucket holds at least this much: a veth hands tbf segments of up to 64 KiB (GSO), and a
#: bucket smaller than one segment would drop it.
MIN_BURST = 256 * 1024
#: Queue a packet at most this long before dropping it (tbf's `latency`).
QUEUE = "100ms"
#: The capability that network namespaces and tc need.
CAP_NET_ADMIN = 12
COMMAND_TIMEOUT = 15.0
#: Seconds `destroy` keeps trying.
DESTROY_WAIT = 5.0
#: Where `ip netns add` mounts a namespace for others to enter.
NETNS_DIR = "/run/netns"


def link_bits(rate: str) -> int:
    """Bits per second of a `--link` rate (`100mbit`, `1gbit`); ParbenchError otherwise."""
    match = RATE.match(rate.strip())
    if match is None or float(match.group(1)) <= 0:
        raise ParbenchError(f"--link {rate!r} is not a rate: give a number and a unit of bit, "
                            "kbit, mbit or gbit (e.g. 100mbit, 1gbit)")
    bits = int(float(match.group(1)) * _UNIT[match.group(2).lower()])
    if bits < 10**5:
        raise ParbenchError(f"--link {rate} is below 100kbit, too slow for any cluster to start")
    return bits


def can_make() -> str | None:
    """None when this process can make namespaces and shape links, else why not (one line)."""
    missing = [tool for tool in ("ip", "tc", "nsenter") if shutil.which(tool) is None]
    if missing:
        return (f"--hosts needs the {', '.join(missing)} command(s) (apt-get install iproute2 "
                "util-linux)")
    effective = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                effective = int(line.split()[1], 16)
    if os.geteuid() != 0 and not effective >> CAP_NET_ADMIN & 1:
        return ("--hosts makes network namespaces, which needs root or CAP_NET_ADMIN; run as "
                "root (sudo) or leave out --hosts for a cluster on 127.0.0.1")
    return None


def _ip(*args: str, check: bool = True) -> str:
    """Run `ip ARGS`; its stdout. ClusterError naming the command when it fails."""
    return _run(["ip", *args], check)


def _run(cmd: list[str], check: bool = True) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{' '.join(cmd)}: {exc}") from None
    if check and done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise ClusterError(f"cannot make the emulated network: `{' '.join(cmd)}`: {why}")
    return done.stdout


def _taken_subnets() -> list[ipaddress.IPv4Network]:
    """The subnets this machine already routes (its own and other emulated networks)."""
    taken = []
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        with contextlib.suppress(ValueError):
            if dst and dst != "default":
                taken.append(ipaddress.IPv4Network(dst, strict=False))
    return taken


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 of SUBNETS that nothing on this machine routes to."""
    taken = _taken_subnets()
    for subnet in SUBNETS.subnets(new_prefix=24):
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise ClusterError(f"no free /24 left in {SUBNETS} for an emulated network; run `down` "
                       "for the clusters you no longer need")


def core_shares(hosts: int) -> list[list[int]]:
    """Each host's cores: the usable cores split into `hosts` runs (shared round-robin when
    there are more hosts than cores)."""
    cores = sorted(os.sched_getaffinity(0))
    if hosts > len(cores):
        return [[cores[i % len(cores)]] for i in range(hosts)]
    return [cores[i * len(cores) // hosts:(i + 1) * len(cores) // hosts] for i in range(hosts)]


@dataclass(frozen=True)
class Host:
    """One emulated host."""

    name: str
    netns: str
    address: str
    cores: tuple[int, ...]

    def wrap(self, cmd: list[str]) -> list[str]:
        """`cmd` run on this host: in its network namespace, on its cores (both exec: the same
        PID). nsenter rather than `ip netns exec`, which would also remount /sys and hide the
        cgroup file system that Slurm's and Ray's daemons read."""
        cores = ",".join(map(str, self.cores))
        return ["nsenter", f"--net={NETNS_DIR}/{self.netns}", "taskset", "-c", cores, *cmd]


@dataclass
class Network:
    """An emulated network of `hosts` plus this machine (the driver's host)."""

    tag: str
    subnet: str
    #: The cluster's hosts (the first the scheduler's), and the driver's.
    hosts: list[Host]
    driver: Host
    #: Every host's link rate (`--link`); "": unshaped.
    link: str = ""

    @classmethod
    def plan(cls, count: int, link: str = "") -> Network:
        """The network to make for `count` hosts and the driver's (nothing is made yet); the
        driver's host may use every core, as a driver on this machine would."""
        tag = scratch.PREFIX.strip("-")[:2] + os.urandom(3).hex()
        subnet = free_subnet()
        shares = core_shares(count)
        hosts = [Host(f"h{i}", f"{scratch.PREFIX}{tag}-h{i}", str(subnet[i + 1]), tuple(shares[i]))
                 for i in range(count)]
        driver = Host("hd", f"{scratch.PREFIX}{tag}-hd", str(subnet[DRIVER_HOST]),
                      tuple(sorted(os.sched_getaffinity(0))))
        return cls(tag, str(subnet), hosts, driver, link)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Network:
        """The network a state file records; ValueError for anything else."""
        try:
            hosts = [Host(**{**h, "cores": tuple(h["cores"])})
                     for h in [*data["hosts"], data["driver"]]]
            network = cls(str(data["tag"]), str(data["subnet"]), hosts[:-1], hosts[-1],
                          str(data["link"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"'network' is not a network parbench made ({exc})") from None
        network.check()
        return network

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        """ValueError unless every name is one this module makes (a state file is input)."""
        if not re.fullmatch(r"[a-z0-9]{8}", self.tag):
            raise ValueError(f"network tag {self.tag!r}")
        subnet = ipaddress.IPv4Network(self.subnet)
        if not subnet.subnet_of(SUBNETS):
            raise ValueError(f"subnet {self.subnet} is not in {SUBNETS}")
        for host in self.everyone:
            if not host.netns.startswith(f"{scratch.PREFIX}{self.tag}-h"):
                raise ValueError(f"namespace {host.netns!r}")
            if ipaddress.IPv4Address(host.address) not in subnet:
                raise ValueError(f"address {host.address} is not in {self.subnet}")

    # ------------------------------------------------------------------ names

    @property
    def everyone(self) -> list[Host]:
        """The cluster's hosts and the driver's."""
        return [*self.hosts, self.driver]

    @property
    def switch(self) -> str:
        return f"{scratch.PREFIX}{self.tag}-sw"

    @property
    def control_iface(self) -> str:
        """This machine's end of its link to the switch."""
        return f"{self.tag}c"

    @property
    def prefix_length(self) -> int:
        return ipaddress.IPv4Network(self.subnet).prefixlen

    def namespaces(self) -> list[str]:
        return [self.switch, *(h.netns for h in self.everyone)]

    # ------------------------------------------------------------------ making and removing

    def create(self) -> None:
        """Make the switch, the hosts (their links shaped when `link` is set) and this machine's
        link."""
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for host in self.everyone:
            inside, port = f"{self.tag}{host.name}", f"{self.tag}s{host.name[1:]}"
            _ip("netns", "add", host.netns)
            _ip("link", "add", inside, "type", "veth", "peer", "name", port)
            _ip("link", "set", inside, "netns", host.netns)
            _ip("-n", host.netns, "link", "set", inside, "name", "eth0")
            self._plug(port, shaped=True)
            _ip("-n", host.netns, "addr", "add", f"{host.address}/{self.prefix_length}",
                "dev", "eth0")
            _ip("-n", host.netns, "link", "set", "lo", "up")
            _ip("-n", host.netns, "link", "set", "eth0", "up")
            self._shape(host.netns, "eth0")
        port = f"{self.tag}sc"
        _ip("link", "add", self.control_iface, "type", "veth", "peer", "name", port)
        self._plug(port, shaped=False)
        control = ipaddress.IPv4Network(self.subnet)[CONTROL]
        _ip("addr", "add", f"{control}/{self.prefix_length}", "dev", self.control_iface)
        _ip("link", "set", self.control_iface, "up")

    def _plug(self, port: str, shaped: bool) -> None:
        """Move a veth end onto the switch's bridge (the direction towards its host shaped)."""
        _ip("link", "set", port, "netns", self.switch)
        _ip("-n", self.switch, "link", "set", port, "master", "br0")
        _ip("-n", self.switch, "link", "set", port, "up")
        if shaped:
            self._shape(self.switch, port)

    def _shape(self, netns: str, iface: str) -> None:
        if not self.link:
            return
        bits = link_bits(self.link)
        burst = max(MIN_BURST, bits // 8 // 100)  # 10 ms of the rate
        _run(["tc", "-n", netns, "qdisc", "add", "dev", iface, "root", "tbf", "rate", str(bits),
              "burst", str(burst), "latency", QUEUE])

    def destroy(self) -> None:
        """Remove every namespace and link of this network (those that exist); deleting a
        namespace deletes the veth ends in it, and with them their peers and qdiscs. A
        namespace still held (a process in it only now ending) is tried again for a while;
        ClusterError naming what is left after that."""
        deadline = time.monotonic() + DESTROY_WAIT
        while True:
            left = self.leftovers()
            for name in left:
                if name == self.control_iface:
                    _ip("link", "del", name, check=False)
                else:
                    _ip("netns", "del", name, check=False)
            left = self.leftovers()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if left:
            raise ClusterError(f"cannot remove the emulated network's {', '.join(left)}; run "
                               "`down` again, or `ip netns del NAME` for each")

    def leftovers(self) -> list[str]:
        """What of this network still exists (namespaces, this machine's link)."""
        existing = set(_ip("netns", "list", check=False).split())
        left = [name for name in self.namespaces() if name in existing]
        if _ip("link", "show", self.control_iface, check=False):
            left.append(self.control_iface)
        return left

    # ------------------------------------------------------------------ what crossed the wire

    def sent_bytes(self) -> int:
        """Bytes every host (the driver's too) has sent into the switch so far: each byte that
        crossed the network counted once, where it left."""
        return sum(_sent(host.netns, "eth0") for host in self.everyone)

    def describe(self) -> str:
        """One line: hosts, addresses, link."""
        hosts = ", ".join(f"{h.name} {h.address} (cores {','.join(map(str, h.cores))})"
                          for h in self.hosts)
        return (f"{len(self.hosts)} hosts on {self.subnet}: {hosts}; links "
                f"{self.link or 'unshaped'}; drivers run on {self.driver.address}: ip netns exec "
                f"{self.driver.netns} COMMAND")


def _sent(netns: str, iface: str) -> int:
    out = _ip("-n", netns, "-j", "-s", "link", "show", "dev", iface, check=False)
    try:
        return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])
    except (ValueError, LookupError, TypeError):
        return 0
