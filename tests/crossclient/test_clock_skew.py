"""Exactly once whatever the clocks say (issue 25, invariant 10).

Two workers with the true clock on client A and two under libfaketime on
client B (Debian's ``faketime``: every ``time()`` of the process is shifted),
on one local folder and on the two caching clients of the bed. Before leases
were judged by what the observer itself saw, a worker 90 s ahead judged the
healthy workers' leases over within 0.2 s and revoked them: jobs claimed
twice by two live workers, and jobs stranded once every worker had exited.

Each run ends with: every worker exit 0, every job done exactly once at
attempt 1 (no worker was revoked, nothing was put back), no ``revoked``
marker and no ``expired`` event, ``benchgrid check`` clean, nothing left
stranded.

The clock that jumps is a host whose wall clock is stepped while it runs
(``date -s``, an NTP step): its monotonic clock does not move, which
``FAKETIME_DONT_FAKE_MONOTONIC=1`` models (without it libfaketime would jump
the monotonic clock too, which no kernel does). libfaketime 0.9.10 then
fails ``clock_nanosleep`` on the monotonic clock (``time.sleep`` raises
EINVAL), so those workers get a ``sitecustomize`` that sleeps with
``select`` instead: a fix of the test harness, not of benchgrid.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records
from tests.worker.helpers import stderr_of, stop_all, wait_exit, wait_until, worker_cmd

from .helpers import assert_done_exactly_once, check_clean

N_JOBS = 2_000
FAKETIME = shutil.which("faketime")


def _need_faketime() -> None:
    if FAKETIME is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is missing (Debian package faketime); .ci/run installs it")
        pytest.skip("needs Debian's faketime (apt-get install faketime)")


def _libfaketime() -> str:
    """The library the ``faketime`` wrapper preloads (Debian: ``/usr/lib/<arch>/faketime/libfaketime.so.1``).

    Workers get it through ``LD_PRELOAD`` and ``FAKETIME`` (what ``faketime -f``
    sets), not through the wrapper: the wrapper creates a named semaphore
    ``/faketime_sem_<its pid>`` with ``O_EXCL`` and removes it only when it
    exits cleanly, so one killed by the test left it in ``/dev/shm``, and a
    later wrapper given the same pid failed "sem_open: File exists" (CI).
    """
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail(f"libfaketime.so.1 not found beside {FAKETIME} (Debian package faketime)")
    return found[0]


def _start(root: Path, name: str, out_dir: Path, fake: str | None = None, env: dict[str, str] | None = None):
    extra = dict(env or {})
    if fake is not None:
        extra.update(LD_PRELOAD=_libfaketime(), FAKETIME=fake)
    err = open(out_dir / f"{name}.err", "wb")
    try:
        return subprocess.Popen(worker_cmd(root, name), stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **extra})
    finally:
        err.close()


def _wait_workers(root: Path, n: int) -> None:
    workers = Layout(root).workers_dir
    wait_until(lambda: len(list(workers.glob("*/lease.json"))) >= n, 60, f"{n} workers to start")


def _assert_nobody_revoked(backing: Path) -> None:
    layout = Layout(backing)
    revoked = [d.name for d in layout.workers_dir.iterdir() if (d / "revoked").exists()]
    assert revoked == [], f"healthy workers revoked: {revoked}"
    events, _ = read_records(layout.queue_dir / "events.log")
    assert [e for e in events if e.get("op") == "expired"] == []


def _run(fs_pair, tmp_path, skewed: list[subprocess.Popen[bytes]] | None = None, **skew) -> None:
    proj = fs_pair.a / "proj"
    # a short lease makes a wrong judgement show within the run: 5 s against a skew of up to an hour
    Project.create(proj, [{"i": i, "seconds": 0.004} for i in range(N_JOBS)], "tests.runners.jobs:sleep",
                   lease_s=5, lock_lease_s=2)
    names = ["a0", "a1", "b0", "b1"]
    procs = []
    try:
        for n in names:
            fake = skew.get("fake") if n[0] == "b" else None
            env = skew.get("env") if n[0] == "b" else None
            procs.append(_start(fs_pair.on(n[0]) / "proj", n, tmp_path, fake, env))
        if "jumps" in skew:
            _wait_workers(fs_pair.backing / "proj", 4)
            for spec in skew["jumps"]:
                time.sleep(0.5)  # the cadence of the jumps, not a wait for an event
                skew["rc_file"].write_text(spec + "\n")
        codes = [wait_exit(p, timeout_s=300) for p in procs]
    finally:
        stop_all(procs)
    assert codes == [0] * 4, [stderr_of(proj, n, out_dir=tmp_path) for n, c in zip(names, codes) if c]
    a, fenced = assert_done_exactly_once(fs_pair.backing / "proj", N_JOBS)
    assert fenced == 0 and {at for _j, at, _w in a.claims} == {1}, "a job was run again: a healthy worker was revoked"
    _assert_nobody_revoked(fs_pair.backing / "proj")
    skewed_claims = sum(1 for _j, _a, w in a.claims if w.startswith("b"))
    assert skewed_claims > 0, "the skewed workers took no job: the test proved nothing"
    check_clean(fs_pair.backing / "proj")


@pytest.mark.slow
@pytest.mark.parametrize("offset", ["+5s", "-5s", "+90s", "-90s", "+1h", "-1h"])
def test_workers_with_a_skewed_clock_hand_out_each_job_once_and_revoke_nobody(fs_pair, tmp_path, offset):
    _need_faketime()
    _run(fs_pair, tmp_path, fake=offset)


@pytest.mark.slow
def test_a_clock_that_jumps_while_workers_run_revokes_nobody(fs_pair, tmp_path):
    _need_faketime()
    rc = tmp_path / "faketime.rc"
    rc.write_text("+0\n")
    env = {"FAKETIME_TIMESTAMP_FILE": str(rc), "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    # faketime's -f would override the file; LD_PRELOAD through faketime with the file alone
    _run(fs_pair, tmp_path, fake=None, env=_preload(env, tmp_path / "shim"), jumps=["+3600", "-3600", "+0"], rc_file=rc)


SLEEP_SHIM = "import select, time\ntime.sleep = lambda s: select.select([], [], [], max(0.0, s)) and None\n"


def _preload(env: dict[str, str], shim_dir: Path) -> dict[str, str]:
    """The environment faketime itself sets (its library preloaded), with ``env`` on top, and the sleep shim."""
    shim_dir.mkdir()
    (shim_dir / "sitecustomize.py").write_text(SLEEP_SHIM)
    path = os.pathsep.join(filter(None, [str(shim_dir), os.environ.get("PYTHONPATH")]))
    return {"LD_PRELOAD": _libfaketime(), "PYTHONPATH": path, **env}


def test_a_worker_whose_clock_is_days_off_refuses_to_start_naming_the_offset(tmp_path):
    _need_faketime()
    proj = tmp_path / "proj"
    Project.create(proj, [{"i": i} for i in range(3)], "tests.runners.jobs:echo")
    p = subprocess.run(worker_cmd(proj, "w"), capture_output=True, text=True, timeout=120,
                       env={**os.environ, "LD_PRELOAD": _libfaketime(), "FAKETIME": "+2d"})
    assert p.returncode == 2, p.stderr
    assert "clock" in p.stderr and "48:00:00 ahead of the file server's" in p.stderr and "chronyc" in p.stderr
    assert list(Layout(proj).workers_dir.iterdir()) == []  # nothing half-written


def test_status_names_a_live_worker_whose_clock_is_off(tmp_path):
    _need_faketime()
    proj = tmp_path / "proj"
    Project.create(proj, [{"i": i, "seconds": 0.5} for i in range(40)], "tests.runners.jobs:sleep")
    w = _start(proj, "w", tmp_path, fake="+90s")
    try:
        _wait_workers(proj, 1)
        out = subprocess.run([sys.executable, "-m", "benchgrid", "status", str(proj)], capture_output=True, text=True,
                             timeout=120).stdout
    finally:
        stop_all([w])
    assert "have a clock off the file server's" in out and "+1:30" in out, out
