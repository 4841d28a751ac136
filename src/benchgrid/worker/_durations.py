"""Expected job durations for the walltime rule, learned from what workers recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..store import Layout
from ..store import read_records

__all__ = ["DurationModel"]


class DurationModel:
    """Mean observed duration per duration key, read incrementally from every worker's events.

    A job handed back after running ``s`` seconds is at least ``s`` seconds
    long, so a hand-back raises the estimate of that job, and of its key when
    the project names one (``duration_key``). Without a key every job shares
    one mean, and one long job handed back must not make every other job
    look that long: in a pool of 1-minute allocations a 45 s floor on all
    jobs made each worker stop claiming after 16 s (issue 21).

    Examples
    --------
    >>> m = DurationModel(Path("/nonexistent"), key_columns=["learner"], default_s=10.0)
    >>> m.estimate({"learner": "rf"})
    10.0
    >>> m.observe({"learner": "rf"}, 4.0); m.estimate({"learner": "rf"})
    4.0
    >>> m = DurationModel(Path("/nonexistent"), key_columns=None, default_s=None)
    >>> m.observe({"i": 1}, 1.0); m.observe_lower_bound({"i": 2}, 40.0)
    >>> m.estimate({"i": 2}), m.estimate({"i": 3})
    (40.0, 1.0)
    """

    def __init__(self, root: Path, key_columns: Sequence[str] | None, default_s: float | None,
                 declared_key: str | None = None):
        self.layout = Layout(root)
        self.declared_key = declared_key  # issue 21: a job column of expected seconds (time_key), used until observed
        self.key_columns = list(key_columns or [])
        self.default_s = default_s
        self._sum: dict[tuple[Any, ...], float] = {}
        self._n: dict[tuple[Any, ...], int] = {}
        self._floor: dict[tuple[Any, ...], float] = {}
        self.job_floor: dict[int, float] = {}  # job -> seconds of its longest run handed back (issue 21)
        self._job_floor: dict[str, float] = {}  # the same by the job's parameters (estimate's key)
        self._offsets: dict[Path, int] = {}

    def key(self, params: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(str(params.get(c)) for c in self.key_columns)

    def observe(self, params: dict[str, Any], seconds: float) -> None:
        k = self.key(params)
        self._sum[k] = self._sum.get(k, 0.0) + seconds
        self._n[k] = self._n.get(k, 0) + 1

    def observe_lower_bound(self, params: dict[str, Any], seconds: float) -> None:
        job = _job_key(params)
        self._job_floor[job] = max(self._job_floor.get(job, 0.0), seconds)
        if self.key_columns:
            k = self.key(params)
            self._floor[k] = max(self._floor.get(k, 0.0), seconds)

    def estimate(self, params: dict[str, Any]) -> float | None:
        """Expected seconds for a job like ``params``; None when nothing is known."""
        declared = params.get(self.declared_key) if self.declared_key else None
        if isinstance(declared, (int, float)) and not isinstance(declared, bool) and declared > 0:
            return float(declared)  # the job's own (time_key), before what its group was seen to take
        k = self.key(params)
        mean = self._sum[k] / self._n[k] if self._n.get(k) else None
        known = [v for v in (mean, self._floor.get(k), self._job_floor.get(_job_key(params))) if v is not None]
        return max(known) if known else self.default_s

    def refresh(self, job_params: Any, skip: str = "") -> None:
        """Read other workers' new records; ``job_params(job_id)`` gives a job's parameters.

        ``skip`` names the calling worker, which observes its own jobs directly.
        """
        workers = self.layout.workers_dir
        if not workers.exists():
            return
        for d in workers.iterdir():
            if d.name == skip:
                continue
            path = d / "events.log"
            records, end = read_records(path, self._offsets.get(path, 0))
            self._offsets[path] = end
            for r in records:
                if r.get("op") == "done":
                    self.observe(job_params(r["job"]), float(r["t1"]) - float(r["t0"]))
                elif r.get("op") == "handback" and r.get("t0") is not None:
                    ran = float(r["t1"]) - float(r["t0"])
                    self.observe_lower_bound(job_params(r["job"]), ran)
                    self.job_floor[int(r["job"])] = max(self.job_floor.get(int(r["job"]), 0.0), ran)


def _job_key(params: dict[str, Any]) -> str:
    """One job's parameters as text (a job's parameters are its identity in the table)."""
    import json

    return json.dumps(params, sort_keys=True, default=str)
