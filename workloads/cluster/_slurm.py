"""Slurm: munged, slurmctld and slurmd for one node (this machine) on 127.0.0.1, or slurmctld on
the first emulated host and a slurmd (a node) on each other one; run as root."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from workloads import probes
from workloads.runtime import scratch
from workloads.runtime.errors import ClusterError, ParbenchError

from ._procs import (
    LOOPBACK,
    ClusterInfo,
    free_port,
    port_answers,
    wait_until,
)

if TYPE_CHECKING:
    from ._core import Launcher

DEFAULT_PORT = 6817  # slurmctld; slurmd listens on the next port
INSTALL_HINT = (
    "run .ci/install-slurm.sh (or: apt-get install -y slurmctld slurmd slurm-client munge)"
)
BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scancel", "scontrol")
SOCKET_MAX = 100  # a unix socket path must fit in 108 bytes


def node_name() -> str:
    """This machine's short host name: the one node of the cluster."""
    return socket.gethostname().split(".")[0]


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        raise ParbenchError(f"slurm: {name} not found; {INSTALL_HINT}")
    return found


def _memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


def _nodes(info: ClusterInfo) -> str:
    """The NodeName lines: this machine on loopback, or each worker host at its address."""
    network = info.emulated()
    if network is None:
        return (f"NodeName={node_name()} NodeAddr={LOOPBACK} CPUs={info.workers} "
                f"RealMemory={_memory_mb()} State=UNKNOWN\n")
    share = _memory_mb() // (len(network.hosts) - 1)
    return "".join(f"NodeName={h.name} NodeAddr={h.address} NodeHostname={h.name} "
                   f"CPUs={len(h.cores)} RealMemory={share} State=UNKNOWN\n"
                   for h in network.hosts[1:])


