"""CLI hygiene: a closed pipe, an output path that cannot be written, nonsense options and settings."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import benchgrid as bg

from .helpers import cli


@pytest.fixture
def project(proj_dir: Path) -> Path:
    bg.Project.create(proj_dir, [{"i": i, "text": "x" * 50} for i in range(3000)], "tests.runners.jobs:echo")
    return proj_dir


def test_pipe_closed_by_head_exits_quietly(project: Path) -> None:
    cmd = f"{shlex.quote(sys.executable)} -m benchgrid jobs {shlex.quote(str(project))} --limit 0 | head -1"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.count("\n") == 1
    assert res.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"


@pytest.mark.parametrize(
    "args, message",
    [
        (["results", "{dir}", "-o", "{tmp}/no such folder/out.csv"], "no such folder' does not exist; create it first"),
        (["report", "{dir}", "-o", "{tmp}/missing/report.html"], "missing' does not exist"),
        (["plot", "{dir}", "timeline", "-o", "{tmp}/missing/t.png"], "missing' does not exist"),
        (["work", "{dir}", "--until", "nan"], "--until must be a finite time, got 'nan'"),
        (["run", "{dir}", "--job-timeout", "inf"], "--job-timeout must be a number of seconds > 0 and at most 31536000"),
        # issue 23: absurd limits are refused with the rule, not taken as a limit
        (["run", "{dir}", "--job-timeout", "1e300"], "and at most 31536000 (365 days), got 1e+300; leave it out"),
        (["work", "{dir}", "--job-timeout", "4e7"], "--job-timeout must be a number of seconds > 0 and at most"),
        (["submit", "{dir}", "--backend", "local", "--workers", "1"],
         "so backend must be 'slurm' or 'sge', got 'local'; run on this machine"),
        (["submit", "{dir}", "--backend", "pbs", "--workers", "1"], "so backend must be 'slurm' or 'sge', got 'pbs'"),
        (["jobs", "{dir}", "--limit", "-1"], "--limit must be >= 0"),
        (["status", "{dir}", "--json", "--watch"], "--json and --watch do not go together"),
    ],
)
def test_refused_with_exit_2_and_a_message(project: Path, tmp_path: Path, args: list[str], message: str) -> None:
    res = cli(*[a.format(dir=project, tmp=tmp_path) for a in args])
    assert res.returncode == 2, res.stderr
    assert message in res.stderr.replace('"', "'") and "Traceback" not in res.stderr


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("mounting a read-only tmpfs needs root (CI runs as root and does not skip)")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_output_on_a_read_only_filesystem(project: Path, read_only_dir: Path) -> None:
    res = cli("results", str(project), "-o", str(read_only_dir / "out.csv"))
    assert res.returncode == 2 and "is on a read-only file system; choose another path" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"lease_s": float("inf")}, "lease_s must be a number > 0 and finite"),
        ({"lease_s": float("nan")}, "lease_s must be a number > 0 and finite"),
        ({"random_state": "abc"}, "random_state must be an integer"),
        ({"job_timeout_s": -1}, r"job_timeout_s must be a number of seconds > 0 and at most 31536000 \(365 days\)"),
        ({"job_timeout_s": 1e300}, r"job_timeout_s must be .* at most 31536000 \(365 days\), got 1e\+300"),
        ({"max_attempts": True}, "max_attempts must be an integer >= 1"),
    ],
)
def test_nonsense_settings_refused_at_creation(proj_dir: Path, setting: dict, message: str) -> None:
    with pytest.raises(bg.InputError, match=message):
        bg.Project.create(proj_dir, [{"i": 1}], "tests.runners.jobs:noop", **setting)
    assert not proj_dir.exists()


def test_run_closing_hint_shows_the_real_path(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": i, "fail_every": 2} for i in range(4)], "tests.runners.jobs:fail_some")
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert res.returncode == 1
    assert shlex.quote(str(proj_dir)) in res.stdout and " DIR" not in res.stdout
