"""The job table: append-only JSON-lines parts of 10,000 jobs each.

A job is a row with an id (its position), a content key and parameters.
Row ``i`` lives on line ``i % PART_SIZE`` of part ``i // PART_SIZE``, so a
worker finds a job without reading the table; parts are read once and
cached. The number of committed jobs is the ``n`` of the last claim record
(see ``_queue``), so lines past it (an ``add`` killed mid-write or cut short
by a full disk, at any byte) are ignored by readers and removed by the next
``add`` before it writes: from the last committed part, and every later part
(an interrupted ``add`` may have begun one). Each row carries its id, and a
row read at the wrong place is reported, never used.

``Queue.add`` skips jobs whose content key is already committed, under the
project lock, so two processes adding the same jobs at once add them once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..._errors import InputError, ProjectError
from ._job_columns import PART_SIZE, param_columns
from ._records import compact_json
from ._safe_io import make_dir, open_file

__all__ = ["PART_SIZE", "JobTable", "content_key", "job_seed", "normalize_jobs"]


Params = dict[str, Any]


def _json_scalar(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _not_finite(row: Params) -> str | None:
    """The first parameter of ``row`` that is NaN or infinite (a float, or a numpy one), or None."""
    for k, v in row.items():
        if isinstance(v, (float, int)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0):
            try:
                if not math.isfinite(v):
                    return k
            except (TypeError, ValueError, OverflowError):
                continue
    return None


_canonical = compact_json(_json_scalar, sort_keys=True, allow_nan=False)


def canonical_json(params: Params) -> str:
    r"""The parameters as compact JSON with sorted keys: what the table stores and the key hashes.

    Examples
    --------
    >>> canonical_json({"x": 1.5, "b": "ü"})
    '{"b":"\\u00fc","x":1.5}'
    """
    return _canonical(params)


def normalize_jobs(jobs: Any) -> list[str]:
    """Check a list of dicts or a DataFrame and return each job as canonical JSON.

    Examples
    --------
    >>> normalize_jobs([{"x": 1, "b": "u"}, {"x": 2, "b": "v"}])
    ['{"b":"u","x":1}', '{"b":"v","x":2}']
    >>> normalize_jobs([])
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: jobs must hold at least one job, got an empty list; give one dict per job
    """
    if hasattr(jobs, "to_dict") and hasattr(jobs, "columns"):
        jobs = jobs.to_dict(orient="records")
    if isinstance(jobs, (str, bytes, dict)) or not isinstance(jobs, Iterable):
        raise InputError(f"jobs must be a list of dicts or a pandas DataFrame, got {type(jobs).__name__}")
    rows = list(jobs)
    if not rows:
        raise InputError("jobs must hold at least one job, got an empty list; give one dict per job")
    out = []
    checked_names: set[Any] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"jobs[{i}] must be a dict of parameters, got {row!r}")
        for name in row:
            if name in checked_names:
                continue
            if not isinstance(name, str) or not name.isidentifier():
                raise InputError(
                    f"jobs[{i}] has parameter name {name!r}; names must be Python identifiers "
                    "because the runner receives them as keyword arguments"
                )
            checked_names.add(name)
        try:
            out.append(canonical_json(row))
        except (TypeError, ValueError) as err:
            bad = _not_finite(row) if isinstance(err, ValueError) else None
            if bad is not None:  # never stored as null: the runner would get None where the user gave NaN
                raise InputError(
                    f"jobs[{i}][{bad!r}] is {row[bad]!r}, which the job table cannot store (JSON has no NaN "
                    "or infinity); give None for a missing value (for a DataFrame: "
                    "df.astype(object).where(df.notna(), None)), or a string such as 'nan' the runner converts"
                ) from None
            raise InputError(
                f"jobs[{i}] cannot be stored ({err}); use numbers, strings, booleans, None and lists of them"
            ) from None
    return out


def content_key(params_json: str) -> str:
    """A short hash of a job's canonical JSON: its identity across runs and adds."""
    return hashlib.sha256(params_json.encode()).hexdigest()[:20]


