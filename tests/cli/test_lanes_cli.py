"""Pools of workers with their own memory, time and resources: bad input is refused whole (issue 21)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchgrid.cli.main import main

RUNNER = "tests.runners.jobs:echo"


@pytest.fixture
def project(proj_dir: Path) -> Path:
    jobs = proj_dir.parent / "jobs.json"
    jobs.write_text(json.dumps([{"i": 0}, {"i": 1, "gpus": 1, "expected_s": 90}]))
    assert main(["init", str(proj_dir), "--jobs", str(jobs), "--runner", RUNNER,
                 "--time-key", "expected_s", "--resource-key", "gpus"]) == 0
    return proj_dir


@pytest.mark.parametrize(("pool", "message"), [
    ("8x", r"--pool must be WORKERSxMEMORY\[\+COUNTRESOURCE\]\[@TIME\] such as 20x4G, .* got '8x'"),
    ("2x16G+gpu+1gpus", r"each resource once, a count >= 1"),
    ("2x16G+0gpu", r"each resource once, a count >= 1"),
    ("2x4G@3h", r"--pool's time must be minutes, MM:SS, HH:MM:SS.* got '3h' in '2x4G@3h'"),
    ("2x16G+1fpga", r"resource 'fpga' is not one of this project's resources \(resource_keys: \['gpus'\]\); "
                    r"create the project with resource_keys=\['fpga'\]"),
])
def test_bad_pools_exit_2_and_submit_nothing(project: Path, capsys, pool: str, message: str) -> None:
    before = sorted(p.name for p in project.iterdir())
    code = main(["submit", str(project), "--pool", "1x1G", "--pool", pool, "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(message, err), err
    assert sorted(p.name for p in project.iterdir()) == before


def test_a_gpu_pool_asks_the_scheduler_for_its_gpus(project: Path, capsys) -> None:
    assert main(["submit", str(project), "--pool", "2x16G+1gpu@0:30:00", "--dry-run"]) == 0
    script = capsys.readouterr().out
    assert "#SBATCH --gres=gpu:1" in script and "--resource gpus=1" in script and "#SBATCH --time=0:30:00" in script
    assert main(["submit", str(project), "--backend", "sge", "--pool", "2x16G+1gpu", "--dry-run"]) == 0
    assert "-l gpu=1" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--gpus", "-1"], r"--gpus must be a count of GPUs >= 0, got -1"),
    (["--resource", "gpus=-1"], r"--resource must be NAME=COUNT with a count >= 0, such as gpus=1, got 'gpus=-1'"),
    (["--resource", "fpga=1"], r"resource 'fpga' is not one of this project's resources"),
])
def test_bad_worker_resources_exit_2(project: Path, capsys, argv: list[str], message: str) -> None:
    code = main(["work", str(project), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(message, err), err
    assert not any((project / "workers").iterdir())  # no worker started
