"""Views of a project's state for people: the status summary and the results table."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ._audit import last_audit
from ..storage._jobs import JobTable
from ..storage._leases import is_dead
from ..storage._observe import CLOCK_NOTE_S
from ._memory import memory_summary
from ._class_hints import starved_classes_hint, too_long_hint
from ._result_names import RUN_COLUMNS, result_column
from ..storage._state import STATES, ProjectState, n_finished
from ._wasted import WastedRuns, wasted_runs

__all__ = ["Status", "status_of", "results_rows", "results_columns", "error_rows"]


@dataclass
class Status:
    """Counts per state, running jobs, recent errors, throughput and ETA of one project."""

    n_jobs: int
    counts: dict[str, int]
    running: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    stranded: list[int] = field(default_factory=list)
    workers: dict[str, int] = field(default_factory=dict)
    recent_per_s: float | None = None
    overall_per_s: float | None = None
    eta_s: float | None = None
    stale_results: int = 0  # late results of runs already given up (fenced out); a retry's old results are not counted
    wasted: WastedRuns = field(default_factory=WastedRuns)  # runs started and thrown away (store/_wasted.py)
    hint: str = ""
    last_audit: dict[str, Any] | None = None
    project_dir: str | None = None
    memory: dict[str, Any] | None = None  # pools, jobs waiting per memory class, escalations (memory lanes only)
    clock_offsets: dict[str, float] = field(default_factory=dict)  # live workers whose clock is off the file server's
    # project.json's content when known (Project.status()): its runner and code path are printed too
    project: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.wasted, dict):  # Status(**asdict(status)) (a run's RunStatus): made whole again
            self.wasted = WastedRuns(**self.wasted)

    def __repr__(self) -> str:  # the REPL and print() show what `benchgrid status` prints
        from ._status_text import status_lines

        return "\n".join(status_lines(self))

    def _repr_html_(self) -> str:  # Jupyter
        from ._status_text import status_html

        return status_html(self)

    @property
    def finished(self) -> bool:
        """True when no job is pending, running, queued or stranded."""
        return all(self.counts.get(s, 0) == 0 for s in ("pending", "running", "queued", "stranded"))

    @property
    def n_finished(self) -> int:
        """Jobs that ended for good: done, error, failed or dropped (:func:`~benchgrid.store.n_finished`)."""
        return n_finished(self.counts)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["project"]  # what it says is in project.json
        out["finished"] = self.finished
        return out


def status_of(
    state: ProjectState, root_hint: str = "DIR", n_errors: int = 5, project: dict[str, Any] | None = None
) -> Status:
    """Summarise a refreshed :class:`ProjectState`; ``project`` (project.json) adds the runner and code path."""
    now = time.time()
    # one pass over the jobs that ever left 'pending'; the others are pending by definition
    states = state.job_states(now)
    counts = {s: 0 for s in STATES}
    for s, k in Counter(states.values()).items():
        counts[s] += k
    counts["pending"] += state.n - len(states)
    running = []
    for job in sorted(job for job, s in states.items() if s == "running"):
        attempt, wid, t_claim = state.claimed[job]
        lease = state.leases.get(wid, {})
        current = lease.get("current")
        started = current[2] if current and current[0] == job else t_claim
        running.append(
            {"job_id": job, "attempt": attempt, "worker": wid, "host": lease.get("host"),
             "elapsed_s": round(now - started, 1)}
        )
    errors = sorted(
        (
            {"job_id": job, "attempt": rec["a"], "worker": wid, "error": rec.get("err", ""), "t": rec["t1"]}
            for job, (a, wid, rec) in state.final.items()
            if rec["op"] == "error" and states.get(job) == "error"
        ),
        key=lambda e: -float(e["t"]),  # type: ignore[arg-type]
    )[:n_errors]
    stranded = sorted(job for job, s in states.items() if s == "stranded")
    workers = {"alive": 0, "dead": 0, "exited": 0}
    clock_offsets: dict[str, float] = {}
    for wid, lease in state.leases.items():
        if lease.get("state") != "running" or lease.get("revoked"):
            workers["exited"] += 1
        elif is_dead(lease, now):
            workers["dead"] += 1
        else:
            workers["alive"] += 1
            offset = lease.get("clock_offset_s")
            if isinstance(offset, (int, float)) and abs(offset) > CLOCK_NOTE_S:
                clock_offsets[wid] = float(offset)
    wasted = wasted_runs(state)
    stale = wasted.late  # superseded results a retry does not explain
    tp = state.throughput(counts=counts)
    hint = ""
    if stranded and workers["alive"] == 0:
        hint = (
            f"{len(stranded)} job(s) are stranded on workers that stopped without handing them back; "
            f"`benchgrid run {root_hint}` (or `benchgrid work {root_hint}`) puts them back and finishes them"
        )
    elif (counts["pending"] or counts["queued"]) and workers["alive"] == 0:
        hint = f"no worker is running; start some with `benchgrid run {root_hint} --workers N` or `benchgrid submit`"
    elif counts["failed"] or counts["error"]:
        hint = f"rerun failed jobs with `benchgrid retry {root_hint} --errors --expired`"
    for extra in (too_long_hint(state.failed, lambda job: states.get(job)), starved_classes_hint(state, now)):
        if extra:  # issue 21: time and resource classes
            hint = f"{extra}; {hint}" if hint else extra
    memory = memory_summary(state, now)
    memory_hint = memory["hint"] if memory else ""
    if memory_hint:
        hint = f"{memory_hint}; {hint}" if hint else memory_hint
    checked = last_audit(state.root)
    if checked is not None:
        checked = {"t": checked.get("t"), "ok": bool(checked.get("ok")), "n_problems": len(checked.get("problems", []))}
    return Status(
        n_jobs=state.n, counts=counts, running=running, errors=errors, stranded=stranded, workers=workers,
        recent_per_s=tp["recent_per_s"], overall_per_s=tp["overall_per_s"], eta_s=tp["eta_s"],
        stale_results=stale, wasted=wasted, hint=hint, last_audit=checked, project_dir=str(state.root), memory=memory,
        clock_offsets=clock_offsets, project=project,
    )


def results_rows(state: ProjectState, table: JobTable) -> list[dict[str, Any]]:
    """One dict per job: parameters, result values, and how and where it ran."""
    now = time.time()
    rows = []
    for job_row in table.rows(state.n):
        job = job_row["id"]
        row: dict[str, Any] = {"job_id": job, **job_row["params"]}
        s = state.state_of(job, now)
        final = state.accepted(job)
        claim = state.claimed.get(job)
        wid: str | None = None
        t0: float | None = None
        t1: float | None = None
        if final is not None:
            wid = state.final[job][1]
            params = job_row["params"]
            taken: set[str] = set()
            for k, v in (final.get("r") or {}).items():
                name = result_column(k, params, taken)
                taken.add(name)
                row[name] = v
            t0, t1 = float(final["t0"]), float(final["t1"])
        elif claim is not None:
            wid = claim[1]
        lease = state.leases.get(wid, {}) if wid else {}
        row.update(
            state=s,
            attempt=state.latest_attempt(job),
            worker=wid,
            host=lease.get("host"),
            pid=lease.get("pid"),
            claimed_at=claim[2] if claim else None,
            started_at=t0,
            ended_at=t1,
            duration_s=None if t0 is None or t1 is None else t1 - t0,
            error=final.get("err") if final and final["op"] == "error" else (state.failed[job][1] if s == "failed" else None),
        )
        rows.append(row)
    return rows


def results_columns(state: ProjectState, table: JobTable, renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """The results table as columns: what :func:`results_rows` gives, without a dict per job.

    Same values; a result value named like a parameter or a benchgrid
    column is kept under ``result.`` (see :mod:`._result_names`, the one
    rule), and each such key goes into ``renamed`` (key -> column) when
    given; a parameter or result a job does not have is NaN. Columns come in the order job_id, parameters,
    result values, then :data:`RUN_COLUMNS`. Cost: one pass over the jobs
    with a few dictionary look-ups each (a million jobs in about a second);
    jobs whose state is not simply their accepted result (queued, failed,
    running, ...) take the general path of :meth:`ProjectState.state_of`.
    The parameter columns come from :meth:`JobTable.param_columns` (numpy
    arrays parsed by pyarrow) when the parameters are plain numbers, strings
    and booleans, else from the rows; both give the same table.

    Examples
    --------
    >>> # pd.DataFrame(results_columns(ProjectState(root).refresh(), JobTable(root / "jobs")))
    """
    now = time.time()
    nan = float("nan")
    fast = table.param_columns(state.n)  # numpy columns parsed by pyarrow, when the parameters allow
    cols: dict[str, Any]
    if fast is not None:
        ids, param_cols = fast
        job_ids: list[int] = ids.tolist()
        n = len(job_ids)
        cols = {"job_id": ids, **param_cols}
    else:
        rows = table.rows(state.n)
        n = len(rows)
        job_ids = [r["id"] for r in rows]
        cols = {"job_id": job_ids}
        params = [r["params"] for r in rows]
        keys0 = list(params[0]) if params else []
        try:
            if any(len(p) != len(keys0) for p in params):
                raise KeyError
            for k in keys0:
                cols[k] = [p[k] for p in params]
        except KeyError:  # jobs with different parameters: NaN where a job has none
            for k in keys0:
                cols.pop(k, None)
            for i, p in enumerate(params):
                for k, v in p.items():
                    col = cols.get(k)
                    if col is None:
                        col = cols[k] = [nan] * n
                    col[i] = v
    param_names = set(cols) - {"job_id"}
    res: dict[str, list[Any]] = {}
    run: dict[str, list[Any]] = {name: [None] * n for name in RUN_COLUMNS}
    c_state, c_attempt, c_worker, c_host, c_pid = (run[k] for k in RUN_COLUMNS[:5])
    c_claimed, c_started, c_ended, c_duration, c_error = (run[k] for k in RUN_COLUMNS[5:])
    claimed, final, requeued, failed, dropped = state.claimed, state.final, state.requeued, state.failed, state.dropped
    hosts = {wid: (lease.get("host"), lease.get("pid")) for wid, lease in state.leases.items()}
    claimed_get, final_get, latest_attempt = claimed.get, final.get, state.latest_attempt
    any_put_back = bool(requeued or failed)
    column_of: dict[str, list[Any]] = {}  # result name -> the list its values go into (found once per name)

    def new_column(k: str) -> list[Any]:
        name = result_column(k, param_names, res.keys())  # never a parameter's or a run column's list
        if name != k and renamed is not None:
            renamed[k] = name
        col = column_of[k] = res[name] = [nan] * n
        return col

    for i, job in enumerate(job_ids):
        claim = claimed_get(job)
        # a result whose claim record is unreadable still has its attempt (state_of's rule): never "done", attempt 0, NaN
        attempt = claim[0] if claim is not None and not any_put_back else latest_attempt(job)
        fin = final_get(job)
        rec = fin[2] if fin is not None and fin[0] == attempt and attempt > 0 else None
        wid: str | None = None
        if rec is not None:
            op = rec["op"]
            # a dropped job keeps the values of a run that ended (results(dropped=True) shows them)
            c_state[i] = "dropped" if job in dropped else "done" if op == "done" else "error"
            wid = fin[1]  # type: ignore[index]
            r = rec.get("r")
            if r:
                for k, v in r.items():
                    col = column_of.get(k)
                    if col is None:
                        col = new_column(k)
                    col[i] = v
            t0, t1 = float(rec["t0"]), float(rec["t1"])
            c_started[i], c_ended[i], c_duration[i] = t0, t1, t1 - t0
            if op == "error":
                c_error[i] = rec.get("err")
        else:
            s = state.state_of(job, now)
            c_state[i] = s
            if claim is not None:
                wid = claim[1]
            if s == "failed":
                c_error[i] = failed[job][1]
        c_attempt[i] = attempt
        if wid is not None:
            c_worker[i] = wid
            c_host[i], c_pid[i] = hosts.get(wid, (None, None))
        if claim is not None:
            c_claimed[i] = claim[2]
    cols.update(res)
    cols.update(run)
    return cols


def error_rows(state: ProjectState) -> list[dict[str, Any]]:
    """Every job in state 'error' or 'failed', with its traceback or reason."""
    now = time.time()
    out = []
    for job, (attempt, wid, rec) in sorted(state.final.items()):
        if rec["op"] == "error" and state.state_of(job, now) == "error":
            out.append({"job_id": job, "attempt": attempt, "worker": wid, "error": rec.get("err"), "traceback": rec.get("tb")})
    for job, (attempt, reason) in sorted(state.failed.items()):
        if state.state_of(job, now) == "failed":
            out.append({"job_id": job, "attempt": attempt, "worker": None, "error": reason, "traceback": None})
    return out
