"""The temporary files and folders of parbench: one place that makes and removes them.

Each is made by `tempfile` (private, with an unpredictable name) and removed when the engine
stops, unless an error message names it (`keep`). A process stopped by a signal may get no time
to unwind (asv kills a benchmark process 0.1 s after Ctrl-C): its signal handler calls
`remove_all` first, which takes milliseconds.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

PREFIX = "parbench-"
_MADE: set[Path] = set()


def folder(what: str, within: Path | None = None) -> Path:
    """A new private folder `parbench-<what>-XXXX` (in `within`, else the temporary folder)."""
    made = lasting_folder(what, within)
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
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{what}-", suffix=suffix)
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


def remove_all() -> None:
    """Remove everything made here and not kept (from a signal handler too)."""
    for path in list(_MADE):
        remove(path)


atexit.register(remove_all)  # an engine never stopped: its files go when the process ends