def job_seed(random_state: int, key: str) -> int:
    """Per-job seed from the project seed and the job's content key (not its worker or order).

    Examples
    --------
    >>> job_seed(0, "abc") == job_seed(0, "abc") != job_seed(1, "abc")
    True
    """
    digest = hashlib.sha256(f"{random_state}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class JobTable:
    """Read and append rows of the job table of one project."""

    def __init__(self, jobs_dir: Path):
        self.dir = jobs_dir
        self._parts: dict[int, list[dict[str, Any]]] = {}
        #: parts kept by :meth:`get` (oldest dropped first); None keeps every part (``results()`` reads them all
        #: again). A worker keeps a few, so its memory does not grow with the jobs it ran (issue 25)
        self.max_parts: int | None = None
        # rows known to be committed (the queue sets it from each cursor it reads): only
        # these are cached, so rows of an interrupted add, later replaced, are never served
        self.committed = 0
        self._columns: tuple[int, tuple[Any, dict[str, Any]] | None] | None = None

    def part_path(self, part: int) -> Path:
        return self.dir / f"part-{part:05d}.jsonl"

    def _load_part(self, part: int) -> list[dict[str, Any]]:
        try:
            with open_file(self.part_path(part), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        try:  # one parser call for the whole part (a line is one JSON object, written by append)
            rows = json.loads(b"[" + b",".join(lines) + b"]")
            if all(type(r) is dict for r in rows):
                return rows  # type: ignore[no-any-return]
        except ValueError:
            pass
        rows = []
        for line in lines:
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                break  # a torn line from an interrupted add: everything after it is uncommitted
        return rows

    def get(self, job_id: int) -> dict[str, Any]:
        """Row ``job_id``: ``{"id", "key", "params"}``, read through a per-part cache."""
        part, line = divmod(job_id, PART_SIZE)
        rows = self._parts.get(part)
        if rows is None or line >= len(rows):
            rows = self._load_part(part)  # re-open: jobs may have been added
            self._parts.pop(part, None)  # re-inserted last: the newest
            self._parts[part] = rows[: max(0, self.committed - part * PART_SIZE)]
            if self.max_parts is not None:
                while len(self._parts) > self.max_parts:
                    del self._parts[next(iter(self._parts))]
        if line >= len(rows):
            raise KeyError(job_id)
        row = rows[line]
        if row.get("id") != job_id:
            raise ProjectError(
                f"job table part {str(self.part_path(part))!r} is damaged: line {line} holds job {row.get('id')!r}, "
                f"not job {job_id}; restore the file from a backup (or run `benchgrid check`)"
            )
        return row

    def rows(self, n_jobs: int) -> list[dict[str, Any]]:
        """All committed rows: the first ``n_jobs``, a number read from the claims log.

        Committed rows never change, so each part is parsed once and then
        served from the cache (a repeated ``results()`` on a million jobs
        parses nothing).
        """
        self.committed = max(self.committed, n_jobs)
        out: list[dict[str, Any]] = []
        for part in range(math.ceil(n_jobs / PART_SIZE)):
            want = min(PART_SIZE, n_jobs - part * PART_SIZE)
            rows = self._parts.get(part)
            if rows is None or len(rows) < want:
                rows = self._load_part(part)
                self._parts[part] = rows = rows[: max(0, self.committed - part * PART_SIZE)]
            out.extend(rows[:want])
        return out

    def param_columns(self, n_jobs: int) -> tuple[Any, dict[str, Any]] | None:
        """Ids and parameter columns of the first ``n_jobs`` rows (numpy), or None: see :mod:`._job_columns`.

        Cached for the same ``n_jobs`` (committed rows never change).
        """
        cached = self._columns
        if cached is None or cached[0] != n_jobs:
            cached = self._columns = (n_jobs, param_columns(self.dir, n_jobs))
        return cached[1]

    def committed_keys(self, n_committed: int) -> set[str]:
        """Content keys of the first ``n_committed`` rows (read from the fixed row prefix, without parsing JSON)."""
        keys: set[str] = set()
        for part in range(math.ceil(n_committed / PART_SIZE)):
            try:
                with open_file(self.part_path(part), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                break
            lines = data.split(b"\n")[: max(0, min(PART_SIZE, n_committed - part * PART_SIZE))]
            for line in lines:
                start = line.find(b'"key":"') + 7
                if start >= 7:
                    keys.add(line[start : line.find(b'"', start)].decode())
        return keys

    def _drop_uncommitted(self, n_committed: int) -> None:
        """Remove every byte past the ``n_committed`` rows: what an interrupted add left."""
        last_part = n_committed // PART_SIZE
        keep = n_committed % PART_SIZE
        path = self.part_path(last_part)
        if path.exists():
            with open_file(path, "rb") as f:
                lines = f.read().split(b"\n")
            if len(lines) - 1 != keep or (lines and lines[-1]):
                if len(lines) - 1 < keep:
                    raise ProjectError(
                        f"job table part {str(path)!r} holds {len(lines) - 1} complete rows, fewer than the "
                        f"{keep} committed; restore it from a backup"
                    )
                with open_file(path, "wb") as f:
                    f.write(b"".join(line + b"\n" for line in lines[:keep]))
                    f.flush()
                    os.fsync(f.fileno())
        part = last_part + 1
        while self.part_path(part).exists():  # a later part begun by an interrupted add
            self.part_path(part).unlink()
            part += 1

    def append(self, params_jsons: Sequence[str], n_committed: int, after_part: Callable[[], None] | None = None) -> int:
        """Write rows (canonical JSON) after the ``n_committed`` first; call holding the project lock.

        Returns the new number of rows, which the caller commits in the claims
        log. The caller skips rows already committed (:meth:`committed_keys`).
        ``after_part()`` runs after each part is written (the caller renews its
        lock's lease there).
        """
        make_dir(self.dir)
        self._drop_uncommitted(n_committed)
        job_id = n_committed
        by_part: dict[int, list[str]] = {}
        for text in params_jsons:
            by_part.setdefault(job_id // PART_SIZE, []).append(
                f'{{"id":{job_id},"key":"{content_key(text)}","params":{text}}}\n'
            )
            job_id += 1
        for part, lines_ in by_part.items():
            with open_file(self.part_path(part), "a") as f:
                f.write("".join(lines_))
                f.flush()
                os.fsync(f.fileno())  # rows reach the disk before the claims log commits them
            if after_part is not None:
                after_part()
        self._parts.clear()
        return job_id
