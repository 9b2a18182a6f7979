"""Arrow arrays built straight from numpy buffers.

`pyarrow.array` (and `take` with numpy indices, `pa.scalar`, `dictionary_encode`) import pandas
on first use, half a second or more of start-up that every `python -m datagen` and every worker
would pay for nothing; building arrays from buffers avoids it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow integer array over a numpy integer array (int32 or int64); null where `valid`
    is false."""
    values = np.ascontiguousarray(values)
    bitmap = None if valid is None else pa.py_buffer(
        np.packbits(np.asarray(valid, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [bitmap, pa.py_buffer(values)])


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


def iso_dates(days: np.ndarray, prefix: bytes = b"") -> pa.Array:
    """`prefix` + the ISO date of each day (int days since 1970-01-01), as a binary array."""
    text = np.datetime_as_string(np.asarray(days, np.int64).astype("datetime64[D]"))
    return binaries([prefix + d.encode("ascii") for d in text.tolist()])


def dictionary(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary-encoded string array: `values[codes[i]]` at i."""
    return pa.DictionaryArray.from_arrays(ints(np.asarray(codes, dtype=np.int32)),
                                          strings(values))


def encode(items: Sequence[str]) -> pa.DictionaryArray:
    """Dictionary-encode strings (sorted dictionary)."""
    values = sorted(set(items))
    index = {v: i for i, v in enumerate(values)}
    return dictionary(np.array([index[v] for v in items], dtype=np.int32), values)


def join(*columns: pa.Array) -> pa.Array:
    """Row-wise concatenation of binary arrays of equal length, no separator."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*columns, empty_binaries(len(columns[0])))


def parquet(table: pa.Table, statistics: Sequence[str], delta: Sequence[str] = ()) -> pa.Buffer:
    """The Parquet file of `table` in memory, with min/max statistics for `statistics` only.

    `store_schema=False`: dictionary-encoded string columns read back as plain strings. The
    `delta` columns (distinct, increasing integers such as ids) are DELTA_BINARY_PACKED, where a
    dictionary would only be built to be dropped; the others are dictionary-encoded.
    """
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, store_schema=False, write_statistics=list(statistics),
                   use_dictionary=[c for c in table.column_names if c not in delta],
                   column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED") or None)
    return sink.getvalue()


def values(array: pa.Array) -> pa.Buffer:
    """The bytes of all the strings of a binary array, back to back.

    Gathering strings with `take` and reading the value buffer assembles a file from pieces far
    faster than `b"".join` of Python bytes objects.
    """
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start, stop = offsets[array.offset], offsets[array.offset + len(array)]
    return array.buffers()[2][start:stop]
