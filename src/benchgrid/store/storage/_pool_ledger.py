"""The ledger of a self-sustaining pool: ``pools/<name>.log`` (issue 21).

A pool submitted with ``--until-done`` keeps about W workers alive until
every job has ended, with no process on the login node: each allocation that
ends while jobs remain decides its successors, under the project lock, from
this ledger and from the scheduler's own list of the pool's tasks. The
ledger is append-only (one JSON record per line, written under the lock):

- ``{"op": "pool", ...}``: the definition (backend, W, submit options, budget);
- ``{"op": "submitted", "ids": [...], "n": k, "gen": g, "by": who}``: allocations submitted;
- ``{"op": "ending", "task": id, "gen": g, "done": n, "run_s": s, "why": ...}``:
  an allocation that is about to end (its task no longer counts as live);
- ``{"op": "stopped", "why": ...}``: the chain submits nothing more (no job
  left, budget spent, ``cancel``, a storm of allocations that did nothing).

Nothing here asks the scheduler: :mod:`benchgrid.backends._pools` does.

Examples
--------
>>> import tempfile, pathlib
>>> ledger = PoolLedger(pathlib.Path(tempfile.mkdtemp()), "p0")
>>> ledger.append({"op": "pool", "backend": "slurm", "n_workers": 2, "options": {}, "max_allocations": None})
>>> ledger.append({"op": "submitted", "ids": ["7"], "n": 2, "gen": 1, "by": "user"})
>>> state = ledger.read()
>>> state.n_workers, state.n_submitted, state.generation, state.stopped
(2, 2, 1, None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._errors import InputError, ProjectError
from ._records import append_records, read_records

__all__ = ["PoolLedger", "PoolState", "pool_names", "validate_pool_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")


def validate_pool_name(name: str) -> str:
    """A pool's name: letters, digits, ``_ . -`` (it goes into file and job names).

    Examples
    --------
    >>> validate_pool_name("p0")
    'p0'
    >>> validate_pool_name("a b")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: a pool name must be 1-41 letters, digits, '_', '.' or '-' (starting with a letter or digit), got 'a b'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"a pool name must be 1-41 letters, digits, '_', '.' or '-' (starting with a letter or digit), got {name!r}"
        )
    return name


