"""The state of every job, derived from the logs (never stored, never rewritten).

Job states:

``pending``   never claimed
``running``   claimed by a live worker
``queued``    put back (lease expired, handed back, retry) and waiting for a worker
``done``      has an accepted result
``error``     the runner raised; its traceback is recorded (``retry --errors``)
``failed``    lost ``max_attempts`` runs to dead workers (``retry --expired``)
``stranded``  held by a worker whose lease expired, not yet put back because no
              live worker has looked (any ``benchgrid work``/``run`` does it)
``dropped``   dropped by a user (``benchgrid drop``): never claimed again, whatever
              state it had; ``benchgrid undrop`` gives it back that state

A result is accepted only if its attempt is the job's latest (fencing).
:class:`ProjectState` reads the logs incrementally, so a progress display
re-reads only what was appended since its last look.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._bulk import gc_paused
from ._droplog import DropLog
from ._layout import Layout
from ._leases import is_dead, list_leases
from ._queue import Queue
from ._record_types import Lease, ResultRecord
from ._records import iter_records, read_records

__all__ = ["ProjectState", "STATES", "FINISHED_STATES", "n_finished"]

MISSING_LEASE_GRACE_S = 60.0  # a claim's lease is written before its claim record; this covers NFS caching

STATES = ("pending", "running", "queued", "done", "error", "failed", "stranded", "dropped")
#: the states a job ends in for good (until a retry or an undrop): "N/M finished" counts them
FINISHED_STATES = ("done", "error", "failed", "dropped")


#: the ``why`` of a put-back that counts the run before it as lost (a worker died, froze past its lease or timed
#: out) or moved it to a larger memory class (it ran out of memory): a run that started and was thrown away
RUN_LOST_WHYS = ("lost", "expired", "out of memory")


def _run_s(record: Mapping[str, Any]) -> float:
    """Seconds a run took by its own worker's clock (``t1 - t0``; 0 when not recorded)."""
    try:
        return max(0.0, float(record["t1"]) - float(record["t0"]))
    except (KeyError, TypeError, ValueError):
        return 0.0


def n_finished(counts: Mapping[str, int]) -> int:
    """Jobs finished for good, from counts per state: the one rule for every progress bar and line.

    Examples
    --------
    >>> n_finished({"done": 5, "error": 1, "failed": 1, "running": 2, "pending": 3})
    7
    """
    return sum(counts.get(s, 0) for s in FINISHED_STATES)


def _worker_ids(layout: Layout, leases: dict[str, Any]) -> list[str]:
    try:
        return sorted(set(leases) | set(os.listdir(layout.workers_dir)))
    except OSError:
        return list(leases)


