"""What `make bench HOSTS=N LINK=RATE` runs: every engine that runs on a cluster, over N emulated
hosts (network namespaces; root only), the links between them shaped to RATE.

`python -m benchmarks.network_plan machine BASE N [RATE]` prints the machine the results are
stored as (`BASE-hosts-N-RATE`, `-unshaped` without a rate: see `reports.network`).
`python -m benchmarks.network_plan run N [RATE] -- COMMAND...` runs, for each cluster kind (Dask,
Spark, Ray) in turn: `cluster up KIND --hosts N [--link RATE]` in a temporary state folder,
COMMAND (an `asv run`) with asv's `--bench` pattern of that kind's engines' timings appended,
inside the driver's host and pointed at the cluster, then `cluster down`, also when COMMAND
fails or is interrupted. A kind whose cluster cannot start is reported and the next one runs;
the exit status is the first failure's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from reports.network import machine_name
from reports.sidecar import suite_name
from workloads import cluster, engines
from workloads.runtime import console
from workloads.runtime.errors import EXIT_FAILED, ParbenchError

PROG = "python -m benchmarks.network_plan"
#: The cluster kinds measured over a network (Slurm's batch jobs read their input from files,
#: and its daemons run on this machine).
KINDS = ("dask", "spark", "ray")
#: Seconds an interrupted COMMAND has to stop before it is killed.
STOP_WAIT = 10.0


def bench_pattern(kind: str) -> str:
    """asv's --bench pattern of the timings of the engines that run on a `kind` cluster."""
    suites = "|".join(suite_name(n) for n in engines.names()
                      if engines.engine_class(n).cluster_kind == kind)
    return rf"^bench_engines\.(?:{suites})\.time_"


def run_on(kind: str, hosts: int, link: str, command: list[str], state: str) -> int:
    """COMMAND on a `kind` cluster over `hosts` emulated hosts: its exit status."""
    with cluster.running(kind, state_dir=state, hosts=hosts, link=link or None) as info:
        network = info.emulated()
        assert network is not None  # asked for with hosts
        print(f"{PROG}: {kind}: {network.describe()}", file=sys.stderr, flush=True)
        # One worker per worker host: the cluster's whole size.
        env = {**os.environ, **info.env, "PARBENCH_STATE": state,
               "PARBENCH_WORKERS": str(len(network.hosts) - 1)}
        argv = ["ip", "netns", "exec", network.driver.netns, *command,
                "--bench", bench_pattern(kind)]
        return _wait(subprocess.Popen(argv, env=env))


def _wait(proc: subprocess.Popen) -> int:
    """Its exit status; interrupted, it is asked to stop (then killed) before the cluster goes
    down under it (Ctrl-C reaches it anyway: it is in the terminal's process group)."""
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def run(hosts: int, link: str, command: list[str]) -> int:
    """`run_on` for every kind in turn, each in a temporary state folder of its own."""
    status = 0
    for kind in KINDS:
        with tempfile.TemporaryDirectory(prefix="parbench-net-") as state:
            try:
                code = run_on(kind, hosts, link, command, state)
            except ParbenchError as exc:  # its cluster did not start: the others still run
                console.report(PROG, f"{kind}: not measured: {exc}")
                code = EXIT_FAILED
        status = status or code
    return status


def _hosts(text: str) -> int:
    if not text.isdigit():
        raise ParbenchError(f"HOSTS must be a number of hosts, 2 or more (got {text!r})")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv

    def go() -> int:
        cut = args.index("--") if "--" in args else len(args)
        head, command = args[:cut], args[cut + 1:]
        if head[:1] == ["machine"] and len(head) in (3, 4):
            print(machine_name(head[1], _hosts(head[2]), (head[3:] or [""])[0]))
            return 0
        if head[:1] == ["run"] and len(head) in (2, 3) and command:
            return run(_hosts(head[1]), (head[2:] or [""])[0], command)
        raise ParbenchError(f"usage: {PROG} machine BASE HOSTS [LINK] | "
                            f"{PROG} run HOSTS [LINK] -- COMMAND...")

    return console.run(PROG, go)


if __name__ == "__main__":
    sys.exit(main())
