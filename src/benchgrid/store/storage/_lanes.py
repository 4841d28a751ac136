"""Memory lanes: one queue cursor per class of expected memory, so a worker claims what fits.

A project created with a ``memory_key`` (a job column of expected peak GB)
sorts its jobs into classes whose upper bounds grow by √2 from 0.5 GB
(0.5, 0.71, 1, 1.41, 2, … GB). Each class is a *lane*: an append-only file
of job ids (``queue/lane-07.ids``, fixed-width lines, so entry *i* is at
byte ``i * LANE_WIDTH``) and its own pair ``[pos, rq]`` in the cursor that
every claim record carries. A worker with a memory budget claims from the
largest lane whose bound (plus a margin) fits its budget, then the next
smaller, so big workers take big jobs first and small workers are never
blocked behind them; a claim still reads one tail and a few lines (O(1)).
Jobs without an expected size go to lane 0. A job that runs out of memory
is put back in the next lane (it escalates instead of burning attempts).

Examples
--------
>>> lane_of(3.0), MEM_CLASSES_GB[lane_of(3.0)]
(6, 4.0)
>>> lane_of(None)
0
>>> lanes_for_budget(4.4)[:3]
[6, 5, 4]
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable

from ._safe_io import open_nofollow

__all__ = [
    "MEM_CLASSES_GB",
    "N_LANES",
    "LANE_WIDTH",
    "MEM_MARGIN",
    "lane_of",
    "lanes_for_budget",
    "lane_above",
    "lane_path",
    "append_lane_ids",
    "read_lane_ids",
    "expected_gb",
    "lane_size",
    "lane_index",
    "split_by_lane",
]

MEM_CLASSES_GB: tuple[float, ...] = tuple(round(0.5 * 2 ** (k / 2), 2) for k in range(24))
N_LANES = len(MEM_CLASSES_GB)
LANE_WIDTH = 12  # "%011d\n"
MEM_MARGIN = 0.1  # a worker takes a lane whose bound plus 10% fits its budget


def expected_gb(params: dict[str, Any], memory_key: str | None) -> float | None:
    """The expected peak GB of a job, from its ``memory_key`` column (None when unknown)."""
    if not memory_key:
        return None
    value = params.get(memory_key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def lane_of(mem_gb: float | None) -> int:
    """The smallest class whose bound holds ``mem_gb`` (lane 0 when unknown)."""
    if mem_gb is None:
        return 0
    for k, bound in enumerate(MEM_CLASSES_GB):
        if mem_gb <= bound + 1e-9:
            return k
    return N_LANES - 1


def lanes_for_budget(budget_gb: float | None, margin: float = MEM_MARGIN) -> list[int]:
    """Lanes a worker with ``budget_gb`` may claim from, largest first (all lanes when unknown).

    Lane 0 (jobs of unknown size and the smallest ones) is always allowed.
    """
    if budget_gb is None:
        return list(range(N_LANES - 1, -1, -1))
    fit = [k for k, bound in enumerate(MEM_CLASSES_GB) if bound * (1 + margin) <= budget_gb + 1e-9]
    return sorted(set(fit) | {0}, reverse=True)


def lane_above(lane: int, budget_gb: float | None) -> int:
    """The lane a job goes to when it ran out of memory in ``lane`` on a worker of ``budget_gb``.

    Above its own lane and above the budget it did not fit in; ``N_LANES``
    when no larger class is left.

    Examples
    --------
    >>> MEM_CLASSES_GB[lane_above(0, 1.0)], MEM_CLASSES_GB[lane_above(0, None)]
    (1.41, 0.71)
    >>> lane_above(N_LANES - 1, None) == N_LANES
    True
    """
    above_budget = lane_of(budget_gb * 1.0001) if budget_gb is not None else lane + 1
    if budget_gb is not None and budget_gb * 1.0001 > MEM_CLASSES_GB[-1]:
        above_budget = N_LANES
    return max(lane + 1, above_budget)


def lane_path(queue_dir: Path, lane: int) -> Path:
    return queue_dir / f"lane-{lane:02d}.ids"


def append_lane_ids(queue_dir: Path, by_lane: dict[int, list[int]], n_committed: int) -> None:
    """Append job ids to their lanes; call under the project lock before committing ``n``.

    Entries of an interrupted add (ids >= ``n_committed``) are cut first, so
    they can never be taken for the new jobs.
    """
    for lane, ids in sorted(by_lane.items()):
        path = lane_path(queue_dir, lane)
        fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            keep = size - size % LANE_WIDTH
            while keep and int(os.pread(fd, LANE_WIDTH, keep - LANE_WIDTH)) >= n_committed:
                keep -= LANE_WIDTH
            if keep != size:
                os.ftruncate(fd, keep)
            os.pwrite(fd, b"".join(b"%011d\n" % i for i in ids), keep)
        finally:
            os.close(fd)


def read_lane_ids(queue_dir: Path, lane: int, pos: int, count: int, n_committed: int) -> list[int]:
    """Up to ``count`` committed job ids of ``lane`` from entry ``pos`` on."""
    try:
        fd = open_nofollow(lane_path(queue_dir, lane), os.O_RDONLY)
    except FileNotFoundError:
        return []
    try:
        data = os.pread(fd, count * LANE_WIDTH, pos * LANE_WIDTH)
    finally:
        os.close(fd)
    out = []
    for i in range(len(data) // LANE_WIDTH):
        line = data[i * LANE_WIDTH : (i + 1) * LANE_WIDTH]
        if not line.endswith(b"\n"):
            break
        job = int(line)
        if job >= n_committed:
            break
        out.append(job)
    return out


def split_by_lane(first_id: int, params: Iterable[dict[str, Any]], memory_key: str) -> dict[int, list[int]]:
    """Job ids from ``first_id`` on, grouped by the lane of their expected memory."""
    by_lane: dict[int, list[int]] = {}
    for i, p in enumerate(params):
        by_lane.setdefault(lane_of(expected_gb(p, memory_key)), []).append(first_id + i)
    return by_lane


def lane_size(queue_dir: Path, lane: int, n_committed: int) -> int:
    """Number of committed job ids in ``lane`` (reads the file's last entries, O(1))."""
    try:
        fd = open_nofollow(lane_path(queue_dir, lane), os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        count = os.fstat(fd).st_size // LANE_WIDTH
        while count and int(os.pread(fd, LANE_WIDTH, (count - 1) * LANE_WIDTH)) >= n_committed:
            count -= 1  # entries of an interrupted add
        return count
    finally:
        os.close(fd)


def lane_index(queue_dir: Path, lane: int, job_id: int) -> int | None:
    """The entry of ``job_id`` in ``lane`` (its place in the lane's order), or None when it is not there.

    A lane lists its ids in increasing order (jobs are added with growing ids, and the
    entries of an interrupted add, cut by the next, are larger still), so a binary
    search reads O(log n) entries.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> append_lane_ids(d, {2: [3, 5, 8]}, n_committed=3)
    >>> lane_index(d, 2, 8), lane_index(d, 2, 4), lane_index(d, 1, 3)
    (2, None, None)
    """
    try:
        fd = open_nofollow(lane_path(queue_dir, lane), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        def entry(i: int) -> int:
            return int(os.pread(fd, LANE_WIDTH, i * LANE_WIDTH))

        lo, hi = 0, os.fstat(fd).st_size // LANE_WIDTH
        count = hi
        while lo < hi:
            mid = (lo + hi) // 2
            if entry(mid) < job_id:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < count and entry(lo) == job_id else None
    except ValueError:  # a damaged entry: no answer (benchgrid check replays the lanes)
        return None
    finally:
        os.close(fd)
