"""The project directory end to end with real worker processes: create, run, add, results, status."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

import benchgrid as bg
from benchgrid.cli.main import main
from benchgrid.store import check_trust
from benchgrid.store.storage._trust import GroupWarning

RUNNER = "tests.runners.jobs:echo"


def test_run_gives_one_row_per_job_with_provenance(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(50)], RUNNER)
    status = proj.run(n_workers=2, progress=False)
    assert status.finished and status.counts["done"] == 50
    df = proj.results()
    assert len(df) == 50 and list(df.job_id) == list(range(50))
    assert (df["value"] == df["i"] * 2).all()
    for col in ("state", "attempt", "worker", "host", "pid", "claimed_at", "started_at", "ended_at", "duration_s"):
        assert df[col].notna().all(), col
    assert (df.attempt == 1).all()
    # UTC datetimes (issue 12)
    assert str(df.started_at.dtype) == "datetime64[ns, UTC]"
    assert (df.ended_at >= df.started_at).all()
    assert (df.started_at >= df.claimed_at - pd.Timedelta(milliseconds=1)).all()


def test_debug_mode_runs_in_this_process(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(5)], "tests.runners.jobs:sleep")
    proj.run(n_workers=0, progress=False)
    df = proj.results()
    assert set(df["pid"]) == {__import__("os").getpid()}


def test_seeds_depend_on_the_job_not_the_worker(tmp_path: Path) -> None:
    jobs = [{"i": i} for i in range(40)]
    a = bg.Project.create(tmp_path / "a", jobs, "tests.runners.jobs:seeded", random_state=7)
    b = bg.Project.create(tmp_path / "b", list(reversed(jobs)), "tests.runners.jobs:seeded", random_state=7)
    c = bg.Project.create(tmp_path / "c", jobs, "tests.runners.jobs:seeded", random_state=8)
    a.run(n_workers=0, progress=False)
    b.run(n_workers=3, progress=False)
    c.run(n_workers=0, progress=False)
    seeds_a = a.results().set_index("i")["seed"].sort_index()
    seeds_b = b.results().set_index("i")["seed"].sort_index()
    seeds_c = c.results().set_index("i")["seed"].sort_index()
    assert (seeds_a == seeds_b).all()
    assert seeds_a.nunique() == 40
    assert (seeds_a != seeds_c).all()
    # the documented seed, whether the worker computes it at once or when the runner asks
    from benchgrid.store import job_seed

    keys = a.jobs().set_index("i")["key"]
    assert [int(seeds_b[i]) for i in range(40)] == [job_seed(7, keys[i]) for i in range(40)]


def test_jobs_added_while_workers_run_are_picked_up(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i, "seconds": 0.05} for i in range(20)], "tests.runners.jobs:sleep")
    worker = subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj_dir)])
    try:
        deadline = time.time() + 30
        while proj.status().counts["done"] == 0 and time.time() < deadline:
            time.sleep(0.02)
        added = proj.add_jobs([{"i": i, "seconds": 0.05 if i < 20 else 0.0} for i in range(15, 40)])  # 15..19 exist
        assert added == 20
    finally:
        assert worker.wait(timeout=60) == 0
    df = proj.results()
    assert len(df) == 40 and (df.state == "done").all()
    assert df.job_id.tolist() == list(range(40))


def test_status_json_and_results_file(proj_dir: Path, capsys) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(10)], "tests.runners.jobs:fail_some")
    proj.run(n_workers=1, progress=False)
    assert main(["status", str(proj_dir), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["done"] == 6 and status["counts"]["error"] == 4
    assert status["errors"][0]["error"].startswith("ValueError: job")
    assert "retry" in status["hint"]
    out = proj_dir.parent / "results.parquet"
    assert main(["results", str(proj_dir), "-o", str(out)]) == 0
    import pandas as pd

    df = pd.read_parquet(out)
    assert len(df) == 10 and set(df.state) == {"done", "error"}
    assert df.loc[df.state == "error", "error"].str.contains("fails on purpose").all()


def test_files_are_private_by_default(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": 1}], RUNNER)
    proj.run(n_workers=1, progress=False)
    for path in [proj_dir, *proj_dir.rglob("*")]:
        mode = path.stat().st_mode
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), (path, oct(mode))
    check_trust(proj_dir)  # does not raise


def test_group_shared_opens_to_the_group_only(proj_dir: Path) -> None:
    with warnings.catch_warnings():  # the private-group warning: tests/security, with a real user
        warnings.simplefilter("ignore", GroupWarning)
        bg.Project.create(proj_dir, [{"i": 1}], RUNNER, group_shared=True)
    mode = (proj_dir / "project.json").stat().st_mode
    assert mode & stat.S_IWGRP and not mode & stat.S_IRWXO
    check_trust(proj_dir)


def test_refuses_inputs_others_can_write(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": 1}], RUNNER)
    (proj_dir / "inputs" / "learner.pkl").write_bytes(b"x")
    (proj_dir / "inputs" / "learner.pkl").chmod(0o620)
    with pytest.raises(bg.ProjectError, match=r"learner.pkl. is writable by group .* \(the project is not group-shared\).*chmod -R go-w"):
        check_trust(proj_dir)


def test_claim_reads_only_the_tail(proj_dir: Path) -> None:
    """O(1) claims: the cursor comes from the last claim record, whatever the log's length."""
    from benchgrid.store import Queue, read_project_json

    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(3000)], RUNNER)
    queue = Queue(proj.path, read_project_json(proj.path)["settings"])
    for _ in range(1000):
        queue.claim("w", 1)
    import benchgrid.store.storage._records as records

    reads: list[int] = []
    original = records._read_bytes

    def spy(path, offset=0, size=-1, **kwargs):
        data = original(path, offset, size, **kwargs)
        reads.append(len(data))
        return data

    records._read_bytes = spy
    try:
        claims = queue.claim("w", 5)
    finally:
        records._read_bytes = original
    assert [c.job_id for c in claims] == [1000, 1001, 1002, 1003, 1004]
    claims_log_size = (proj_dir / "queue" / "claims.log").stat().st_size
    assert claims_log_size > 60_000 and sum(reads) < 20_000


def test_walltime_rule_stops_claiming_jobs_that_cannot_fit(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i, "seconds": 1.0} for i in range(6)], "tests.runners.jobs:sleep")
    until = time.time() + 2.5
    proc = subprocess.run(
        [sys.executable, "-m", "benchgrid", "work", str(proj_dir), "--until", str(until)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0
    assert "no remaining job is expected to finish before the deadline" in proc.stderr
    counts = proj.status().counts
    assert counts["done"] == 2 and counts["pending"] == 4 and counts["queued"] == 0
    assert time.time() <= until + 1.0  # it stopped instead of starting a third 1 s job


def test_deadline_hands_back_the_running_job(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": 0, "seconds": 30.0}], "tests.runners.jobs:sleep", lease_s=2)
    proc = subprocess.run(
        [sys.executable, "-m", "benchgrid", "work", str(proj_dir), "--until", "+2s"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    status = proj.status()
    assert status.counts["queued"] == 1 and status.counts["done"] == 0
    state = proj.state()
    assert state.requeued[0][0] == 2 and state.requeued[0][2] == "handback"
