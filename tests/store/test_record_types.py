"""What workers write in events.log is what the record types say: every key declared, every kind known."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import get_type_hints

import benchgrid as bg
from benchgrid.store import HandbackRecord, ResultRecord, handbacks_of
from benchgrid.store._records import read_records

from ..worker.helpers import start_worker, wait_exit, wait_state

KEYS = {"done": set(get_type_hints(ResultRecord)), "error": set(get_type_hints(ResultRecord)),
        "handback": set(get_type_hints(HandbackRecord))}


def test_worker_records_have_only_declared_keys(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i, "seconds": 30.0 if i == 5 else 0.0} for i in range(12)],
                             "tests.runners.jobs:sleep_or_fail")
    # jobs 0-4 end done or error; SIGTERM while job 5 sleeps: the worker hands it (and the rest of its
    # batch) back, one handback record each
    worker = start_worker(proj_dir, "w1")
    wait_state(proj_dir, 5, "running", timeout_s=60)
    worker.send_signal(signal.SIGTERM)
    wait_exit(worker, 30)
    assert proj.status().counts["queued"] >= 1
    seen = set()
    for log in proj_dir.glob("workers/*/events.log"):
        for rec in read_records(log)[0]:
            op = rec.get("op")
            assert op in KEYS, rec
            assert set(rec) <= KEYS[op], f"{op} record has undeclared keys {set(rec) - KEYS[op]}"
            seen.add(op)
    assert seen == {"done", "error", "handback"}
    leases = [p.name for p in (proj_dir / "workers").iterdir()]
    handbacks = handbacks_of(proj_dir, leases)
    assert sum(len(v) for v in handbacks.values()) > 0
    assert all(r["op"] == "handback" and "why" in r for v in handbacks.values() for r in v)
