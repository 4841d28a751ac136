"""The claim protocol: who runs which job, at O(1) cost per claim.

Three shared logs, written only while holding the project lock:

- ``claims.log``: one record per claim. Every record carries the queue
  cursor: ``next`` (first job of the table never claimed), ``rq`` (byte
  offset of the first unconsumed line of ``requeue.log``) and ``n`` (number
  of committed jobs). A claim reads only the last record (a tail read),
  the few requeue lines after ``rq`` and the rows it claims.
- ``requeue.log``: the fate of runs that ended without a result: a lease
  expired (``lost`` + 1), a worker handed its job back (SIGTERM), a user
  asked for a retry, or the job failed after ``max_attempts`` lost runs (a
  line with ``fail``, which is never handed out). Each line carries the
  attempt number the next run would have, and **a (job, attempt) line is
  written at most once**: every put-back reads the file (opened after taking
  the lock) and skips what is already there. So two recoverers of one dead
  worker (one with a stale "absent" cache, or one killed before its marker)
  and a worker handing back a job that was just recovered all put it back
  once, and a (job, attempt) is handed to one worker, ever.
- ``events.log``: project-wide events: jobs failed after ``max_attempts``
  lost runs, expired workers, retries.
- ``drops.log``: jobs dropped by a user (see :mod:`._droplog` and
  :mod:`._drops`), committed by the ``d`` offset every cursor record
  carries. A claim passes over a dropped job (a table row or a requeue
  line) as if it were not there: the cursor moves past it and nothing is
  recorded for it, so it is never run unless an undrop puts it back. A
  claim that moved the cursor over dropped jobs only writes a ``skip``
  record (a cursor, no claims), so the next claim does not scan them again.

A claim is made durable in two steps under the lock: the claimer first
publishes, in its own lease file, the claims and the offset its claim
record will have in ``claims.log``, then appends that record. A recovering
worker trusts a dead worker's claims only if the record at that offset is
that claim, so a worker killed between the two steps neither loses nor
duplicates a job.

Every run of a job has an attempt number; a result counts only if it
belongs to the job's latest attempt (fencing), so a frozen worker that
wakes up after its job was given to another cannot add a second result.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet, Any, Callable, Iterable, Mapping

from ..._errors import ProjectError
from ._jobs import JobTable, content_key
from ._layout import Layout
from ._lock import make_lock, retry_lock_lost
from ._droplog import DropLog
from ._faults import fault_point
from ._classes import Capacity, JobClass, assign_lanes, claim_order, lane_classes
from ._lanes import append_lane_ids, read_lane_ids
from ._record_types import CursorRecord, PutBackRecord, QueueEventRecord
from ._records import append_records, iter_records, read_last_record
from ._settings import ProjectSettings

__all__ = ["Claim", "Queue", "NO_FIT"]


@dataclass(frozen=True)
class Claim:
    """One run of one job: its id, attempt number, runs lost before, its lane (:mod:`._classes`), and its hand-backs at the limit.

    ``at_limit`` (issue 21) counts the runs handed back because the
    worker's allocation was ending (walltime): they never burn
    ``max_attempts``, but a job handed back so often cannot fit in these
    allocations and is failed saying how much time it needs.
    """

    job_id: int
    attempt: int
    lost: int = 0
    lane: int = 0
    at_limit: int = 0

    def to_list(self) -> list[int]:
        out = [self.job_id, self.attempt, self.lost]
        if self.at_limit:
            return out + [self.lane, self.at_limit]
        return out + [self.lane] if self.lane else out

    @classmethod
    def from_list(cls, item: Iterable[int]) -> "Claim":
        job_id, attempt, lost, *rest = item
        return cls(int(job_id), int(attempt), int(lost), int(rest[0]) if rest else 0, int(rest[1]) if len(rest) > 1 else 0)


NO_FIT: list[Claim] = []  # sentinel identity: jobs are left but the next one does not fit


class Queue:
    """Claim, requeue and add jobs in one project directory."""

    def __init__(self, root: Path, settings: "ProjectSettings | Mapping[str, Any]"):
        self.layout = Layout(root)
        self.settings = ProjectSettings.of(settings)
        self.jobs = JobTable(self.layout.jobs_dir)
        self.lock = make_lock(
            self.settings.lock,
            self.layout.lock,
            lifetime_s=float(self.settings.lock_lease_s),
        )
        self._put_back: set[tuple[int, int]] = set()  # (job, attempt) lines already in requeue.log
        self._put_back_offset = 0
        self.drops = DropLog(self.layout.drops)
        self.last_added = 0  # rows written by the last add (issue 10: committed ones are skipped)
        self._orders: dict[tuple[Any, ...], list[int]] = {}  # lanes in claim order, per (lanes, capacity)

    # -- reading -------------------------------------------------------------
    def cursor(self) -> dict[str, Any]:
        """The last claim record: ``next``, ``rq``, ``n`` (tail read)."""
        record = read_last_record(self.layout.claims)
        if record is None:
            raise ProjectError(
                f"{str(self.layout.claims)!r} is missing or holds no valid record; "
                "the project is corrupted: create it again"
            )
        self.jobs.committed = max(self.jobs.committed, int(record["n"]))
        return record

    def dropped(self, cur: dict[str, Any]) -> set[int]:
        """The dropped jobs as of cursor ``cur``; call under the lock (reads only new drop records)."""
        return self.drops.upto(int(cur.get("d", 0)), create=True)

    @staticmethod
    def cursor_record(op: str, cur: dict[str, Any]) -> CursorRecord:
        """A new record of ``claims.log`` that carries cursor ``cur`` on (``next``, ``rq``, ``n``, ``d``, ``lanes``)."""
        record: CursorRecord = {"op": op, "next": cur["next"], "rq": cur["rq"], "n": cur["n"]}
        if "d" in cur:
            record["d"] = cur["d"]
        if "lanes" in cur:
            record["lanes"] = cur["lanes"]
        if "lk" in cur:
            record["lk"] = cur["lk"]
        return record

    # -- claiming ------------------------------------------------------------
    def claim(
        self,
        worker_id: str,
        max_n: int,
        fits: Callable[[dict[str, Any]], bool] | None = None,
        publish: Callable[[list[Claim], int], None] | None = None,
        mem_gb: float | None = None,
        n_workers: int | None = None,
        capacity: Capacity | None = None,
    ) -> list[Claim]:
        """Claim up to ``max_n`` jobs: put-back jobs first, then the table in order.

        ``n_workers`` (the live workers the claimer knows of) caps a claim at
        its share of the jobs never claimed, ``ceil(left / n_workers)``: near
        the end a worker whose claims got dear (batches grow with the lock's
        cost) does not take 400 jobs while its peers idle (issue 25).

        ``fits(row)`` may refuse a job (walltime); claiming stops at the first
        refused job, and if that is the first one :data:`NO_FIT` is returned.
        ``publish(claims, offset)`` records the claims in the worker's lease
        before the claim record is written (see the module docstring). In a
        project with memory lanes (see :mod:`._lanes`), ``mem_gb`` is the
        worker's budget: lanes that fit are tried largest first, and a lane
        whose head does not fit the walltime gives way to the next one.
        ``capacity`` (issue 21) generalizes ``mem_gb``: the worker's memory,
        time and resources; it claims from the lanes :func:`._classes.claim_order`
        gives it.
        """
        cap = capacity if capacity is not None else Capacity(mem_gb=mem_gb)
        # a process that froze under the lock past half its lease wrote nothing: it claims again
        return retry_lock_lost(lambda: self._claim_locked(worker_id, max_n, fits, publish, cap, n_workers))

    def _claim_locked(
        self,
        worker_id: str,
        max_n: int,
        fits: Callable[[dict[str, Any]], bool] | None,
        publish: Callable[[list[Claim], int], None] | None,
        cap: Capacity,
        n_workers: int | None = None,
    ) -> list[Claim]:
        with self.lock:
            fault_point("claim.locked")
            cur = self.cursor()
            n = int(cur["n"])
            if n_workers and "lanes" not in cur:  # lanes: each lane's share is not known without a scan
                max_n = max(1, min(max_n, -(-(n - int(cur["next"])) // n_workers)))
            dropped = self.dropped(cur)
            record = self.cursor_record("claim", cur)
            record["w"] = worker_id
            if "lanes" in cur:
                claims, refused = self._claim_from_lanes(cur, record, max_n, fits, cap, dropped)
            else:
                claims, refused, record["next"], record["rq"] = self._take(
                    int(cur["rq"]), 0, int(cur["next"]), n, max_n, fits, None, dropped
                )
            if not claims:
                moved = any(record.get(k) != cur.get(k) for k in ("next", "rq", "lanes"))
                if dropped and moved:  # passed over dropped jobs only: save the next claim that scan
                    record["op"] = "skip"
                    record["t"] = time.time()
                    self.lock.check_held()
                    append_records(self.layout.claims, [record])
                return NO_FIT if refused else []
            record["c"] = [c.to_list() for c in claims]
            record["t"] = time.time()
            def _publish(offset: int) -> None:
                self.lock.check_held()  # the last moment before anything is written
                if publish is not None:
                    publish(claims, offset)
                fault_point("claim.published")

            append_records(self.layout.claims, [record], before_write=_publish)
            fault_point("claim.appended")
            return claims

    def _take(
        self,
        rq: int,
        lane: int,
        pos: int,
        n: int,
        max_n: int,
        fits: Callable[[dict[str, Any]], bool] | None,
        lane_ids: Callable[[int, int], list[int]] | None,
        dropped: AbstractSet[int] = frozenset(),
    ) -> tuple[list[Claim], bool, int, int]:
        """Claims from one queue: its requeue lines from ``rq``, then its jobs from ``pos``.

        Without ``lane_ids`` the jobs are the table rows ``pos, pos + 1, …``;
        with it, ``lane_ids(pos, count)`` gives the lane's next job ids.
        Jobs in ``dropped`` are passed over (consumed, not claimed).
        Returns the claims, whether a job was refused, and the new pos and rq.
        """
        claims: list[Claim] = []
        refused = False
        for record, end in iter_records(self.layout.requeue, rq, create=True):
            if len(claims) >= max_n:
                break
            if (record is not None and "fail" not in record and "job" in record
                    and int(record.get("lane", 0)) == lane and int(record["job"]) not in dropped):  # fmt: skip
                claim = Claim(int(record["job"]), int(record["a"]), int(record.get("l", 0)), lane, int(record.get("tl", 0)))
                if fits is not None and not fits(self.jobs.get(claim.job_id)):
                    refused = True
                    break
                claims.append(claim)
            rq = end
        extra = 1024 if dropped else 0  # dropped jobs are passed over: look a little further at once
        more = True
        while more and not refused and len(claims) < max_n:
            count = max_n - len(claims) + extra
            if lane_ids is None:
                candidates: list[int] = list(range(pos, min(n, pos + count)))
            else:
                candidates = lane_ids(pos, count)
            more = len(candidates) == count
            for job in candidates:
                if len(claims) >= max_n:
                    break
                if job in dropped:
                    pos += 1
                    continue
                if fits is not None and not fits(self.jobs.get(job)):
                    refused = True
                    break
                claims.append(Claim(job, 1, 0, lane))
                pos += 1
        return claims, refused, pos, rq

    def _claim_from_lanes(
        self,
        cur: dict[str, Any],
        record: CursorRecord,
        max_n: int,
        fits: Callable[[dict[str, Any]], bool] | None,
        cap: Capacity,
        dropped: set[int],
    ) -> tuple[list[Claim], bool]:
        lanes = [list(map(int, pair)) for pair in cur["lanes"]]
        n = int(cur["n"])
        refused_any = False
        for lane in self._claim_order(cur, cap):
            pos, rq = lanes[lane]

            def lane_ids(p: int, count: int, lane: int = lane) -> list[int]:
                return read_lane_ids(self.layout.queue_dir, lane, p, count, n)

            claims, refused, pos, rq = self._take(rq, lane, pos, n, max_n, fits, lane_ids, dropped)
            refused_any = refused_any or refused
            if claims or dropped:  # a lane passed over dropped jobs keeps its new place too
                lanes[lane] = [pos, rq]
                record["lanes"] = lanes
            if claims:
                record["lane"] = lane
                return claims, False
        return [], refused_any

    def lane_of_class(self, job_class: JobClass, *, locked: bool = False) -> int:
        """The lane of ``job_class``; in a project that lists its classes, a new lane when it has none.

        A new lane is a cursor record (``op`` ``lane``) written under the lock
        before any job is put in it, so a crash between leaves an empty lane,
        never a job in a lane no worker reads. A project with memory lanes
        only has lane *k* = memory class *k*.
        """
        def step() -> int:
            cur = self.cursor()
            if "lk" not in cur:
                return job_class.mem
            key = job_class.key()
            if key in cur["lk"]:
                return int(cur["lk"].index(key))
            record = self.cursor_record("lane", cur)
            self._read_put_back()  # read to its end, opened under the lock: this lane's lines can only come after
            start = self._put_back_offset
            record["lk"], record["lanes"] = [*cur["lk"], key], [*cur["lanes"], [0, start]]
            record["t"] = time.time()
            self.lock.check_held()
            append_records(self.layout.claims, [record])
            fault_point("lane.added")
            return len(cur["lk"])

        if locked:
            return step()

        def with_lock() -> int:
            with self.lock:
                return step()

        return retry_lock_lost(with_lock)

    def _claim_order(self, cur: Mapping[str, Any], cap: Capacity) -> list[int]:
        """:func:`._classes.claim_order` for this cursor's lanes, kept until a lane is added (35% of a claim otherwise)."""
        key = (tuple(cur.get("lk") or ()), len(cur["lanes"]), cap.mem_gb, cap.limit_s, tuple(sorted(cap.resources.items())))
        order = self._orders.get(key)
        if order is None:
            if len(self._orders) > 64:  # a worker's limit is fixed: only lanes added change the key
                self._orders.clear()
            order = self._orders[key] = claim_order(lane_classes(cur), cap)
        return order

    # -- putting back --------------------------------------------------------
    def requeue(self, claims: Iterable[Claim], why: str, source: str, *, locked: bool = False) -> int:
        """Put jobs back; each claim's attempt is the attempt the next run gets.

        Returns how many were put back: a (job, attempt) already in
        ``requeue.log`` is skipped (see the module docstring).
        """
        return len(self.put_back(claims, why, source, locked=locked))

    def put_back(
        self,
        claims: Iterable[Claim],
        why: str,
        source: str,
        *,
        failed: Iterable[tuple[Claim, str]] = (),
        locked: bool = False,
        reason: str | None = None,
    ) -> list[Claim]:
        """Write the fate of runs that ended without a result, each (job, attempt) once.

        ``claims`` go back to the queue with the attempt they carry;
        ``failed`` (claim, reason) pairs are recorded as failed at that
        attempt and never handed out. Returns the claims (requeued and
        failed) that were new; the rest were already written by someone else.
        ``reason`` (issue 10) says why the runs were lost ("killed by SIGSEGV").
        """
        claims, failed = list(claims), list(failed)
        if locked:
            return self._put_back_locked(claims, failed, why, source, reason)

        def step() -> list[Claim]:
            with self.lock:
                return self._put_back_locked(claims, failed, why, source, reason)

        return retry_lock_lost(step)  # lines already written are skipped when it runs again

    def _put_back_locked(
        self, claims: list[Claim], failed: list[tuple[Claim, str]], why: str, source: str, reason: str | None = None
    ) -> list[Claim]:
        if not claims and not failed:
            return []
        fault_point("putback.locked")
        seen = self._read_put_back()
        now = time.time()
        records: list[PutBackRecord] = []
        new: list[Claim] = []
        keys: set[tuple[int, int]] = set()  # into `seen` only once written: a refused write must not hide them
        for claim, fail in [(c, None) for c in claims] + list(failed):
            key = (claim.job_id, claim.attempt)
            if key in seen or key in keys:
                continue
            keys.add(key)
            record: PutBackRecord = {
                "job": claim.job_id, "a": claim.attempt, "l": claim.lost, "why": why, "src": source, "t": now
            }
            if claim.lane:
                record["lane"] = claim.lane
            if claim.at_limit:
                record["tl"] = claim.at_limit
            if fail is not None:
                record["fail"] = fail
            if reason is not None:
                record["reason"] = reason
            records.append(record)
            new.append(claim)
        if records:
            self.lock.check_held()
            append_records(self.layout.requeue, records)
            seen.update(keys)
            fault_point("putback.written")
        return new

    def _read_put_back(self) -> set[tuple[int, int]]:
        """The (job, attempt) keys of ``requeue.log``, read incrementally; call under the lock."""
        for record, end in iter_records(self.layout.requeue, self._put_back_offset, max_bytes=-1, create=True):
            if record is not None and "job" in record:
                self._put_back.add((int(record["job"]), int(record["a"])))
            self._put_back_offset = end
        return self._put_back

    def log_event(self, records: list[QueueEventRecord]) -> None:
        """Append project-wide events; call while holding the lock."""
        self.lock.check_held()
        append_records(self.layout.events, records)

    # -- growing the table ---------------------------------------------------
    def add(self, params_jsons: list[str]) -> int:
        """Append jobs (canonical JSON) to the table and commit them; returns the new job count."""
        with self.lock:
            cur = self.cursor()
            n0 = int(cur["n"])
            # issue 10: rows already committed are skipped under the lock (concurrent adds add a job once)
            existing = self.jobs.committed_keys(n0)
            params_jsons = [t for t in params_jsons if content_key(t) not in existing]
            self.last_added = len(params_jsons)
            self.lock.renew()  # a big table takes a while to read and to write: the lease starts again
            n = self.jobs.append(params_jsons, n0, after_part=self.lock.renew)
            record = self.cursor_record("add", cur)
            record["n"], record["t"] = n, time.time()
            if "lanes" in cur:
                params = [json.loads(text) for text in params_jsons]
                by_lane = assign_lanes(n0, params, self.settings, record)  # type: ignore[arg-type]
                append_lane_ids(self.layout.queue_dir, by_lane, n0)
            fault_point("add.rows")
            self.lock.check_held()
            append_records(self.layout.claims, [record])
            fault_point("add.committed")
            return n
