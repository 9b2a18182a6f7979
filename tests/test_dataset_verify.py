"""A dataset's integrity check: every file hashed against the manifest once, and again after
any change to it, even one that keeps its size and sets its modification time back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workloads.data import dataset as dataset_module
from workloads.data.dataset import VERIFIED, Dataset
from workloads.runtime.errors import DatasetError


@pytest.fixture
def copy(tmp_path: Path, data_dir: Path) -> Dataset:
    shutil.copytree(data_dir / "scale-0.01", tmp_path / "scale-0.01")
    return Dataset.open(tmp_path / "scale-0.01")


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files sha256 is computed for, in order."""
    seen: list[str] = []
    real = dataset_module.sha256

    def counting(path: Path, *args: int) -> str:
        seen.append(Path(path).name)
        return real(path, *args)

    monkeypatch.setattr(dataset_module, "sha256", counting)
    return seen


def test_a_file_found_whole_is_not_hashed_again(copy, hashed):
    copy.verify()
    assert sorted(hashed) == sorted(Path(n).name for n in copy.manifest["files"])
    hashed.clear()
    Dataset.open(copy.path).verify()
    assert hashed == []


def test_a_change_that_keeps_size_and_time_is_found(copy, hashed):
    copy.verify()
    part = copy.path / "matches" / "part-00001.csv"
    st = part.stat()
    raw = bytearray(part.read_bytes())
    raw[-3] = ord(chr(raw[-3]).swapcase())
    part.write_bytes(bytes(raw))
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns))
    hashed.clear()
    with pytest.raises(DatasetError, match="part-00001.csv no longer matches its sha256"):
        Dataset.open(copy.path).verify()
    assert hashed == ["part-00001.csv"]


def test_a_broken_record_means_hashing_again(copy, hashed):
    copy.verify()
    (copy.path / VERIFIED).write_text("{not json")
    hashed.clear()
    copy.verify()
    assert len(hashed) == len(copy.manifest["files"])


def test_a_record_that_cannot_be_written_means_hashing_every_time(copy, hashed):
    """As on a read-only dataset: the check passes, leaves nothing, and hashes each time."""
    (copy.path / VERIFIED).unlink(missing_ok=True)
    (copy.path / VERIFIED).mkdir()
    copy.verify()
    copy.verify()
    assert len(hashed) == 2 * len(copy.manifest["files"])
    assert sorted(p.name for p in copy.path.iterdir() if p.name.startswith(VERIFIED)) == [VERIFIED]
