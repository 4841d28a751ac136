"""plot_timeline on a real project drained by real workers: files, rows, panels, states."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import benchgrid as bg
from benchgrid import InputError, plot_timeline
from benchgrid.plots._timeline import timeline_segments, timeline_summary
from tests.worker.helpers import start_worker, wait_exit, wait_until

if TYPE_CHECKING:
    import pandas as pd

# Workers import this module for its runner: pandas (and numpy's BLAS threads)
# are imported in the tests only, so the worker's SIGTERM hand-back is not
# raced by threads started before it blocks the signal.

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}
N_JOBS = 16


def sleep_or_fail(i: int, seconds: float, learner_id: str) -> dict[str, float]:
    """The runner of this module's project: sleep, and fail every 5th job.

    Job 0's first attempt leaves a marker next to the project and sleeps long
    enough to be caught running.
    """
    job = bg.current_job()
    if i == 0 and job.attempt == 1:
        (job.project_dir.parent / "job-0-started").touch()
        seconds = 30.0
    time.sleep(seconds)
    if i % 5 == 4:
        raise ValueError(f"job {i} fails on purpose")
    return {"slept": seconds}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> bg.Project:
    """A project whose job 0 was handed back (SIGTERM) by one worker, then drained by 3 others."""
    root = tmp_path_factory.mktemp("timeline") / "a 'run'" / "proj"
    root.parent.mkdir()
    jobs = [{"i": i, "seconds": 0.6 if i == 0 else 0.05 + 0.05 * (i % 4),
             "learner_id": ["tree", "linear"][i % 2]} for i in range(N_JOBS)]
    proj = bg.Project.create(root, jobs, f"{__name__}:sleep_or_fail", lease_s=5)
    first = start_worker(root, "early")
    wait_until((root.parent / "job-0-started").exists, 60, "job 0 to start")
    first.send_signal(signal.SIGTERM)
    wait_exit(first, 30)
    status = proj.run(n_workers=3, progress=False)
    assert status.finished
    return proj


def test_segments_hold_done_error_and_handed_back(project: bg.Project) -> None:
    seg = timeline_segments(project)
    assert set(seg["state"]) == {"done", "error", "handed back"}
    assert (seg["state"] == "handed back").sum() == 1
    assert seg.loc[seg["state"] == "handed back", "learner_id"].tolist() == ["tree"]
    assert (seg["state"] == "error").sum() == len([i for i in range(N_JOBS) if i % 5 == 4])
    assert (seg["end"] >= seg["start"]).all()
    # every label is "host pid" of a worker that ran something
    assert seg.groupby("worker")["label"].nunique().eq(1).all()
    assert all(label.split()[-1].isdigit() for label in seg["label"])


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_file_format_size_and_rows(project: bg.Project, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"time line 'x'{suffix}"
    fig = plot_timeline(project, path=path)
    data = path.read_bytes()
    assert data.startswith(MAGIC[suffix]) and len(data) > 10_000
    (ax,) = fig.axes
    n_workers = timeline_segments(project)["worker"].nunique()
    assert n_workers == 4  # the one that handed back and the three that drained
    assert len(ax.get_yticklabels()) == n_workers
    assert "makespan" in ax.get_title(loc="left") and "ratio" in ax.get_title(loc="left")


def test_colour_by_state_shows_every_state(project: bg.Project) -> None:
    fig = plot_timeline(project, color_by="state")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"done", "error", "handed back"} <= set(labels)
    by_learner = plot_timeline(project)
    labels = [t.get_text() for t in by_learner.legends[0].get_texts()]
    # learners coloured, error and hand-back still marked (hatched)
    assert {"tree", "linear", "error", "handed back"} <= set(labels)


def test_several_runs_give_one_panel_each(project: bg.Project, tmp_path: Path) -> None:
    res = project.results()
    fig = plot_timeline({"laptop": project, "cluster": res, "csv": _via_csv(res, tmp_path)},
                        path=tmp_path / "runs.png")
    assert len(fig.axes) == 3
    assert [ax.get_title(loc="left").split(":")[0] for ax in fig.axes] == ["laptop", "cluster", "csv"]
    assert fig.axes[0].get_xlim() == fig.axes[2].get_xlim()  # one time scale
    fig = plot_timeline([project, project])
    assert len(fig.axes) == 2


def _via_csv(res: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    import pandas as pd

    res.to_csv(tmp_path / "results.csv", index=False)
    return pd.read_csv(tmp_path / "results.csv")


def test_summary_lower_bound_and_ratio() -> None:
    import pandas as pd

    seg = pd.DataFrame({"worker": ["a", "a", "b"], "start": [0.0, 1.0, 0.0], "end": [1.0, 2.0, 4.0]})
    s = timeline_summary(seg)
    assert s["lower_bound_s"] == 4.0 and s["makespan_s"] == 4.0 and s["ratio"] == 1.0
    seg = pd.DataFrame({"worker": ["a", "b"], "start": [0.0, 0.0], "end": [3.0, 1.0]})
    assert timeline_summary(seg)["lower_bound_s"] == 3.0


def test_runs_seconds_apart_are_not_one_run_of_many_workers() -> None:
    """Issue 23: four runs of 2 workers within 40 s were one panel with "ratio 31.66": the 8 worker processes
    counted as 8 workers at once, the 30 s between the runs as time the jobs could have filled."""
    import pandas as pd

    rows = [(f"w{run}{k}", 10.0 * run + 0.5 * j, 10.0 * run + 0.5 * (j + 1))
            for run in range(4) for k in range(2) for j in range(2)]
    seg = pd.DataFrame(rows, columns=["worker", "start", "end"])
    s = timeline_summary(seg)
    assert (s["makespan_s"], s["active_s"], s["n_workers"], s["total_s"]) == (31.0, 4.0, 2, 8.0)
    assert s["lower_bound_s"] == 4.0 and s["ratio"] == 1.0
    fig = plot_timeline(seg.assign(job_id=range(len(seg)), host="h", pid=0, state="done",
                                   started_at=seg["start"], ended_at=seg["end"]))
    title = fig.axes[0].get_title(loc="left")
    assert "makespan 31 s (4 s with a worker active)" in title and "/ 2 workers at once" in title and "ratio 1.00" in title, title


def test_table_without_learner_colours_by_state() -> None:
    import pandas as pd

    res = pd.DataFrame({"job_id": [0, 1, 2], "worker": ["w", "w", "v"], "host": "h", "pid": [1, 1, 2],
                        "started_at": [0.0, 1.0, 0.0], "ended_at": [1.0, 2.0, 0.5],
                        "state": ["done", "error", "done"]})
    fig = plot_timeline(res)
    assert fig.legends[0].get_title().get_text() == "colour: state"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["h 1", "h 2"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"path": "x.jpg"}, r"path must end in one of .*'x\.jpg'"),
        ({"color_by": "colour"}, r"color_by must be 'learner', 'state' or a column .* got 'colour'"),
    ],
)
def test_bad_input(project: bg.Project, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        plot_timeline(project, **kwargs)


def test_bad_runs() -> None:
    import pandas as pd

    with pytest.raises(InputError, match="must be a Project, a project directory or a results DataFrame"):
        plot_timeline(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least one run, got an empty list"):
        plot_timeline([])
    empty = pd.DataFrame({"job_id": [0], "started_at": [None], "ended_at": [None]})
    with pytest.raises(InputError, match="no started jobs"):
        plot_timeline(empty)


def test_a_pooled_project_is_drawn_on_its_allocations(tmp_path: Path) -> None:
    """Rows of a self-sustaining pool's workers are outlined from their allocation's start to its end (issue 21).

    Two real workers drain the project; the pool's ledger then says, as
    pooled workers write it when they end, which allocation each worker was,
    plus one allocation that started no job (it gets a row of its own).
    """
    from benchgrid.store import PoolLedger

    root = tmp_path / "pooled proj"
    bg.Project.create(root, [{"i": i, "seconds": 0.05} for i in range(8)], "tests.runners.jobs:sleep")
    bg.Project.open(root).run(n_workers=2)
    seg = timeline_segments(root)
    ledger = PoolLedger(root, "p0")
    ledger.append({"op": "pool", "backend": "slurm", "n_workers": 2, "options": {}, "cpus_per_worker": 1})
    ledger.append({"op": "submitted", "ids": ["7"], "n": 2, "gen": 1, "by": "user"})
    spans = seg.groupby("worker").agg(start=("start", "min"), end=("end", "max"))
    for k, (worker, row) in enumerate(spans.iterrows()):
        ledger.append({"op": "ending", "task": f"7_{k}", "gen": 1, "done": 4, "run_s": row["end"] - row["start"] + 1.0,
                       "busy_s": 0.2, "worker": worker, "t": row["end"]})
    ledger.append({"op": "ending", "task": "8_0", "gen": 2, "done": 0, "run_s": 0.5, "busy_s": 0.0, "worker": "gone",
                   "t": float(spans["end"].max()) + 1.0})
    fig = plot_timeline(root, color_by="state", path=tmp_path / "pool.png")
    assert (tmp_path / "pool.png").read_bytes()[:4] == MAGIC[".png"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(label.split(" · ")[-1] for label in labels) == ["7_0", "7_1", "8_0 (no job)"], labels
    title = fig.axes[0].get_title(loc="left")
    assert "3 allocations (outlined) ended" in title and "/ 2 workers at once" in title, title
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "allocation" in legend
