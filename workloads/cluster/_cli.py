"""Command line: `up|down|status [dask|spark|slurm|ray] [--workers N] [--state DIR] ...`."""

from __future__ import annotations

import argparse
import sys

from workloads.runtime import console
from workloads.runtime.errors import ParbenchError

from ._core import COMMAND, KINDS, check_request, down, start, state_root, status

PROG = COMMAND
#: The options of `up` only (`down` and `status` take the kind and --state).
UP_OPTIONS = ("workers", "port", "web_port", "timeout", "host", "hosts", "link")


def _parser() -> argparse.ArgumentParser:
    parser = console.ArgumentParser(prog=PROG,
                                    description="Start, stop and inspect clusters on 127.0.0.1 "
                                                "or on emulated hosts (--hosts).")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("kind", nargs="?", help=f"one of {', '.join(KINDS)} (all for down/status)")
    parser.add_argument("--state", help="state folder (default: the cluster_state setting, "
                                        "see `python -m workloads settings`)")
    up = parser.add_argument_group("up only")
    up.add_argument("--workers", type=int, help="dask workers, spark worker cores, slurm or ray "
                                                "CPUs (default: one per core)")
    up.add_argument("--port", type=int, help="scheduler/master/slurmctld/GCS port (0: any free)")
    up.add_argument("--web-port", type=int, help="dask scheduler's HTTP port (default: any free)"
                                                 " or spark master's web UI (8080); 0: any free")
    up.add_argument("--timeout", type=float, help="seconds to wait until ready")
    up.add_argument("--host", help="IPv4 address of this machine to listen on instead of "
                                   "127.0.0.1 (dask, spark): reachable from other machines")
    up.add_argument("--hosts", type=int, help="spread the cluster over N emulated hosts (network "
                                              "namespaces; root only): the scheduler on the "
                                              "first, a worker on each other one")
    up.add_argument("--link", help="with --hosts: shape every host's link to this rate (e.g. "
                                   "100mbit, 1gbit; default unshaped)")
    return parser


def _up(args: argparse.Namespace) -> int:
    if not args.kind:
        raise ParbenchError(f"up needs a cluster kind ({', '.join(KINDS)})")
    req, impl = check_request(args.kind, args.workers, args.port, args.web_port, args.timeout,
                              args.host, args.hosts, args.link)
    info, already = start(req, impl, args.state)
    if already:
        note = f"already running at {info.address} ({info.capacity})"
    else:
        note = f"up at {info.address} ({info.capacity}, ready in {info.up_seconds:g} s)"
    print(f"{args.kind}: {note}; state in {info.state_file}", file=sys.stderr)
    network = info.emulated()
    if network is not None:
        print(f"{args.kind}: {network.describe()}", file=sys.stderr)
    for line in info.exports():
        print(line)
    return 0


def _down(args: argparse.Namespace) -> int:
    root = state_root(args.state)
    stopped_any = False
    for kind in [args.kind] if args.kind else KINDS:
        stopped = down(kind, root)
        stopped_any |= stopped
        if stopped or args.kind:
            print(f"{kind}: {'stopped' if stopped else 'not running'}")
    if not (args.kind or stopped_any):
        print("no cluster running")
    return 0


def _status(args: argparse.Namespace) -> int:
    found = status(args.kind, args.state)
    for entry in found:
        print(entry.line)
    return 1 if args.kind and not found[0].running else 0


def _only_for_up(args: argparse.Namespace) -> None:
    given = [f"--{name.replace('_', '-')}" for name in UP_OPTIONS
             if getattr(args, name) is not None]
    if args.action != "up" and given:
        raise ParbenchError(f"{args.action} takes only a kind and --state, not {given[0]} "
                            f"(see {PROG} --help)")


def main(argv: list[str] | None = None) -> int:
    """Run the cluster CLI; returns the exit status (0 ok, 1 failure, 2 bad input)."""

    def command() -> int:
        args = _parser().parse_args(argv)
        _only_for_up(args)
        return {"up": _up, "down": _down, "status": _status}[args.action](args)

    return console.run(PROG, command)
