"""The helpers of `workloads.runtime` that every package shares: each defined once, each checked
here against what it must leave behind."""

from __future__ import annotations

import os

import pytest

from workloads.runtime import environment
from workloads.runtime.errors import first_line


class Silent(Exception):
    """An exception whose message is empty, as DuckDB's and Ray's can be."""


@pytest.mark.parametrize("message", ["", "  ", "\n\n"])
def test_first_line_of_an_empty_message_is_the_type(message: str) -> None:
    assert first_line(Silent(message)) == "Silent"
    assert first_line(message) == ""


def test_first_line_is_the_first_with_text() -> None:
    error = ValueError("\n  cannot read a.csv: line 3\nTraceback (most recent call last):\n")
    assert first_line(error) == "cannot read a.csv: line 3"
    assert first_line("java.io.IOException: gone\n\tat Foo.bar") == "java.io.IOException: gone"


def test_variables_are_as_before_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBENCH_TEST_SET", "before")
    monkeypatch.delenv("PARBENCH_TEST_UNSET", raising=False)
    with pytest.raises(KeyError):  # restored on the way out of an error too
        with environment.variables({"PARBENCH_TEST_SET": "1", "PARBENCH_TEST_UNSET": "2"}):
            assert (os.environ["PARBENCH_TEST_SET"], os.environ["PARBENCH_TEST_UNSET"]) == \
                ("1", "2")
            del os.environ["PARBENCH_TEST_SET"]  # what the block does to them does not last
            os.environ["PARBENCH_TEST_UNSET"] = "changed"
            raise KeyError("inside")
    assert os.environ["PARBENCH_TEST_SET"] == "before"
    assert "PARBENCH_TEST_UNSET" not in os.environ
