"""Damage is loud: a missing or damaged project file makes status, results and work exit 2 naming the file;
a bad lease.json never hides done results; garbage inside a log never freezes a job."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_OK
from benchgrid.store.storage._layout import Layout

from .helpers import cli

N = 30


@pytest.fixture
def done_project(proj_dir: Path) -> Path:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(N)], "tests.runners.jobs:echo")
    assert proj.run(n_workers=1, progress=False).counts["done"] == N
    return proj_dir


def _truncate_part(root: Path) -> str:
    part = root / "jobs" / "part-00000.jsonl"
    part.write_bytes(part.read_bytes()[:-30])
    return "part-00000.jsonl' is truncated or damaged"


def _remove_part(root: Path) -> str:
    (root / "jobs" / "part-00000.jsonl").unlink()
    return "part-00000.jsonl' is missing"


def _remove_claims(root: Path) -> str:
    Layout(root).claims.unlink()
    return "claims.log' is missing"


def _garble_claims(root: Path) -> str:
    Layout(root).claims.write_bytes(b"\x00" * 100)
    return "claims.log' holds no valid record"


def _garble_project_json(root: Path) -> str:
    (root / "project.json").write_bytes(b'{"format": 1, "run')
    return "project.json' is corrupted"


@pytest.mark.parametrize("damage", [_truncate_part, _remove_part, _remove_claims, _garble_claims, _garble_project_json])
@pytest.mark.parametrize("command", ["status", "results", "work"])
def test_damaged_file_exit_2_naming_it(done_project: Path, damage: Callable[[Path], str], command: str) -> None:
    name, what = damage(done_project).split("' ")  # the path is quoted with ' or " (it holds a ')
    res = cli(command, str(done_project))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert f"{name}' {what}" in res.stderr.replace('"', "'") and "Traceback" not in res.stderr
    assert any(w in res.stderr for w in ("restore", "create the project again", "check"))


def test_bad_lease_never_hides_done_results(done_project: Path) -> None:
    for lease in (done_project / "workers").glob("*/lease.json"):
        lease.write_bytes(b"{garbage")
    proj = bg.Project.open(done_project)
    st = proj.status()
    assert st.counts["done"] == N and st.counts["running"] == 0
    assert list(proj.results()["state"]) == ["done"] * N


def test_garbage_inside_logs_never_freezes_a_job(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(N)], "tests.runners.jobs:echo", lease_s=600.0)
    proj.run(n_workers=1, progress=False, max_jobs=10)
    layout = Layout(proj_dir)
    for log in (layout.claims, layout.requeue, layout.events):
        with open(log, "ab") as f:
            f.write(b"\x17garbage in the middle of the log \xff\xfe\n")
            f.write(b"and a torn line without end")
    assert cli("run", str(proj_dir), "--workers", "2", "--no-progress").returncode == EXIT_OK
    assert proj.status().counts["done"] == N


def test_a_damaged_claim_record_never_freezes_run(proj_dir: Path) -> None:
    """40 bytes overwritten inside claims.log: the jobs it named are not left pending forever."""
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(N)], "tests.runners.jobs:echo", lease_s=600.0)
    proj.run(n_workers=1, progress=False, max_jobs=10)
    claims = Layout(proj_dir).claims
    data = bytearray(claims.read_bytes())
    second = data.index(b"\n") + 1  # the first claim record (after the init record)
    data[second + 12 : second + 52] = b"\xff" * 40
    claims.write_bytes(bytes(data))
    res = cli("run", str(proj_dir), "--workers", "2", "--no-progress", timeout_s=120)
    assert res.returncode == EXIT_OK, res.stderr
    st = proj.status()
    assert st.counts["done"] == N and st.finished


def test_job_of_a_worker_whose_lease_is_damaged_is_stranded_not_running_forever(proj_dir: Path) -> None:
    import time

    from ..worker.helpers import start_worker, stop_all, wait_started

    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 600.0}],
                             "tests.runners.jobs:mark_and_sleep", lease_s=600.0)
    w = start_worker(proj_dir, "victim")
    try:
        wait_started(markers, 0, 1, timeout_s=60)
    finally:
        stop_all([w])  # SIGKILL: its lease still says "running"
    for lease in (proj_dir / "workers").glob("*/lease.json"):
        lease.write_bytes(b"\x00garbage")
    state = proj.state()
    assert state.state_of(0) == "running"  # a moment ago: its lease may not be visible yet
    assert state.state_of(0, now=time.time() + 120) == "stranded"  # later: nobody runs it, and status says so


def test_check_reports_a_truncated_job_table(done_project: Path) -> None:
    _truncate_part(done_project)
    res = cli("check", str(done_project))
    assert res.returncode == 1 and "damaged file" in res.stdout and "part-00000.jsonl" in res.stdout


def _restored_mid_run(proj_dir: Path, lanes: bool = False) -> tuple[bg.Project, bytes]:
    """A claims.log copied while the project ran, put back after it went on: it lost its last records.

    With ``lanes``, jobs of two memory classes (0.1 and 0.6 GB expected: lanes 0 and 1).
    """
    jobs = [{"i": i, "mem_gb": 0.6 if i % 3 == 0 else 0.1} if lanes else {"i": i} for i in range(2 * N)]
    proj = bg.Project.create(proj_dir, jobs, "tests.runners.jobs:echo", memory_key="mem_gb" if lanes else None)
    assert proj.run(n_workers=2, progress=False, max_jobs=N // 2).counts["done"] >= N // 2
    backup = Layout(proj_dir).claims.read_bytes()
    assert proj.run(n_workers=2, progress=False).counts["done"] == 2 * N
    after = Layout(proj_dir).claims.read_bytes()
    Layout(proj_dir).claims.write_bytes(backup)
    return proj, after


def _events_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "workers").glob("*/events.log"))


@pytest.mark.parametrize("lanes", [False, True], ids=["plain", "memory_lanes"])
@pytest.mark.parametrize("command", ["status", "run", "work", "results"])
def test_claims_log_that_lost_its_last_records_is_damage_before_anything_runs(proj_dir: Path, command: str,
                                                                               lanes: bool) -> None:
    """Issue 23: status said "N done" silently, results showed done jobs with NaN results and attempt 0,
    and run ran those jobs again under the same attempt; only `check` noticed. With memory lanes, a
    first run is judged by its lane's cursor."""
    _restored_mid_run(proj_dir, lanes=lanes)
    before = _events_bytes(proj_dir)
    args = ["--workers", "2", "--no-progress"] if command == "run" else []
    res = cli(command, str(proj_dir), *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    err = res.stderr.replace('"', "'")
    assert "claims.log' lost its last records: workers have results of runs it never handed out" in err
    assert "Restore the claims.log that goes with workers/*/events.log" in err and "Traceback" not in err
    if lanes:
        assert "past its memory class's cursor at entry" in err and "lane-0" in err, err
    assert _events_bytes(proj_dir) == before  # nothing ran, nothing was recorded


def test_claims_log_with_memory_lanes_restored_in_full_runs_again(proj_dir: Path) -> None:
    proj, after = _restored_mid_run(proj_dir, lanes=True)
    with pytest.raises(bg.ProjectError, match=r"lost its last records: .*past its memory class's cursor"):
        proj.status()
    Layout(proj_dir).claims.write_bytes(after)
    assert proj.status().counts["done"] == 2 * N
    assert cli("check", str(proj_dir)).returncode == 0


def test_claims_log_restored_in_full_runs_again(proj_dir: Path) -> None:
    proj, after = _restored_mid_run(proj_dir)
    with pytest.raises(bg.ProjectError, match=r"claims.log.? lost its last records: .*past the cursor at job"):
        proj.status()
    Layout(proj_dir).claims.write_bytes(after)  # the fix the message gives
    assert proj.status().counts["done"] == 2 * N
    assert cli("check", str(proj_dir)).returncode == 0


def test_results_never_show_a_done_job_without_its_result(proj_dir: Path) -> None:
    """A claim record garbled inside the log (its successors carry the cursor on): the jobs it named are done
    with their results and attempt 1, never done with NaN and attempt 0."""
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(N)], "tests.runners.jobs:echo")
    assert proj.run(n_workers=1, progress=False, max_batch=1).counts["done"] == N
    claims = Layout(proj_dir).claims
    data = bytearray(claims.read_bytes())
    second = data.index(b"\n") + 1  # the first claim record (after the init record)
    data[second + 12 : second + 52] = b"\xff" * 40
    claims.write_bytes(bytes(data))
    table = proj.results()
    done = table[table["state"] == "done"]
    assert len(done) == N and done["value"].notna().all() and set(done["attempt"]) == {1}
