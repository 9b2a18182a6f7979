"""The temporary files and folders of parbench: one place that makes and removes them.

Each is made by `tempfile` (private, with an unpredictable name that carries its owner's PID)
and removed when the engine stops, unless an error message names it (`keep`); what a process
killed outright leaves behind, the next command removes (`sweep`). A process stopped by a signal
may get no time to unwind (asv kills a benchmark process 0.1 s after Ctrl-C): its signal handler
calls `remove_all` first, which takes milliseconds.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

import psutil

PREFIX = "parbench-"
_MADE: set[Path] = set()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


def _owned(what: str) -> str:
    """The name prefix of a file or folder this process owns: `parbench-<what>.<PID>-`, the PID
    in base 36 (names stay short: Ray's socket paths live beneath one of them)."""
    return f"{PREFIX}{what}.{_base36(os.getpid())}-"


def folder(what: str, within: Path | None = None) -> Path:
    """A new private folder `parbench-<what>.<PID>-XXXXXX` (in `within`, else the temporary
    folder), removed when this process ends, or by `sweep` if it dies first."""
    parent = Path(within or tempfile.gettempdir())
    while True:
        made = parent / f"{_owned(what)}{secrets.token_hex(3)}"
        try:
            made.mkdir(mode=0o700)
            break
        except FileExistsError:
            continue
    _MADE.add(made)
    return made


def lasting_folder(what: str, within: Path | None = None) -> Path:
    """A folder as `folder` makes, that outlives this process: a cluster's, which `cluster down`
    removes (it knows it by `is_made_here`)."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{what}-", dir=within))


def is_made_here(path: Path) -> bool:
    """Whether `path` has a name this module gives (`folder`, `lasting_folder`, `file`)."""
    return path.name.startswith(PREFIX)


def file(what: str, suffix: str) -> tuple[Path, int]:
    """A new private file `parbench-<what>-XXXX<suffix>` and its open descriptor."""
    fd, name = tempfile.mkstemp(prefix=_owned(what), suffix=suffix)
    _MADE.add(Path(name))
    return Path(name), fd


def remove(path: Path | None) -> None:
    """Remove a file or folder made here, unless it was kept (nothing if None or gone)."""
    if path is None or path not in _MADE:
        return
    _MADE.discard(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def keep(path: Path) -> Path:
    """Leave `path` when everything else is removed: an error message names it."""
    _MADE.discard(path)
    return path


#: The name of what `folder` and `file` make: its owner's PID.
_OWNER = re.compile(rf"^{re.escape(PREFIX)}[A-Za-z0-9_-]+\.([0-9a-z]+)-")


def _owner(path: Path) -> int | None:
    """The PID of the process that made `path` (named by `folder` or `file`), else None."""
    match = _OWNER.match(path.name)
    return None if match is None else int(match.group(1), 36)


def made_by(pid: int, within: Path | None = None) -> list[Path]:
    """The files and folders that process `pid` made (in `within`, else the temporary folder)
    and that are still there."""
    where = Path(within or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        return [path for path in where.iterdir() if _owner(path) == pid]
    return []


def _owner_alive(path: Path, pid: int) -> bool:
    """Whether the process that made `path` still runs (not a later one under its PID)."""
    try:
        made = path.lstat().st_mtime
        return psutil.Process(pid).create_time() <= made + 1.0
    except (OSError, psutil.Error):
        return False


def sweep(within: Path | None = None) -> list[Path]:
    """Remove the files and folders of processes that died without removing them (killed by
    a signal they could not catch, or by the out-of-memory killer); the paths removed."""
    where = Path(within or tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for path in where.iterdir():
            owner = _owner(path)
            if owner is None or _owner_alive(path, owner):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def remove_all() -> None:
    """Remove everything made here and not kept (from a signal handler too)."""
    for path in list(_MADE):
        remove(path)


atexit.register(remove_all)  # an engine never stopped: its files go when the process ends
