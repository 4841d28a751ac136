"""ML projects set expected memory per job (issue 13): estimated at two sizes, or given; retries use observed peaks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor

import benchgrid as bg
from benchgrid._errors import InputError
from benchgrid.ml._demo import demo_grid
from benchgrid.store.storage._lanes import MEM_CLASSES_GB, lane_of
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records


def _grid() -> dict:
    g = demo_grid(n_rows=60)
    g["learners"]["extra"] = ExtraTreesRegressor(n_estimators=3)  # its scores depend on its seed
    return g


def test_estimated_memory_is_the_memory_key_and_changes_no_result(tmp_path: Path) -> None:
    g = _grid()
    with_mem = bg.Project.create(tmp_path / "mem", g["tasks"], g["learners"], g["cv"], measures=["rmse"],
                                 memory_gb="estimated")
    plain = bg.Project.create(tmp_path / "plain", g["tasks"], g["learners"], g["cv"], measures=["rmse"])
    assert with_mem.settings["memory_key"] == "expected_mem_gb" and plain.settings.get("memory_key") is None
    jobs = with_mem.jobs()
    assert (jobs["expected_mem_gb"] > 0.01).all() and (jobs["expected_mem_gb"] < 8).all()
    assert with_mem.metadata["ml"]["memory_gb"] == "estimated"
    # real worker processes with a budget claim from the lanes; results are those of the plain project
    assert with_mem.run(n_workers=2, progress=False, mem_gb=16).exit_code == 0
    assert plain.run(n_workers=2, progress=False).exit_code == 0
    keys = ["task_id", "learner_id", "iteration", "train.subsets", "test.subset"]
    a = with_mem.scores().sort_values(keys).reset_index(drop=True)
    b = plain.scores().sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) == len(jobs)
    pd.testing.assert_series_equal(a["rmse"], b["rmse"])  # same seeds: the memory column is not in them
    assert a["peak_mem_mb"].notna().all()
    html = bg.write_report(with_mem, tmp_path / "report.html").read_text()  # memory per job, drawn
    assert '<figure id="plot-memory">' in html and "against the expected memory (expected_mem_gb)" in html


def test_memory_given_per_learner_or_pair(tmp_path: Path) -> None:
    g = demo_grid(n_rows=60)
    proj = bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"],
                             memory_gb={"rpart": 3.0, ("easy", "featureless"): 0.3})
    jobs = proj.jobs()
    got = jobs.groupby(["task_id", "learner_id"])["expected_mem_gb"].agg(lambda s: s.iloc[0])
    assert got.loc[("easy", "rpart")] == 3.0 and got.loc[("easy", "featureless")] == 0.3
    assert pd.isna(got.loc[("impossible", "featureless")])  # not named: the smallest class
    assert sorted(p.name for p in Layout(proj.path).queue_dir.glob("lane-*.ids")) == [
        "lane-00.ids", f"lane-{lane_of(3.0):02d}.ids"]


@pytest.mark.parametrize(("memory_gb", "match"), [
    ("lots", "memory_gb must be 'estimated' or a dict of GB per learner_id or \\(task_id, learner_id\\), got 'lots'"),
    ({"nope": 1.0}, "memory_gb key 'nope' names no learner_id nor \\(task_id, learner_id\\) of the grid"),
    ({"rpart": -1}, "memory_gb\\['rpart'\\] must be a number of GB > 0, got -1"),
])
def test_bad_memory_gb_is_refused_and_nothing_written(tmp_path: Path, memory_gb: object, match: str) -> None:
    g = demo_grid(n_rows=60)
    with pytest.raises(InputError, match=match):
        bg.Project.create(tmp_path / "p", g["tasks"], g["learners"], g["cv"], memory_gb=memory_gb)
    assert not (tmp_path / "p").exists()


def test_retry_uses_the_observed_peak_of_the_group_when_higher(tmp_path: Path) -> None:
    jobs = [{"i": 0, "g": "big", "mem_gb": 0.1, "peak_mb": 3000.0},
            {"i": 1, "g": "big", "mem_gb": 0.1, "fail": True},
            {"i": 2, "g": "small", "mem_gb": 0.1, "fail": True}]
    proj = bg.Project.create(tmp_path / "p", jobs, "tests.runners.jobs:report_peak", memory_key="mem_gb",
                             duration_key=["g"])
    assert proj.run(n_workers=0, progress=False).exit_code == 1
    assert proj.retry(errors=True) == 2
    lanes = {r["job"]: r.get("lane", 0) for r in read_records(Layout(proj.path).requeue)[0]}
    assert lanes == {1: lane_of(3000 / 1024), 2: 0}  # 2.93 GB seen in its group: the 4 GB class
    assert MEM_CLASSES_GB[lanes[1]] == 4.0
