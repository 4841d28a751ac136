"""Elastic SLURM workers: a second submit adds workers to a running project; status shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.backends.slurm import recorded_job_ids, slurm_workers, submit
from benchgrid.cli.main import main

from .test_slurm_real import slurm, wait_for, wait_until_ended  # noqa: F401 - the fixture is used by name


@pytest.mark.slurm
def test_second_submit_adds_workers_and_status_shows_them(slurm: None, proj_dir: Path, capsys) -> None:  # noqa: F811
    proj = Project.create(proj_dir, [{"i": i, "seconds": 2.0} for i in range(8)], "tests.runners.jobs:sleep")
    first = submit(proj, 1, time="3")
    wait_for(lambda: proj.status().counts["done"] >= 1, what="the first worker finishing a job")
    assert main(["status", str(proj_dir), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["slurm_workers"] == {"pending": 0, "running": 1, "ended": 0}
    assert main(["status", str(proj_dir)]) == 0
    assert "SLURM workers: 0 pending, 1 running, 0 ended" in capsys.readouterr().out

    second = submit(proj, 1, time="3")  # elastic: more workers for the same project
    assert recorded_job_ids(proj) == first.job_ids + second.job_ids
    wait_until_ended(proj)
    res = proj.results()
    assert (res["state"] == "done").all() and len(res) == 8
    arrays = {w.split("-")[1].split("_")[0] for w in res["worker"]}  # slurm-<array>_<task>-<pid>-<rand>
    assert arrays == {first.job_ids[0], second.job_ids[0]}, res["worker"].tolist()
    assert all(r["phase"] == "ended" for r in slurm_workers(proj))
