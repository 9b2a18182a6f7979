"""Arrow arrays built straight from numpy buffers.

`pyarrow.array` (and `take` with numpy indices, `pa.scalar`, `dictionary_encode`) import pandas
on first use, half a second or more of start-up that every `python -m datagen` and every worker
would pay for nothing; building arrays from buffers avoids it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def ints(values: np.ndarray) -> pa.Array:
    """An Arrow integer array over a numpy integer array (int32 or int64)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [None, pa.py_buffer(values)])


def binaries(items: Sequence[bytes], type: pa.DataType | None = None) -> pa.Array:
    """An Arrow binary (or string, with `type=pa.string()`) array of the byte strings."""
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("more than 2 GiB of strings in one array")
    return pa.Array.from_buffers(type or pa.binary(), len(items),
                                 [None, pa.py_buffer(offsets.astype(np.int32)),
                                  pa.py_buffer(b"".join(items))])


def strings(items: Sequence[str]) -> pa.Array:
    return binaries([s.encode("utf-8") for s in items], pa.string())


def empty_binaries(n: int) -> pa.Array:
    """n empty byte strings (a separator for `binary_join_element_wise`)."""
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(np.zeros(n + 1, np.int32)),
                                                  pa.py_buffer(b"")])


def bools(values: np.ndarray) -> pa.Array:
    bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def dates(days: np.ndarray) -> pa.Array:
    """date32 from numpy datetime64[D]."""
    return ints(days.astype("datetime64[D]").astype(np.int64).astype(np.int32)).view(pa.date32())


def dictionary(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary-encoded string array: `values[codes[i]]` at i."""
    return pa.DictionaryArray.from_arrays(ints(np.asarray(codes, dtype=np.int32)),
                                          strings(values))


def encode(items: Sequence[str]) -> pa.DictionaryArray:
    """Dictionary-encode strings (sorted dictionary)."""
    values = sorted(set(items))
    index = {v: i for i, v in enumerate(values)}
    return dictionary(np.array([index[v] for v in items], dtype=np.int32), values)


def values(array: pa.Array) -> pa.Buffer:
    """The bytes of all the strings of a binary array, back to back.

    Gathering strings with `take` and reading the value buffer assembles a file from pieces far
    faster than `b"".join` of Python bytes objects.
    """
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start, stop = offsets[array.offset], offsets[array.offset + len(array)]
    return array.buffers()[2][start:stop]
