"""Disk full: one clear line, a distinct exit code, and nothing lost once space is freed (a real small tmpfs)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_DISK_FULL, EXIT_OK

from ..worker.helpers import audit
from .helpers import cli


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted for this test (CI runs as root)."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("mounting a tmpfs needs root (CI runs as root and does not skip)")
    mnt = tmp_path / "small disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """Fill ``disk`` until only ``leave_kb`` kilobytes are free; return the filler file."""
    filler = disk / "filler"
    free_kb = shutil.disk_usage(disk).free // 1024
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free_kb - leave_kb) * 1024)
    return filler


def test_disk_fills_mid_run_then_space_is_freed(small_disk: Path) -> None:
    root = small_disk / "proj"
    n = 200
    proj = bg.Project.create(root, [{"i": i, "kb": 2} for i in range(n)], "tests.runners.misbehave:big_result",
                             lease_s=1.0)  # the second run takes back the dead workers' jobs after 1 s
    filler = fill(small_disk, leave_kb=100)  # room for some results, not all
    res = cli("run", str(root), "--workers", "2", "--no-progress")
    assert res.returncode == EXIT_DISK_FULL, res.stderr
    assert "disk full writing " in res.stderr and "; free space and run again" in res.stderr
    assert "Traceback" not in res.stderr
    assert 0 < proj.status().counts["done"] < n
    filler.unlink()
    res = cli("run", str(root), "--workers", "2", "--no-progress")
    assert res.returncode == EXIT_OK, res.stderr
    assert proj.status().counts["done"] == n
    a = audit(root)  # the raw logs, read apart from the state reader: every job has a result
    assert sorted(a.done_per_job()) == list(range(n))
    assert list(proj.results()["i"]) == list(range(n))


def test_disk_full_before_any_job(small_disk: Path) -> None:
    root = small_disk / "proj"
    bg.Project.create(root, [{"i": i} for i in range(5)], "tests.runners.jobs:noop", lease_s=1.0)
    filler = fill(small_disk, leave_kb=0)
    res = cli("work", str(root))
    assert res.returncode == EXIT_DISK_FULL
    assert res.stderr.strip().splitlines()[-1].startswith("benchgrid: disk full writing ")
    assert "Traceback" not in res.stderr
    filler.unlink()
    assert cli("run", str(root), "--no-progress").returncode == EXIT_OK


def test_a_worker_restarted_in_its_allocation_on_a_full_disk_ends_once_and_says_why(small_disk: Path) -> None:
    """``work --restart-crashed`` (every scheduler script's): a full disk is not a crash to restart after."""
    root = small_disk / "proj"
    bg.Project.create(root, [{"i": i} for i in range(5)], "tests.runners.jobs:noop", lease_s=1.0)
    filler = fill(small_disk, leave_kb=0)
    res = cli("work", str(root), "--restart-crashed", "--until", "+300s")
    assert res.returncode == EXIT_DISK_FULL, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("benchgrid: disk full writing ")
    assert "Traceback" not in res.stderr and "starting a new worker" not in res.stderr, res.stderr
    filler.unlink()
    assert cli("run", str(root), "--no-progress").returncode == EXIT_OK


def test_init_on_a_full_disk_leaves_nothing(small_disk: Path) -> None:
    jobs = small_disk.parent / "jobs.json"
    jobs.write_text("[" + ",".join(f'{{"i": {i}, "pad": "{"p" * 200}"}}' for i in range(5000)) + "]")  # 1.2 MB of rows
    filler = fill(small_disk, leave_kb=100)
    res = cli("init", str(small_disk / "proj"), "--jobs", str(jobs), "--runner", "tests.runners.jobs:noop")
    assert res.returncode == EXIT_DISK_FULL and "Traceback" not in res.stderr
    assert f"disk full writing {str(small_disk / 'proj')!r}; free space and run again" in res.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no project, no temp folder
    filler.unlink()
    res = cli("init", str(small_disk / "proj"), "--jobs", str(jobs), "--runner", "tests.runners.jobs:noop")
    assert res.returncode == 0, res.stderr


def test_worker_log_on_a_full_disk_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    """A worker.log line that cannot be written is dropped, not printed as a logging traceback."""
    from benchgrid.worker._event_log import _QuietFileHandler

    log = logging.getLogger("benchgrid.test.full")
    handler = _QuietFileHandler("/dev/full")  # every write fails with ENOSPC
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("a line the disk has no room for")
    finally:
        handler.close()
        log.removeHandler(handler)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    plain = logging.FileHandler("/dev/full")  # the stdlib handler does print: the test can fail
    log.addHandler(plain)
    try:
        log.warning("again")
    finally:
        log.removeHandler(plain)
        try:
            plain.close()
        except OSError:
            pass
    assert "Logging error" in capsys.readouterr().err
