"""Local workers forked from a preloaded server keep every guarantee of a fresh worker process.

Real processes and real signals: a forked worker must hand its job back on
SIGTERM and SIGINT (its signal mask set before any thread starts), a
SIGKILLed worker must be seen as ``-9`` by its parent, a server that dies
must not hang its parent, a changed environment must get a new server, and
a user's script without a ``__main__`` guard must not run again in workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid.backends.local import _forkserver
from benchgrid.backends.local._forkserver import UNKNOWN_EXIT, ForkedProcess, ForkServer, server_for, spawn_worker
from benchgrid.backends.local import worker_command

from ..worker.helpers import assert_exactly_one_accepted, wait_exit, wait_started, wait_state, wait_until

HANDBACK_BITS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}


def _blocked(pid: int, tid: str) -> set[int]:
    text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    mask = int(next(line for line in text.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
    return {s for s in range(1, 65) if mask >> (s - 1) & 1}


def _caught(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line for line in text.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return {s for s in range(1, 65) if mask >> (s - 1) & 1}


@pytest.fixture
def server():
    s = ForkServer(preload=("tests.runners.heavy",))
    yield s
    s.close()


def _mark_project(proj_dir: Path, runner: str = "tests.runners.jobs:mark_and_sleep") -> Path:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    bg.Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 120.0}], runner, lease_s=60.0)
    return markers


def test_run_uses_forked_workers_and_runs_each_job_once(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(200)], "tests.runners.jobs:echo")
    status = proj.run(n_workers=2, progress=False)
    assert status.finished and status.counts["done"] == 200
    assert_exactly_one_accepted(proj_dir, 200)
    server = server_for(())
    pids = set(proj.results()["pid"])
    assert len(pids) <= 2
    for pid in pids:  # the workers were children of the server, not of this process
        assert pid != os.getpid()
    assert server.alive
    # a second run reuses the same server
    proj2 = bg.Project.create(proj_dir.parent / "second", [{"i": 1}], "tests.runners.jobs:echo")
    proj2.run(n_workers=1, progress=False)
    assert server_for(()) is server


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["TERM", "INT"])
def test_forked_worker_with_blas_threads_hands_back_on_signal(proj_dir: Path, server: ForkServer, signum, exit_code):
    markers = _mark_project(proj_dir, "tests.runners.heavy:mark_and_sleep_numpy")
    proc = server.spawn(worker_command(str(proj_dir), name="forked")[3:])
    try:
        pid = wait_started(markers, 0, 1, timeout_s=60)
        assert pid == proc.pid
        threads = os.listdir(f"/proc/{pid}/task")
        assert len(threads) > 2  # the signal thread, the heartbeat, BLAS's pool
        # the process catches the hand-back signals (a BLAS thread that takes a SIGTERM runs the handler,
        # it does not die by it), and the main thread, which runs the job, does not block them: the
        # job's child processes start with them unblocked (worker/_signals.py)
        assert HANDBACK_BITS <= _caught(pid)
        assert not HANDBACK_BITS & _blocked(pid, str(pid))
        os.kill(pid, signum)
        assert proc.wait(timeout=10) == exit_code
        state = wait_state(proj_dir, 0, "queued", timeout_s=5)
        assert state.latest_attempt(0) == 2
    finally:
        proc.kill()


def test_sigkilled_forked_worker_is_seen_as_minus_9(proj_dir: Path, server: ForkServer) -> None:
    markers = _mark_project(proj_dir)
    proc = server.spawn(worker_command(str(proj_dir), name="victim")[3:])
    pid = wait_started(markers, 0, 1, timeout_s=60)
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert proc.returncode == -9 and proc.poll() == -9
    # not lost: the worker's pid is gone on this host, so the job shows stranded until someone takes it back
    assert wait_state(proj_dir, 0, "stranded", timeout_s=10)


def test_worker_errors_keep_their_exit_codes(tmp_path: Path, server: ForkServer) -> None:
    proc = server.spawn(["work", str(tmp_path / "missing")])
    assert proc.wait(timeout=30) == 2


def test_a_dead_server_does_not_hang_its_parent(proj_dir: Path) -> None:
    server = ForkServer()
    try:
        markers = _mark_project(proj_dir)
        proc = server.spawn(worker_command(str(proj_dir), name="orphan")[3:])
        pid = wait_started(markers, 0, 1, timeout_s=60)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        wait_until(lambda: not server.alive, 10, "the handle to see the server gone")
        assert proc.poll() is None  # the worker runs on without its server
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
        os.kill(pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == UNKNOWN_EXIT  # gone, exit status unknowable
        with pytest.raises(RuntimeError, match="fork server"):
            server.spawn(["--version"])
    finally:
        server.close()


def test_changed_environment_gets_a_new_server(monkeypatch: pytest.MonkeyPatch) -> None:
    first = server_for(())
    monkeypatch.setenv("BENCHGRID_TEST_VALUE", "changed")
    second = server_for(())
    assert second is not first and second.alive
    proc = second.spawn(["--version"])
    assert proc.wait(timeout=30) == 0
    assert wait_until(lambda: first.proc.poll() is not None, 10, "the stale server to end") is not None


def test_spawn_worker_falls_back_to_a_new_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BENCHGRID_FORKSERVER", "0")
    proc = spawn_worker(worker_command(str(tmp_path / "missing")), "tests.runners.jobs:echo")
    assert isinstance(proc, subprocess.Popen)
    assert wait_exit(proc, 30) == 2
    monkeypatch.delenv("BENCHGRID_FORKSERVER")
    proc = spawn_worker(worker_command(str(tmp_path / "missing")), "tests.runners.jobs:echo")
    assert isinstance(proc, ForkedProcess)
    assert proc.wait(timeout=30) == 2


def test_script_without_main_guard_runs_once(tmp_path: Path) -> None:
    """multiprocessing's forkserver would re-run this script in every worker."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import benchgrid as bg
        with open({str(tmp_path / 'ran.txt')!r}, "a") as f:
            f.write("ran\\n")
        proj = bg.Project.create({str(tmp_path / 'proj')!r}, [{{"i": i}} for i in range(20)], "tests.runners.jobs:echo")
        print(proj.run(n_workers=2, progress=False).counts["done"])
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "20"
    assert (tmp_path / "ran.txt").read_text() == "ran\n"
    assert _forkserver.supported()


