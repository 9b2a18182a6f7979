"""This process's environment variables, set for a while: for a framework that reads them when it
starts, and for the processes it starts then, which inherit them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def variables(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in `os.environ` until the block ends; then each variable as it was before (unset
    if it was), whatever the block did to it."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
