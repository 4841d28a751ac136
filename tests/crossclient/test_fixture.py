"""Without the bed, cross-client tests skip on a workstation and fail under CI=true (an error in setup: never a pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ONE_BED_TEST = "tests/crossclient/test_bed.py::test_flock_is_not_shared_between_clients"


def _run_without_bed(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENCHGRID_TWO_CLIENTS": str(tmp_path / "no bed here")}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", ONE_BED_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("ci, outcome, code", [(None, "1 skipped", 0), ("true", "1 error", 1)])
def test_missing_bed_skips_outside_ci_and_fails_under_ci(tmp_path, ci, outcome, code):
    p = _run_without_bed(tmp_path, ci)
    assert p.returncode == code, p.stdout[-3000:]
    assert outcome in p.stdout
    assert "the two-client test bed is not up" in p.stdout and "scripts/two-clients start" in p.stdout


def test_local_pair_is_one_folder_and_bed_pair_two_views(fs_pair):
    (fs_pair.a / "x").write_text("1")
    assert (fs_pair.b / "x").read_text() == "1" and (fs_pair.backing / "x").read_text() == "1"
    assert (fs_pair.a == fs_pair.b) is (not fs_pair.caching)
    assert " " in fs_pair.a.name and "'" in fs_pair.a.name
    with pytest.raises(ValueError, match="side must be 'a' or 'b', got 'c'"):
        fs_pair.on("c")