def test_create_starts_the_server_for_any_runner_without_preloading_a_users_module(proj_dir: Path) -> None:
    """Project.create starts the local workers' server (its imports overlap the writing); run() reuses it."""
    _forkserver._close_all()
    bg.Project.create(proj_dir, [{"i": i} for i in range(20)], "tests.runners.jobs:echo")
    servers = [s for s in _forkserver._servers.values() if s.alive]
    assert len(servers) == 1
    assert servers[0].preload == _forkserver.BASE_PRELOAD  # the user's module is imported by each worker
    assert bg.Project.open(proj_dir).run(n_workers=2, progress=False).counts["done"] == 20
    assert server_for(()) is servers[0]


def test_a_server_that_never_forked_is_not_waited_for_when_closed(tmp_path: Path, monkeypatch) -> None:
    """A process that created a project and ends without running it does not wait for the server's imports."""
    inside = tmp_path / "importing"
    (tmp_path / "slow_import.py").write_text(f"open({str(inside)!r}, 'w').close()\nimport time\ntime.sleep(120)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    server = ForkServer(preload=("slow_import",))
    wait_until(inside.exists, 60, "the server inside its slow import")
    t0 = time.monotonic()
    server.close()  # kills it: before, it waited 10 s for the server to read the closed socket, then killed it
    assert server.proc.returncode == -signal.SIGKILL
    assert time.monotonic() - t0 < 8
