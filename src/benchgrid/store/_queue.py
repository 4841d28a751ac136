"""The claim protocol: who runs which job, at O(1) cost per claim.

Three shared logs, written only while holding the project lock:

- ``claims.log``: one record per claim. Every record carries the queue
  cursor: ``next`` (first job of the table never claimed), ``rq`` (byte
  offset of the first unconsumed line of ``requeue.log``) and ``n`` (number
  of committed jobs). A claim reads only the last record (a tail read),
  the few requeue lines after ``rq`` and the rows it claims.
- ``requeue.log``: jobs put back: a lease expired (``lost`` + 1), a worker
  handed its job back (SIGTERM), or a user asked for a retry. Each line
  carries the attempt number the next run will have.
- ``events.log``: project-wide events: jobs failed after ``max_attempts``
  lost runs, expired workers, retries.

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

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .._errors import ProjectError
from ._jobs import JobTable
from ._layout import Layout
from ._lock import make_lock
from ._records import append_records, iter_records, read_last_record

__all__ = ["Claim", "Queue", "NO_FIT"]


@dataclass(frozen=True)
class Claim:
    """One run of one job: its id, attempt number and how many runs were lost before."""

    job_id: int
    attempt: int
    lost: int = 0

    def to_list(self) -> list[int]:
        return [self.job_id, self.attempt, self.lost]

    @classmethod
    def from_list(cls, item: Iterable[int]) -> "Claim":
        job_id, attempt, lost = item
        return cls(int(job_id), int(attempt), int(lost))


NO_FIT: list[Claim] = []  # sentinel identity: jobs are left but the next one does not fit


class Queue:
    """Claim, requeue and add jobs in one project directory."""

    def __init__(self, root: Path, settings: dict[str, Any]):
        self.layout = Layout(root)
        self.settings = settings
        self.jobs = JobTable(self.layout.jobs_dir)
        self.lock = make_lock(
            settings.get("lock", "lease"),
            self.layout.lock,
            lifetime_s=float(settings.get("lock_lease_s", 15)),
        )

    # -- reading -------------------------------------------------------------
    def cursor(self) -> dict[str, Any]:
        """The last claim record: ``next``, ``rq``, ``n`` (tail read)."""
        record = read_last_record(self.layout.claims)
        if record is None:
            raise ProjectError(
                f"{str(self.layout.claims)!r} is missing or holds no valid record; "
                "the project is corrupted: create it again"
            )
        return record

    # -- claiming ------------------------------------------------------------
    def claim(
        self,
        worker_id: str,
        max_n: int,
        fits: Callable[[dict[str, Any]], bool] | None = None,
        publish: Callable[[list[Claim], int], None] | None = None,
    ) -> list[Claim]:
        """Claim up to ``max_n`` jobs: put-back jobs first, then the table in order.

        ``fits(row)`` may refuse a job (walltime); claiming stops at the first
        refused job, and if that is the first one :data:`NO_FIT` is returned.
        ``publish(claims, offset)`` records the claims in the worker's lease
        before the claim record is written (see the module docstring).
        """
        with self.lock:
            cur = self.cursor()
            next_id, rq, n = int(cur["next"]), int(cur["rq"]), int(cur["n"])
            claims: list[Claim] = []
            refused = False
            for record, end in iter_records(self.layout.requeue, rq):
                if len(claims) >= max_n:
                    break
                if record is not None:
                    claim = Claim(record["job"], record["a"], record.get("l", 0))
                    if fits is not None and not fits(self.jobs.get(claim.job_id)):
                        refused = True
                        break
                    claims.append(claim)
                rq = end
            while not refused and len(claims) < max_n and next_id < n:
                if fits is not None and not fits(self.jobs.get(next_id)):
                    refused = True
                    break
                claims.append(Claim(next_id, 1, 0))
                next_id += 1
            if not claims:
                return NO_FIT if refused else []
            record = {
                "op": "claim",
                "w": worker_id,
                "c": [c.to_list() for c in claims],
                "next": next_id,
                "rq": rq,
                "n": n,
                "t": time.time(),
            }
            append_records(
                self.layout.claims,
                [record],
                before_write=None if publish is None else (lambda offset: publish(claims, offset)),
            )
            return claims

    # -- putting back --------------------------------------------------------
    def requeue(self, claims: Iterable[Claim], why: str, source: str, *, locked: bool = False) -> int:
        """Put jobs back; each claim's attempt is the attempt the next run gets."""
        now = time.time()
        records = [
            {"job": c.job_id, "a": c.attempt, "l": c.lost, "why": why, "src": source, "t": now} for c in claims
        ]
        if not records:
            return 0
        if locked:
            append_records(self.layout.requeue, records)
        else:
            with self.lock:
                append_records(self.layout.requeue, records)
        return len(records)

    def log_event(self, records: list[dict[str, Any]]) -> None:
        """Append project-wide events; call while holding the lock."""
        append_records(self.layout.events, records)

    # -- growing the table ---------------------------------------------------
    def add(self, params_jsons: list[str]) -> int:
        """Append jobs (canonical JSON) to the table and commit them; returns the new job count."""
        with self.lock:
            cur = self.cursor()
            n = self.jobs.append(params_jsons, int(cur["n"]))
            append_records(
                self.layout.claims,
                [{"op": "add", "next": cur["next"], "rq": cur["rq"], "n": n, "t": time.time()}],
            )
            return n
