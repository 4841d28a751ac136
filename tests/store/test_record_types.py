"""What workers write in events.log is what the record types say: every key declared, every kind known."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import get_type_hints

import benchgrid as bg
from benchgrid.store import HandbackRecord, ResultRecord, handbacks_of
from benchgrid.store.storage._records import read_records

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


def test_queue_logs_and_leases_have_only_declared_keys(proj_dir: Path) -> None:
    """claims.log, requeue.log, events.log, drops.log and lease.json against their types, after a
    run with memory lanes, a job budget, a drop and undrop, a retry, an add and a lease expiry."""
    from benchgrid.store import CursorRecord, DropRecord, Lease, PutBackRecord, QueueEventRecord

    proj = bg.Project.create(proj_dir, [{"i": i, "mem_gb": 0.1} for i in range(30)], "tests.runners.jobs:fail_some",
                             memory_key="mem_gb", max_attempts=2, lease_s=1.0)
    proj.run(n_workers=1, progress=False, max_jobs=10)
    proj.drop(where={"i": 25})
    proj.undrop(where={"i": 25})
    proj.retry(errors=True)
    worker = start_worker(proj_dir, "killed")  # killed holding jobs: its lease expires, another recovers
    wait_state(proj_dir, 10, ("running", "done", "error"), timeout_s=60)
    worker.kill()
    wait_exit(worker, 30)
    proj.add_jobs([{"i": 100, "mem_gb": 0.1}])
    proj.run(n_workers=2, progress=False)
    declared = {
        "queue/claims.log": set(get_type_hints(CursorRecord)),
        "queue/requeue.log": set(get_type_hints(PutBackRecord)),
        "queue/events.log": set(get_type_hints(QueueEventRecord)),
        "queue/drops.log": set(get_type_hints(DropRecord)),
    }
    for name, keys in declared.items():
        records = read_records(proj_dir / name)[0]
        assert records or name == "queue/events.log", name
        for rec in records:
            assert set(rec) <= keys, f"{name}: undeclared keys {set(rec) - keys}"
    import json

    lease_keys = set(get_type_hints(Lease))
    for path in proj_dir.glob("workers/*/lease.json"):
        assert set(json.loads(path.read_text())) <= lease_keys, path
