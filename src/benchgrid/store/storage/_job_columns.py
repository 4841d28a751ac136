"""The job table's parameters as columns, parsed by pyarrow (results() of a million jobs).

:meth:`JobTable.rows` parses each row into a Python dict; for a results
table only the columns are wanted. pyarrow's JSON reader parses the
JSON-lines parts in C++ into columns, several times faster. It is used
when its answer is exactly what the row path would give: every parameter a
number, string or boolean, present in every job; anything else (lists,
nested objects, a parameter some jobs lack, a null, an integer beyond 64
bits, which arrow would turn into an inexact double, a torn line) returns
None and the caller takes the row path.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "part-00000.jsonl").write_text(
...     '{"id":0,"key":"a","params":{"lr":0.1,"name":"x"}}\\n{"id":1,"key":"b","params":{"lr":1,"name":"y"}}\\n')
>>> ids, cols = param_columns(d, 2)
>>> ids.tolist(), cols["lr"].tolist(), cols["name"].tolist()
([0, 1], [0.1, 1.0], ['x', 'y'])
>>> _ = (d / "part-00000.jsonl").write_text('{"id":0,"key":"a","params":{"xs":[1,2]}}\\n')
>>> param_columns(d, 1) is None  # a list parameter: the row path
True
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ._safe_io import open_file

__all__ = ["param_columns"]


PART_SIZE = 10_000  # rows per part file of the job table (``_jobs`` takes it from here)


def _part_bytes(jobs_dir: Path, n_jobs: int) -> bytes | None:
    chunks = []
    for part in range(math.ceil(n_jobs / PART_SIZE)):
        try:
            with open_file(jobs_dir / f"part-{part:05d}.jsonl", "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        if not data.endswith(b"\n"):
            return None  # a torn last line (an interrupted add): the row path handles it
        chunks.append(data)
    return b"".join(chunks)


def param_columns(jobs_dir: Path, n_jobs: int) -> tuple[Any, dict[str, Any]] | None:
    """Job ids (a numpy array) and one numpy array per parameter of the first ``n_jobs`` jobs, or None.

    None means "use :meth:`JobTable.rows`": the fast path gives only what the
    row path gives, and is not taken for anything else.
    """
    if n_jobs <= 0:
        return None
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.json as pa_json
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    data = _part_bytes(jobs_dir, n_jobs)
    if data is None:
        return None
    try:
        table = pa_json.read_json(io.BytesIO(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None  # a type arrow cannot infer (mixed, beyond 64 bits, ...), or a damaged line
    if table.num_rows < n_jobs or "id" not in table.column_names or "params" not in table.column_names:
        return None
    table = table.slice(0, n_jobs)  # rows past the committed ones: an interrupted add
    ids_col = table.column("id")
    params = table.column("params").combine_chunks()
    if not pa.types.is_integer(ids_col.type) or not pa.types.is_struct(params.type) or params.null_count:
        return None
    ids = ids_col.to_numpy()
    if not np.array_equal(ids, np.arange(n_jobs)):
        return None  # a row at the wrong place: the row path reports it
    cols: dict[str, Any] = {}
    for i in range(params.type.num_fields):
        field = params.type.field(i)
        col = params.field(i)
        simple = (
            pa.types.is_int64(field.type) or pa.types.is_float64(field.type)
            or pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
            or pa.types.is_boolean(field.type)
        )
        if not simple or col.null_count:
            return None  # a list, an object, or a parameter some jobs lack (or set to null)
        values = col.to_numpy(zero_copy_only=False)
        if pa.types.is_float64(field.type) and bool(np.any(np.abs(values) >= 2.0**63)):
            return None  # maybe an integer beyond 64 bits, which arrow reads as a double: JSON keeps it exact
        cols[field.name] = values
    return ids, cols