def slurm_conf(info: ClusterInfo, munge_socket: str, run: Path) -> str:
    """slurm.conf with every path under the cluster's folder: one node on loopback, or a node
    per worker host (each daemon listens on every address of its host, which in a namespace are
    its emulated address and its own loopback)."""
    d = info.folder
    ctld, slurmd = info.ports["slurmctld"], info.ports["slurmd"]
    host = node_name()
    where = "one node on loopback" if not info.network else "a node per emulated worker host"
    listen = ("" if info.network else
              "# Listen on the address this host name resolves to (checked to be loopback), not "
              "on every one.\nCommunicationParameters=NoInAddrAny,NoCtldInAddrAny\n")
    return f"""\
# Written by parbench (python -m workloads cluster up slurm): {where}; logs go to
# slurmctld.log and slurmd*.log beside this file (the daemons run in the foreground).
ClusterName=parbench
SlurmctldHost={host}({info.host})
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
{listen}StateSaveLocation={d}/ctld
SlurmdSpoolDir={run}/spool/%n
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd-%n.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
{_nodes(info)}PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


def check_loopback_name(timeout: float = 5.0) -> None:
    """ParbenchError unless this host's name resolves to loopback only: with NoInAddrAny, Slurm's
    daemons listen on that address (the only choice besides every interface)."""
    name = socket.gethostname()
    try:
        found = probes.host_addresses(name, timeout)
    except OSError as exc:
        raise ParbenchError(f"slurm: this host's name {name!r} does not resolve ({exc}); Slurm's"
                            f" daemons listen on its address: map it to {LOOPBACK} in "
                            "/etc/hosts") from None
    outside = [a for a in found if not ipaddress.ip_address(a).is_loopback]
    if outside:
        raise ParbenchError(f"slurm: this host's name {name!r} resolves to {outside[0]}, where "
                            "Slurm's daemons would listen, reachable from other machines; map "
                            f"it to {LOOPBACK} in /etc/hosts to run the single-node cluster")


class SlurmBackend:
    """munged (own socket and key), `slurmctld -D`, `slurmd -D`, all with a generated slurm.conf."""

    default_timeout = 60.0
    has_web_port = False
    any_host = False
    port_span = 2  # slurmctld, slurmd

    def __init__(self) -> None:
        self._probe: str | None = None

    def check(self) -> None:
        for name in BINARIES:
            _binary(name)
        if os.geteuid() != 0:
            raise ParbenchError("slurm: the cluster runs slurmd as root; run as root")

    def ports(self, port: int | None, web_port: int | None, host: str) -> dict[str, int]:
        ctld = free_port(2, host=host) if port == 0 else port or DEFAULT_PORT
        return {"slurmctld": ctld, "slurmd": ctld + 1}

    def probe_port(self, info: ClusterInfo) -> int:
        return info.ports["slurmctld"]

    def _socket_dir(self, info: ClusterInfo) -> Path:
        """The 0755 folder `run/` for unix sockets (munged's; slurmstepd's in the spool).

        When the state path is too long for a socket path, `run` links to a folder in /tmp.
        """
        folder = info.folder / "run"
        if len(str(folder / "spool")) + 2 * len(node_name()) + 24 > SOCKET_MAX:
            folder.symlink_to(scratch.lasting_folder("slurm"))
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
        for sub in ("munge", "spool"):
            (folder / sub).mkdir(mode=0o755)
        return folder

    def _start_munge(self, info: ClusterInfo, launcher: Launcher, run: Path) -> str:
        key = info.folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = run / "munge" / "munge.socket.2"
        launcher.start(
            "munged",
            [_binary("munged"), "--foreground", "--force", f"--socket={sock}",
             f"--key-file={key}", f"--pid-file={info.folder / 'munged.pid'}",
             f"--seed-file={info.folder / 'munged.seed'}"],
            launcher.env(),
        )
        wait_until(info, sock.exists, launcher.timeout, "munged socket")
        return str(sock)

    def launch(self, info: ClusterInfo, launcher: Launcher) -> None:
        network = info.emulated()
        if network is None:
            check_loopback_name()
        run = self._socket_dir(info).resolve()
        (info.folder / "ctld").mkdir()
        sock = self._start_munge(info, launcher, run)
        conf = info.folder / "slurm.conf"
        conf.write_text(slurm_conf(info, sock, run))
        info.address = f"{node_name()}({info.host}):{info.ports['slurmctld']}"
        info.env = {"SLURM_CONF": str(conf)}
        env = launcher.env(SLURM_CONF=str(conf))
        slurmctld = [_binary("slurmctld"), "-D", "-f", str(conf)]
        launcher.start("slurmctld", network.hosts[0].wrap(slurmctld) if network else slurmctld,
                       env)
        ctld = info.ports["slurmctld"]
        wait_until(info, lambda: port_answers(ctld, info.host), launcher.timeout, "slurmctld")
        slurmd = [_binary("slurmd"), "-D", "-f", str(conf), "-N"]
        if network is None:
            (run / "spool" / node_name()).mkdir()
            launcher.start("slurmd", [*slurmd, node_name()], env)
            return
        for host in network.hosts[1:]:
            # A host name of its own (a UTS namespace): slurmd finds its node by its host name.
            (run / "spool" / host.name).mkdir()
            named = ["unshare", "--uts", "sh", "-c", f'hostname {host.name} && exec "$0" "$@"']
            launcher.start(f"slurmd-{host.name}", host.wrap([*named, *slurmd, host.name]), env)

    def _run(self, info: ClusterInfo, *cmd: str) -> str:
        """Run a Slurm client command against this cluster; its stdout, or "" on failure."""
        env = {**os.environ, **info.env}
        try:
            done = subprocess.run(
                [_binary(cmd[0]), *cmd[1:]], env=env, capture_output=True, text=True, timeout=15
            )
        except subprocess.TimeoutExpired:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    def ready(self, info: ClusterInfo) -> bool:
        """True once the node is idle and a probe job has run.

        slurmctld starts no job in its first ~3 s; the probe keeps that out of the first timing.
        """
        if self._probe is None:
            states = self._run(info, "sinfo", "-h", "-N", "-o", "%T").split()
            if len(states) != len(self._node_names(info)) or set(states) != {"idle"}:
                return False
            self._probe = self._run(
                info, "sbatch", "--parsable", "--job-name=parbench-ready", "--output=/dev/null",
                f"--chdir={info.folder}", "--wrap=true",
            ) or None
            return False
        job = self._run(info, "scontrol", "-o", "show", "job", self._probe)
        if "JobState=COMPLETED" in job:
            return True
        failed = ("FAILED", "CANCELLED", "NODE_FAIL", "BOOT_FAIL", "launch_failed", "launch failed")
        if any(word in job for word in failed):
            raise ClusterError(
                f"slurm: a probe job failed to run (see {info.folder / 'slurmd.log'}): {job[:160]}"
            )
        return False

    @staticmethod
    def _node_names(info: ClusterInfo) -> list[str]:
        network = info.emulated()
        return [node_name()] if network is None else [h.name for h in network.hosts[1:]]

    def close(self) -> None:
        return None

    def before_stop(self, info: ClusterInfo) -> None:
        """Cancel every job (they run outside slurmd's process group) before the daemons stop;
        only ever this cluster's (never the machine's own Slurm, whatever SLURM_CONF says)."""
        if "SLURM_CONF" not in info.env:
            return
        jobs = self._run(info, "squeue", "-h", "-o", "%A").split()
        if not jobs:
            return
        self._run(info, "scancel", "--quiet", *jobs)
        with contextlib.suppress(Exception):
            wait_until(info, lambda: not self._run(info, "squeue", "-h", "-o", "%A"), 10, "jobs")