class ProjectState:
    """Incremental reader of a project's logs.

    Examples
    --------
    >>> # state = ProjectState(Path("proj")).refresh(); state.counts()
    """

    def __init__(self, root: Path, queue: Queue | None = None):
        self.root = Path(root)
        self.layout = Layout(self.root)
        self._offsets: dict[Path, int] = {}
        self.n = 0
        self.next = 0
        self.rq = 0
        self.lanes: list[list[int]] | None = None  # [pos, rq] per memory lane (projects with a memory_key)
        self.lanes_keys: list[str] = []  # the class of each lane (issue 21: projects with time or resource classes)
        self.requeued_lane: dict[int, int] = {}  # job -> lane of its latest put-back (when not 0)
        self.escalated: dict[int, str] = {}  # job -> why it last moved to a larger memory class (issue 13)
        self.claimed: dict[int, tuple[int, str, float]] = {}  # job -> (attempt, worker, t) of latest claim
        self.requeued: dict[int, tuple[int, int, str]] = {}  # job -> (attempt, end offset, why)
        self.failed: dict[int, tuple[int, str]] = {}
        self.final: dict[int, tuple[int, str, ResultRecord]] = {}  # job -> (attempt, worker, record)
        self.n_final_records = 0  # done/error records read, accepted or not (fenced out)
        self.superseded: list[tuple[int, int, float]] = []  # (job, attempt, run s) of done/error records displaced
        # issue 25, wasted runs (store/_wasted.py): runs that started and whose work was thrown away
        # (job, attempt) -> True: the run was counted lost (died, froze, timed out); False: moved up a memory class
        self.given_up: dict[tuple[int, int], bool] = {}
        self.cut_short: dict[tuple[int, int], tuple[float, bool]] = {}  # (job, attempt) -> (run s, lost) of
        # started runs their worker handed back unfinished (a signal, its allocation's end, out of memory, a timeout)
        self.retried_to: dict[int, int] = {}  # job -> the highest attempt a user's retry put it back at
        self.lost: dict[int, tuple[int, int]] = {}  # job -> (attempt, runs lost before it), for jobs that lost any
        self.leases: dict[str, Lease] = {}
        self.first_claim_t: float | None = None
        self.d = 0  # committed bytes of drops.log (the cursor's ``d``)
        self._drops = DropLog(self.layout.drops)
        self.dropped: set[int] = self._drops.dropped

    def _new(self, path: Path) -> list[dict[str, Any]]:
        records, end = read_records(path, self._offsets.get(path, 0))
        self._offsets[path] = end
        return records

    def refresh(self) -> "ProjectState":
        """Read what was appended since the last call."""
        with gc_paused():
            return self._refresh()

    def _refresh(self) -> "ProjectState":
        for r in self._new(self.layout.claims):
            self.n, self.next, self.rq = int(r["n"]), int(r["next"]), int(r["rq"])
            self.d = max(self.d, int(r.get("d", 0)))
            if "lanes" in r:
                self.lanes = r["lanes"]
            if "lk" in r:
                self.lanes_keys = r["lk"]
            if r.get("op") == "claim":
                if self.first_claim_t is None:
                    self.first_claim_t = float(r["t"])
                lost = self.lost
                for job, attempt, *lost_lane in r["c"]:
                    if job not in self.claimed or attempt >= self.claimed[job][0]:
                        self.claimed[job] = (attempt, r["w"], float(r["t"]))
                    if (lost_lane and lost_lane[0]) or job in lost:  # most jobs never lose a run
                        self._note_lost(job, attempt, int(lost_lane[0]) if lost_lane else 0)
        path = self.layout.requeue
        for rec, line_end in iter_records(path, self._offsets.get(path, 0), max_bytes=-1):
            self._offsets[path] = line_end
            if rec is None or "job" not in rec:
                continue
            if rec.get("l") or rec["job"] in self.lost:
                self._note_lost(rec["job"], rec["a"], int(rec.get("l", 0)))
            why = rec.get("why")
            if why in RUN_LOST_WHYS:  # the attempt before the one it is put back as ran and was thrown away
                self.given_up[(int(rec["job"]), int(rec["a"]) - 1)] = why != "out of memory"
            if "fail" in rec:  # failed after max_attempts lost runs: never handed out
                if rec["job"] not in self.failed or rec["a"] >= self.failed[rec["job"]][0]:
                    self.failed[rec["job"]] = (rec["a"], rec["fail"])
            elif rec["job"] not in self.requeued or rec["a"] >= self.requeued[rec["job"]][0]:
                if rec.get("why") == "retry":
                    self.retried_to[rec["job"]] = max(self.retried_to.get(rec["job"], 0), int(rec["a"]))
                self.requeued[rec["job"]] = (rec["a"], line_end, rec.get("why", ""))
                if rec.get("lane"):
                    self.requeued_lane[rec["job"]] = int(rec["lane"])
                else:
                    self.requeued_lane.pop(rec["job"], None)
                if rec.get("why") == "out of memory":  # _lost.OUT_OF_MEMORY
                    self.escalated.pop(rec["job"], None)  # latest last
                    self.escalated[rec["job"]] = str(rec.get("reason") or "out of memory")
        self._drops.upto(self.d)
        for r in self._new(self.layout.events):
            if r.get("op") == "failed":
                self.failed[r["job"]] = (r["a"], r.get("reason", ""))
        self.leases = list_leases(self.root)
        # issue 10: every worker folder, also one whose lease.json is damaged: its results are in events.log
        final = self.final
        final_get = final.get
        for wid in _worker_ids(self.layout, self.leases):
            n_final = 0
            for r in self._new(self.layout.worker_dir(wid) / "events.log"):
                op = r.get("op")
                if op == "done" or op == "error":
                    n_final += 1
                    job, attempt = r["job"], r["a"]
                    old = final_get(job)
                    if old is None or attempt > old[0]:
                        final[job] = (attempt, wid, r)  # type: ignore[assignment]  # a done/error line: a ResultRecord
                        if old is not None:
                            self.superseded.append((job, old[0], _run_s(old[2])))
                    elif attempt < old[0]:  # a second record of one attempt is damage: `check` names it
                        self.superseded.append((job, attempt, _run_s(r)))
                elif op == "handback" and r.get("t0") is not None:  # it had started: its work is thrown away
                    self.cut_short[(int(r["job"]), int(r["a"]))] = (_run_s(r), bool(r.get("lost")))
            self.n_final_records += n_final
        return self

    def _note_lost(self, job: int, attempt: int, n_lost: int) -> None:
        known = self.lost.get(job)
        if known is None or attempt >= known[0]:
            if n_lost:
                self.lost[job] = (attempt, n_lost)
            else:
                self.lost.pop(job, None)

    # -- per job -------------------------------------------------------------
    def lost_runs(self, job: int) -> int:
        """Runs of ``job`` lost to dead workers (or time limits) so far: what counts towards ``max_attempts``.

        A retry or an undrop carries it on (issue 23): a job does not win a
        fresh budget of lost runs by being errored, dropped or retried.
        """
        known = self.lost.get(job)
        return known[1] if known is not None else 0

    def latest_attempt(self, job: int) -> int:
        return max(
            self.claimed.get(job, (0,))[0],
            self.requeued.get(job, (0,))[0],
            self.failed.get(job, (0,))[0],
            self.final.get(job, (0,))[0],  # issue 10: a result whose claim record was damaged still counts
        )

    def state_of(self, job: int, now: float | None = None) -> str:
        if job in self.dropped:
            return "dropped"
        return self.run_state_of(job, now)

    def run_state_of(self, job: int, now: float | None = None) -> str:
        """The state a job has from its runs alone, dropped or not (what an undrop gives back)."""
        attempt = self.latest_attempt(job)
        if attempt == 0:
            return "pending"
        final = self.final.get(job)
        if final is not None and final[0] == attempt:
            return "done" if final[2]["op"] == "done" else "error"
        if job in self.failed and self.failed[job][0] == attempt:
            return "failed"
        rq = self.requeued.get(job)
        if rq is not None and rq[0] == attempt and rq[1] > self._lane_rq(job):
            return "queued"
        claim = self.claimed.get(job)
        if claim is not None and claim[0] == attempt:
            lease = self.leases.get(claim[1])
            if lease is None:
                # claimed a moment ago (lease file not visible yet: NFS caches), or (issue 10) the
                # worker's lease.json or folder is damaged or gone: then nobody runs it
                fresh = (time.time() if now is None else now) - claim[2] < MISSING_LEASE_GRACE_S
                return "running" if fresh else "stranded"
            if lease.get("revoked") or lease.get("state") != "running" or is_dead(lease, now):
                return "stranded"
            return "running"
        return "stranded"

    def job_states(self, now: float | None = None) -> dict[int, str]:
        """The state of every job that ever left 'pending' (the others are pending).

        The same as :meth:`state_of` for each, with a fast path for the common
        case, a job whose latest event is its accepted result (a million
        jobs in well under a second).
        """
        now = time.time() if now is None else now
        claimed, requeued, failed, dropped = self.claimed, self.requeued, self.failed, self.dropped
        out: dict[int, str] = {}
        for job, (attempt, _wid, rec) in self.final.items():
            claim = claimed.get(job)
            if (attempt > 0 and (claim is None or claim[0] <= attempt) and job not in requeued
                    and job not in failed and job not in dropped):
                out[job] = "done" if rec["op"] == "done" else "error"
        state_of = self.state_of
        for jobs in (claimed, requeued, failed, self.final, dropped):
            for job in jobs:
                if job not in out:
                    out[job] = state_of(job, now)
        return out

    def _lane_rq(self, job: int) -> int:
        """The requeue offset up to which the job's lane has taken put-back jobs."""
        if self.lanes is None:
            return self.rq
        lane = self.requeued_lane.get(job, 0)
        if lane >= len(self.lanes):  # a lane added after claims.log was read (issue 21): nothing taken from it yet
            return 0
        return int(self.lanes[lane][1])

    def counts(self) -> dict[str, int]:
        """Number of jobs in each state (every state present, zeros included)."""
        states = self.job_states()
        counts = Counter({s: 0 for s in STATES})
        counts.update(states.values())
        counts["pending"] += self.n - len(states)
        return dict(counts)

    def accepted(self, job: int) -> ResultRecord | None:
        """The accepted final record (done or error) of a job, or None."""
        final = self.final.get(job)
        return final[2] if final is not None and final[0] == self.latest_attempt(job) else None

    def fenced_results(self) -> int:
        """Results ignored because their run had been superseded, not by a user's retry.

        A result of attempt ``a`` a retry replaced (``retry --errors``) is
        history, not news. One whose job went back to the queue without a
        retry (its worker's lease expired, the run was counted lost) and
        that came in anyway is what fencing is for: a worker that ran on
        after it was given up; each job keeps its latest attempt's result.
        """
        return len(self.late_runs())

    def late_runs(self) -> dict[tuple[int, int], float]:
        """(job, attempt) -> run seconds of the results :meth:`fenced_results` counts: runs given up that ended anyway."""
        retried_to = self.retried_to.get
        out = {(job, a): s for job, a, s in self.superseded if retried_to(job, 0) <= a}
        for job in set(self.requeued) | set(self.failed):  # a later attempt only comes from a put-back
            final = self.final.get(job)
            if final is not None and final[0] < self.latest_attempt(job) and retried_to(job, 0) <= final[0]:
                out[(job, final[0])] = _run_s(final[2])
        return out

    def throughput(self, window_s: float = 30.0, counts: dict[str, int] | None = None) -> dict[str, float | None]:
        """Jobs finished per second (recent window and overall) and the ETA in seconds.

        ``overall_per_s`` is over the run, first claim to last end, so it
        does not change once the project is finished; then there is no
        recent rate (it would fall with the time since the end) and no ETA.
        ``counts`` (from :meth:`counts`) saves recomputing them when the caller has them.
        """
        ends = sorted(float(r["t1"]) for _a, _w, r in self.final.values())
        now = time.time()
        counts = self.counts() if counts is None else counts
        remaining = sum(counts[s] for s in ("pending", "running", "queued", "stranded"))
        if not ends:
            return {"recent_per_s": None, "overall_per_s": None, "eta_s": None}
        start = self.first_claim_t or ends[0]
        overall = len(ends) / max(ends[-1] - start, 1e-9)
        if remaining == 0:
            return {"recent_per_s": None, "overall_per_s": overall, "eta_s": None}
        recent_n = sum(1 for t in ends if t >= now - window_s)
        recent = recent_n / min(window_s, max(now - start, 1e-9)) if recent_n else 0.0
        rate = recent or overall
        return {"recent_per_s": recent, "overall_per_s": overall, "eta_s": remaining / rate if rate else None}