@dataclass
class PoolState:
    """What a pool's ledger says (see the module docstring).

    ``running`` and ``pending`` are the scheduler's counts of the pool's live
    allocations when someone asked it (``Project.pools``), else None;
    ``broken`` says why a chain that did not stop has nothing live.
    """

    name: str
    definition: dict[str, Any] = field(default_factory=dict)
    submitted: list[dict[str, Any]] = field(default_factory=list)
    ending: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    running: int | None = None
    pending: int | None = None
    broken: str | None = None  # set by whoever saw no allocation live while jobs remain (``Project.pools``)
    idle: str | None = None  # set by whoever saw no allocation live and no job its workers could run

    @property
    def n_workers(self) -> int:
        return int(self.definition.get("n_workers", 0))

    @property
    def n_submitted(self) -> int:
        """Allocations (workers) submitted so far, the first ones included."""
        return sum(int(r.get("n", 0)) for r in self.submitted)

    @property
    def generation(self) -> int:
        return max((int(r.get("gen", 1)) for r in self.submitted), default=0)

    @property
    def ending_tasks(self) -> set[str]:
        return {str(r["task"]) for r in self.ending if r.get("task")}

    @property
    def jobs_done(self) -> int:
        return sum(int(r.get("done", 0)) for r in self.ending)

    @property
    def worker_s(self) -> float:
        """Seconds the ended allocations ran (from the start of their process to their decision)."""
        return sum(float(r.get("run_s", 0.0)) for r in self.ending)

    @property
    def busy_s(self) -> float:
        """Seconds the ended allocations' workers spent in jobs that ended."""
        return sum(float(r.get("busy_s", 0.0)) for r in self.ending)

    @property
    def cpus(self) -> int:
        """CPUs per allocation (1 unless the pool was submitted with more)."""
        return int(self.definition.get("cpus_per_worker") or (self.definition.get("options") or {}).get("cpus_per_worker")
                   or 1)

    @property
    def core_s(self) -> float:
        """Core-seconds the ended allocations used: what a core-hour budget counts."""
        return sum(float(r.get("run_s", 0.0)) * int(r.get("cpus", self.cpus)) for r in self.ending)

    @property
    def busy_core_s(self) -> float:
        """Core-seconds the ended allocations spent in jobs that ended."""
        return sum(float(r.get("busy_s", 0.0)) * int(r.get("cpus", self.cpus)) for r in self.ending)

    @property
    def efficiency(self) -> float | None:
        """Busy / allocated core-seconds of the ended allocations (None before one ended)."""
        return self.busy_core_s / self.core_s if self.core_s > 0 else None

    def allocations(self) -> list[tuple[str, float, float, str]]:
        """The ended allocations as ``(task, start, end, worker id)``, epoch seconds of their host's clock."""
        return [(str(r.get("task") or "?"), float(r["t"]) - float(r.get("run_s", 0.0)), float(r["t"]),
                 str(r.get("worker") or "")) for r in self.ending if "t" in r]

    def describe(self) -> str:
        """Lines for ``status`` (the first names the pool; the last says whether it goes on and why not).

        Examples
        --------
        >>> state = PoolState("p0", {"backend": "slurm", "n_workers": 4, "max_allocations": 20},
        ...                   [{"n": 4, "gen": 1}, {"n": 1, "gen": 2}],
        ...                   [{"done": 30, "run_s": 60.0, "busy_s": 51.0}], running=3, pending=1)
        >>> print(state.describe())
        pool p0 (slurm, 4 workers of 1 CPU, until done): generation 2
          allocations: 5 submitted of 20, 3 running, 1 pending, 1 ended
          core-hours: 0.017 used by the ended allocations, 0.014 busy in 30 job(s) that ended (85%)
          going on
        """
        budget = [f"of {self.definition['max_allocations']}"] if self.definition.get("max_allocations") is not None else []
        if self.definition.get("max_core_hours") is not None:
            budget.append(f"budget {self.definition['max_core_hours']:.3g} core-hours")
        live = [] if self.running is None else [f"{self.running} running"]
        live += [] if self.pending is None else [f"{self.pending} pending"]
        eff = f" ({self.efficiency:.0%})" if self.efficiency is not None else ""
        cpus = f"{self.cpus} CPU" + ("s" if self.cpus > 1 else "")
        lines = [
            f"pool {self.name} ({self.definition.get('backend', '?')}, {self.n_workers} workers of {cpus}, until done): "
            f"generation {self.generation}",
            "  allocations: " + ", ".join([f"{self.n_submitted} submitted" + (f" {budget[0]}" if budget and
                                                                              budget[0].startswith("of") else ""),
                                           *live, f"{len(self.ending)} ended"]),
            f"  core-hours: {_hours(self.core_s)} used by the ended allocations, {_hours(self.busy_core_s)} busy in "
            f"{self.jobs_done} job(s) that ended{eff}"
            + ("".join(f"; {b}" for b in budget if not b.startswith("of"))),
            "  " + (f"stopped: {self.stopped}" if self.stopped else f"BROKEN: {self.broken}" if self.broken
                    else f"idle: {self.idle}" if self.idle else "going on"),
        ]
        return "\n".join(lines)


def _hours(core_s: float) -> str:
    """Core-seconds as core-hours with the digits that matter: 0.017, 2.5, 1,234."""
    hours = core_s / 3600
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.1f}" if hours >= 1 else f"{hours:.2g}"


class PoolLedger:
    """``<project>/pools/<name>.log``; append only while holding the project lock."""

    def __init__(self, root: Path, name: str):
        self.root = Path(root)
        self.name = validate_pool_name(name)
        self.path = self.root / "pools" / f"{name}.log"

    def exists(self) -> bool:
        return self.path.is_file()

    def append(self, record: dict[str, Any]) -> None:
        from ._safe_io import make_dir

        make_dir(self.path.parent, exist_ok=True)
        append_records(self.path, [record])

    def read(self) -> PoolState:
        """The pool as its ledger says (a torn last line is ignored); a missing ledger is an error."""
        if not self.path.is_file():
            raise ProjectError(f"pool {self.name!r} has no ledger at {str(self.path)!r}; submit it with --until-done")
        records, _ = read_records(self.path)
        state = PoolState(self.name)
        for r in records:
            op = r.get("op")
            if op == "pool":
                state.definition = dict(r)
            elif op == "submitted":
                state.submitted.append(dict(r))
            elif op == "ending":
                state.ending.append(dict(r))
            elif op == "stopped" and state.stopped is None:
                state.stopped = str(r.get("why", "stopped"))
        return state


def pool_names(root: Path) -> list[str]:
    """The pools of a project (their ledgers' names), sorted."""
    folder = Path(root) / "pools"
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".log")] for p in folder.iterdir() if p.name.endswith(".log") and _NAME.match(p.name[:-4]))
