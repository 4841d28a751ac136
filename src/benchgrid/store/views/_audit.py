"""``benchgrid check``: prove from the logs alone that every job was handed out once.

The claim protocol is deterministic given the logs: each claim record must
take exactly the requeue lines between the previous cursor's ``rq`` and its
own, then the table rows between the previous ``next`` and its own. Replaying
``claims.log`` against ``requeue.log`` therefore finds, without trusting any
lease or marker:

- a (job, attempt) claimed twice (a stale cursor, a double recovery);
- a cursor that went backwards;
- a claim that neither the queue nor the table explains;
- a (job, attempt) put back twice;
- a job with more than one accepted result, or one (job, attempt) with
  several results;
- a claim of a dropped job (a claim not explained: the replay applies the
  drop records each cursor commits), a commit that does not end a drop
  record, and a job the queue passed over while it was dropped that was
  brought back (undrop) without being put back: it could never run;
- damaged lines inside a log (a torn tail left by a killed writer and closed
  with ``~torn`` is a note, not a problem).

The outcome is saved in ``queue/check.json`` so that ``status`` can say when
the last check found something.

Examples
--------
>>> import tempfile, pathlib
>>> report = audit_logs(pathlib.Path(tempfile.mkdtemp()), save=False)
>>> report.ok, report.problems[0].split(":")[0]
(False, 'missing file')
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..._errors import ProjectError
from ..storage._integrity import check_integrity
from ..storage._droplog import DROP_OPS, apply_drop_records
from ..storage._lanes import read_lane_ids
from ..storage._layout import Layout
from ..storage._safe_io import open_file
from ..storage._records import TORN_TAIL_MARK, iter_records, read_json, write_json_atomic

__all__ = ["AuditReport", "audit_logs", "last_audit"]

MAX_LISTED = 20  # problems of one kind listed in full; the rest are counted


@dataclass
class AuditReport:
    """What ``benchgrid check`` found: problems (exit 1) and notes (harmless)."""

    root: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_claims: int = 0  # claim records in claims.log (one may hand out a batch of small jobs)
    n_claimed: int = 0  # runs handed out by them: (job, attempt) pairs
    n_results: int = 0
    t: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class _Findings:
    def __init__(self, report: AuditReport):
        self.report = report
        self.counts: dict[str, int] = defaultdict(int)

    def problem(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= MAX_LISTED:
            self.report.problems.append(f"{kind}: {text}")

    def close(self) -> None:
        for kind, n in self.counts.items():
            if n > MAX_LISTED:
                self.report.problems.append(f"{kind}: {n - MAX_LISTED} more not listed")


def _lines(path: Path, found: _Findings, report: AuditReport) -> list[tuple[dict[str, Any] | None, int, int]]:
    """(record or None, start, end) of every complete line; damaged lines reported."""
    raw = iter_records(path, 0, max_bytes=-1)
    out = []
    start = 0
    data: bytes | None = None
    for record, end in raw:
        if record is None:
            if data is None:
                with open_file(path, "rb") as f:
                    data = f.read()
            if data[start:end].endswith(TORN_TAIL_MARK):
                report.notes.append(f"{path.name}: a write cut short by a crash at byte {start} (closed, ignored)")
            else:
                found.problem("damaged line", f"{path} bytes {start}-{end} fail their checksum (ignored by readers)")
        out.append((record, start, end))
        start = end
    return out


def audit_logs(root: Path, *, save: bool = True) -> AuditReport:
    """Replay a project's logs and report every violation of the claim protocol.

    Parameters
    ----------
    root : Path
        The project directory.
    save : bool
        Write the outcome to ``queue/check.json`` for ``status``.
    """
    root = Path(root)
    layout = Layout(root)
    report = AuditReport(root=str(root), t=time.time())
    found = _Findings(report)
    if not layout.claims.is_file():
        found.problem("missing file", f"{layout.claims} does not exist; the project cannot hand out jobs")
        found.close()
        return report

    try:  # issue 10: a truncated or missing job-table part, a claims.log with no valid record
        check_integrity(root)
    except ProjectError as err:
        found.problem("damaged file", str(err))
    requeue = _lines(layout.requeue, found, report) if layout.requeue.exists() else []
    put_back_at: dict[tuple[int, int], int] = {}
    for record, start, _end in requeue:
        if record is None or "job" not in record:
            continue
        key = (int(record["job"]), int(record["a"]))
        if key in put_back_at:
            found.problem("put back twice", f"job {key[0]} attempt {key[1]} at bytes {put_back_at[key]} and {start} of requeue.log")
        else:
            put_back_at[key] = start
    requeue_starts = [start for _r, start, _e in requeue]
    drops = _Drops(_lines(layout.drops, found, report) if layout.drops.exists() else [], found)

    claimed_by: dict[tuple[int, int], tuple[str, int]] = {}
    prev: dict[str, int] | None = None
    prev_lanes: list[list[int]] | None = None
    for record, start, _end in _lines(layout.claims, found, report):
        if record is None:
            continue
        cur = {k: int(record.get(k, 0)) for k in ("next", "rq", "n", "d")}
        drops.commit(cur["d"], start)
        if prev is not None:
            for k in ("next", "rq", "n", "d"):
                if cur[k] < prev[k]:
                    found.problem(
                        "cursor went backwards",
                        f"claims.log byte {start}: {k} {cur[k]} after {prev[k]} ({record.get('w', record.get('op'))})",
                    )
        lanes = record.get("lanes")
        if lanes is not None and prev_lanes is not None:
            for lane_no, ((pos, rq), (ppos, prq)) in enumerate(zip(lanes, prev_lanes)):
                if pos < ppos or rq < prq:
                    found.problem(
                        "cursor went backwards", f"claims.log byte {start}: lane {lane_no} {[pos, rq]} after {[ppos, prq]}"
                    )
        if record.get("op") in ("claim", "skip"):
            worker = str(record.get("w", "a skip record"))
            claims = [(int(c[0]), int(c[1])) for c in record.get("c", [])]
            if record.get("op") == "claim":
                report.n_claims += 1
                report.n_claimed += len(claims)
            if lanes is not None and prev_lanes is not None:
                for lane, (now_at, was_at) in enumerate(zip(lanes, prev_lanes)):
                    if list(now_at) == list(was_at) and lane != record.get("lane"):
                        continue
                    expected = drops.filter(_expected_lane_claims(
                        layout, requeue, requeue_starts, lane, was_at, now_at, cur["n"]
                    ))
                    took = claims if lane == record.get("lane") else []
                    if took != expected:
                        found.problem(
                            "claim not explained",
                            f"claims.log byte {start} by {worker} took {took[:8]} but lane {lane} held {expected[:8]}",
                        )
            elif prev is not None:
                expected = drops.filter(_expected_claims(requeue, requeue_starts, prev, cur))
                if claims != expected:
                    found.problem(
                        "claim not explained",
                        f"claims.log byte {start} by {worker} took {claims[:8]} but the queue held {expected[:8]}",
                    )
            for key in claims:
                if key in claimed_by:
                    first_w, first_at = claimed_by[key]
                    found.problem(
                        "claimed twice",
                        f"job {key[0]} attempt {key[1]} by {first_w} (byte {first_at}) and {worker} (byte {start})",
                    )
                else:
                    claimed_by[key] = (worker, start)
        prev = cur if prev is None else {k: max(prev[k], cur[k]) for k in cur}
        if lanes is not None:
            # a lane added (issue 21: a class first needed) starts where its record says
            prev_lanes = lanes if prev_lanes is None else [
                [max(a, c), max(b, d)] for (a, b), (c, d) in zip(prev_lanes, lanes)
            ] + [list(pair) for pair in lanes[len(prev_lanes):]]
    _audit_results(layout, found, report, claimed_by, put_back_at)
    drops.close(claimed_by, put_back_at, report)
    found.close()
    if save:
        try:
            write_json_atomic(layout.queue_dir / "check.json", report.to_dict())
        except OSError:
            report.notes.append("could not save the outcome to queue/check.json (read-only project?)")
    return report


class _Drops:
    """The drop records in effect at each point of the replay, and the jobs passed over while dropped."""

    def __init__(self, lines: list[tuple[dict[str, Any] | None, int, int]], found: _Findings):
        self.lines = lines
        self.ends = {0} | {end for _r, _s, end in lines}
        self.found = found
        self.applied = 0  # lines applied
        self.committed = 0
        self.dropped: set[int] = set()
        self.passed: dict[int, int] = {}  # job -> attempt the queue passed over while it was dropped

    def commit(self, d: int, at: int) -> None:
        if d == self.committed:
            return
        if d not in self.ends:
            self.found.problem("drop not explained", f"claims.log byte {at} commits drops.log up to byte {d}, "
                                                     "which ends no drop record")
        self.committed = max(self.committed, d)
        while self.applied < len(self.lines) and self.lines[self.applied][2] <= self.committed:
            record = self.lines[self.applied][0]
            if record is not None and record.get("op") in DROP_OPS:
                apply_drop_records(self.dropped, [record])
            self.applied += 1

    def filter(self, expected: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
        """What a claim takes of what the queue held (job, attempt, from the table): the jobs not dropped.

        The others are passed over: a table row leaves attempt 0 used (an
        undrop puts it back as attempt 1), a requeue line its own attempt.
        """
        out = []
        for job, attempt, from_table in expected:
            if job in self.dropped:
                used = 0 if from_table else attempt
                self.passed[job] = max(self.passed.get(job, 0), used)
            else:
                out.append((job, attempt))
        return out

    def close(
        self, claimed_by: dict[tuple[int, int], Any], put_back_at: dict[tuple[int, int], int], report: AuditReport
    ) -> None:
        if self.lines and self.lines[-1][2] > self.committed:
            report.notes.append(f"drops.log: bytes past {self.committed} were never committed "
                                "(a drop or undrop cut short by a crash; ignored)")
        latest: dict[int, int] = {}
        for job, attempt in list(claimed_by) + list(put_back_at):
            latest[job] = max(latest.get(job, 0), attempt)
        for job, used in sorted(self.passed.items()):
            if job not in self.dropped and latest.get(job, 0) <= used:
                self.found.problem(
                    "lost by an undrop",
                    f"job {job} was passed over while dropped (attempt {used + 1} never ran) and brought back "
                    "without being put back: no worker can claim it",
                )


def _expected_claims(
    requeue: list[tuple[dict[str, Any] | None, int, int]], starts: list[int], prev: dict[str, int], cur: dict[str, int]
) -> list[tuple[int, int, bool]]:
    import bisect

    out = []
    for record, start, _end in requeue[bisect.bisect_left(starts, prev["rq"]) :]:
        if start >= cur["rq"]:
            break
        if record is not None and "job" in record and "fail" not in record:
            out.append((int(record["job"]), int(record["a"]), False))
    out += [(j, 1, True) for j in range(prev["next"], cur["next"])]
    return out


def _expected_lane_claims(
    layout: Layout,
    requeue: list[tuple[dict[str, Any] | None, int, int]],
    starts: list[int],
    lane: int,
    prev: list[int],
    cur: list[int],
    n: int,
) -> list[tuple[int, int, bool]]:
    import bisect

    out = []
    for record, start, _end in requeue[bisect.bisect_left(starts, prev[1]) :]:
        if start >= cur[1]:
            break
        if record is not None and "job" in record and "fail" not in record and int(record.get("lane", 0)) == lane:
            out.append((int(record["job"]), int(record["a"]), False))
    if cur[0] > prev[0]:
        out += [(j, 1, True) for j in read_lane_ids(layout.queue_dir, lane, prev[0], cur[0] - prev[0], n)]
    return out


def _audit_results(
    layout: Layout,
    found: _Findings,
    report: AuditReport,
    claimed_by: dict[tuple[int, int], tuple[str, int]],
    put_back_at: dict[tuple[int, int], int],
) -> None:
    results: dict[tuple[int, int], list[str]] = defaultdict(list)
    if layout.workers_dir.is_dir():
        for wdir in sorted(layout.workers_dir.iterdir()):
            events = wdir / "events.log"
            if not events.exists():
                continue
            for record, _start, _end in _lines(events, found, report):
                if record is not None and record.get("op") in ("done", "error"):
                    key = (int(record["job"]), int(record["a"]))
                    results[key].append(wdir.name)
                    if claimed_by.get(key, ("",))[0] != wdir.name:
                        found.problem("result not explained", f"{wdir.name} recorded job {key[0]} attempt {key[1]} without claiming it")
    report.n_results = sum(len(v) for v in results.values())
    latest: dict[int, int] = {}
    for job, attempt in list(claimed_by) + list(put_back_at):
        latest[job] = max(latest.get(job, 0), attempt)
    for (job, attempt), workers in sorted(results.items()):
        if len(workers) > 1:
            kind = "several accepted results" if attempt == latest.get(job) else "several results"
            found.problem(kind, f"job {job} attempt {attempt} recorded by {', '.join(workers)}")


def last_audit(root: Path) -> dict[str, Any] | None:
    """The saved outcome of the last ``benchgrid check``, or None."""
    try:
        value = read_json(Layout(Path(root)).queue_dir / "check.json")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
