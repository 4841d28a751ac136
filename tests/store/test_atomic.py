"""The one atomic writer: old or new content, never half; the right mode; the only place that renames."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid.store import atomic_path, write_atomic

SRC = Path(__file__).resolve().parents[2] / "src" / "benchgrid"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_atomic(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target, project=False) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("the writer failed midway")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_writer_killed_midway_leaves_the_old_file(tmp_path: Path) -> None:
    """A real process SIGKILLed inside the block: the target keeps its old content."""
    target = tmp_path / "lease.json"
    write_atomic(target, '{"v": 1}')
    code = (
        "import os, signal, sys\n"
        "from benchgrid.store import atomic_path\n"
        f"with atomic_path({str(target)!r}) as tmp:\n"
        "    tmp.write_text('{\"v\": 2, \"torn')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_text() == '{"v": 1}'
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "lease.json"]
    assert len(leftovers) == 1 and re.fullmatch(r"\.lease\.json\.\d+-[0-9a-f]{8}\.tmp", leftovers[0])


def test_modes_project_files_from_the_folder_user_files_from_the_umask(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o2770)  # a group-shared project folder: its files are 0660
    write_atomic(shared / "a.json", "{}")
    assert (shared / "a.json").stat().st_mode & 0o777 == 0o660
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.html", "<html>", project=False)
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


def test_a_link_in_place_of_the_temp_name_is_not_followed(tmp_path: Path) -> None:
    """The temp file is created exclusively: a planted link is never written through."""
    victim = tmp_path / "victim"
    victim.write_text("keep")
    write_atomic(tmp_path / "x.json", "{}")
    assert victim.read_text() == "keep"
    (tmp_path / "x.json").unlink()
    (tmp_path / "x.json").symlink_to(victim)  # the target itself a link: replaced, not followed
    write_atomic(tmp_path / "x.json", "{}")
    assert victim.read_text() == "keep" and not (tmp_path / "x.json").is_symlink()


def test_every_replace_in_the_package_goes_through_the_one_writer() -> None:
    """No module renames files over others by itself (issue 14: one atomic writer)."""
    offenders = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
        if p.name != "_atomic.py" and re.search(r"os\.replace\(|tempfile\.mkstemp\(", p.read_text())
    ]
    assert offenders == []
