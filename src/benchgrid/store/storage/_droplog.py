"""The drop log: which jobs are dropped (never claimed again), read incrementally.

``queue/drops.log`` holds checksummed records written only under the project
lock, in the order they take effect::

    {"op": "drop",   "jobs": [3, 7, ...], "where": {"learner_id": "rf"}, "by": ..., "t": ...}
    {"op": "undrop", "jobs": [3, ...],    "where": ..., "by": ..., "t": ...}

A job is dropped when the last record naming it is a ``drop``. Records count
only up to the committed offset ``d`` that every cursor record of
``claims.log`` carries (as ``n`` commits job-table rows): a drop writes its
record, then commits it with a cursor record, so a writer killed between
the two leaves bytes past ``d`` that no reader uses and the next drop cuts
off. A claim reads the drop log only when the cursor's ``d`` is past what
its process has read already: nothing when nobody dropped anything.

Examples
--------
>>> import tempfile, pathlib
>>> from ._records import append_records
>>> p = pathlib.Path(tempfile.mkdtemp()) / "drops.log"
>>> _ = append_records(p, [{"op": "drop", "jobs": [1, 2, 3]}])
>>> d = append_records(p, [{"op": "undrop", "jobs": [2]}])
>>> log = DropLog(p)
>>> sorted(log.upto(d))            # the undrop is not committed yet
[1, 2, 3]
>>> sorted(log.upto(p.stat().st_size))
[1, 3]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ._records import _read_bytes, decode_lines

__all__ = ["DropLog", "DROP_OPS", "apply_drop_records"]

DROP_OPS = ("drop", "undrop")


def apply_drop_records(dropped: set[int], records: Iterable[dict[str, Any]]) -> set[int]:
    """Apply drop and undrop records, in order, to a set of dropped job ids (changed in place).

    Examples
    --------
    >>> sorted(apply_drop_records({1}, [{"op": "drop", "jobs": [2, 3]}, {"op": "undrop", "jobs": [1, 3]}]))
    [2]
    """
    for record in records:
        op, jobs = record.get("op"), record.get("jobs")
        if op not in DROP_OPS or not isinstance(jobs, list):
            continue
        if op == "drop":
            dropped.update(int(j) for j in jobs)
        else:
            dropped.difference_update(int(j) for j in jobs)
    return dropped


class DropLog:
    """The dropped jobs of one project, read incrementally up to a committed offset.

    Parameters
    ----------
    path : Path
        ``queue/drops.log``.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0  # committed bytes already applied
        self.dropped: set[int] = set()

    def upto(self, committed: int, *, create: bool = False) -> set[int]:
        """The dropped job ids once every record before byte ``committed`` is applied.

        Reads only the bytes between what was read before and ``committed``.
        ``create`` opens with ``O_CREAT`` (a deciding read under the lock:
        an NFS client's cached "no such file" never answers it).
        """
        if committed > self.offset:
            data = _read_bytes(self.path, self.offset, committed - self.offset, create=create)
            end = data.rfind(b"\n") + 1  # a committed offset always ends a line
            apply_drop_records(self.dropped, decode_lines(data[:end]))
            self.offset += end
        return self.dropped
