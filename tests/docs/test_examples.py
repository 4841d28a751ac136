"""Every script in examples/ runs in its small setting, as a user would run it (no PYTHONPATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["BENCHGRID_EXAMPLE_SMALL"] = "1"
    r = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout}\n{r.stderr}"
    return r


def test_every_example_has_a_test() -> None:
    scripts = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("*/*.py")
                     if p.name != "experiments.py")  # fmt: skip
    assert scripts == [
        "sklearn_classification/benchmark.py", "slurm/submit_sweep.py", "soak/soak_study.py", "sweep/run_sweep.py",
    ]


def test_sweep_from_another_folder_then_again(tmp_path: Path) -> None:
    # run from a folder that is not the example's: the runner is found from the script's folder
    r = _run([str(EXAMPLES / "sweep" / "run_sweep.py"), "--workers", "2"], cwd=tmp_path)
    assert "4 jobs" in r.stdout and "done 4" in r.stdout
    df = pd.read_csv(_results(tmp_path / "sweep", tmp_path))
    assert len(df) == 4 and df["state"].eq("done").all() and df["abs_error"].lt(1).all()
    # again: the same project, nothing new to add or run
    r = _run([str(EXAMPLES / "sweep" / "run_sweep.py"), "--workers", "2"], cwd=tmp_path)
    assert "done 4" in r.stdout


def test_sweep_from_the_command_line(tmp_path: Path) -> None:
    """The CLI way the README shows: init from the example's folder, run from anywhere."""
    proj = tmp_path / "sweep"
    bg = [sys.executable, "-m", "benchgrid"]
    _run([*bg[1:], "init", str(proj), "--jobs", "jobs.csv", "--runner", "experiments:simulate"],
         cwd=EXAMPLES / "sweep")  # fmt: skip
    _run([*bg[1:], "run", str(proj), "--workers", "2", "--no-progress"], cwd=tmp_path)
    df = pd.read_csv(_results(proj, tmp_path))
    assert sorted(df["n"]) == [100, 100, 10000, 10000] and df["pi_hat"].between(2, 4).all()


def _results(proj: Path, cwd: Path) -> Path:
    out = cwd / "results.csv"
    _run(["-m", "benchgrid", "results", str(proj), "-o", str(out)], cwd=cwd)
    return out


@pytest.mark.slow
def test_sklearn_classification(tmp_path: Path) -> None:
    r = _run([str(EXAMPLES / "sklearn_classification" / "benchmark.py")], cwd=tmp_path)
    scores = pd.read_csv(_results(tmp_path / "classification", tmp_path))
    # 3 datasets x 4 learners x 3 stratified folds, every one scored
    assert len(scores) == 36 and scores["state"].eq("done").all()
    mean = scores.groupby("learner_id")[["accuracy", "auc"]].mean()
    assert (mean.loc["featureless", "auc"] == 0.5) and mean.loc["logreg", "auc"] > 0.9
    assert mean.loc["logreg", "accuracy"] > mean.loc["featureless", "accuracy"]
    assert (tmp_path / "classification.html").stat().st_size > 0 and "report:" in r.stdout
    # which learner is better across the 3 tasks: ranked on all of them, the diagram drawn
    assert "Comparison of 4 learners on accuracy (higher is better), mean ± sd over folds; 3 ranked tasks" in r.stdout
    assert "Friedman chi2 = " in r.stdout and "Nemenyi critical difference = " in r.stdout
    assert (tmp_path / "classification-cd.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_soak_study(tmp_path: Path) -> None:
    r = _run([str(EXAMPLES / "soak" / "soak_study.py")], cwd=tmp_path)
    scores = pd.read_csv(tmp_path / "soak.csv")
    # 2 subsets x 3 train subsets x 3 folds x 2 learners
    assert len(scores) == 36
    assert set(scores["test.subset"]) == {"sex1", "sex2"} and set(scores["train.subsets"]) == {"same", "other", "all"}
    assert "p-values of rmse" in r.stdout and "other-same" in r.stdout
    assert (tmp_path / "soak-pvalue.png").stat().st_size > 10_000


def test_slurm_dry_run_and_its_worker_command(tmp_path: Path) -> None:
    proj = tmp_path / "shared fs" / "boot"
    proj.parent.mkdir()
    r = _run([str(EXAMPLES / "slurm" / "submit_sweep.py"), str(proj), "--workers", "3", "--dry-run"], cwd=tmp_path)
    script = r.stdout
    assert "#SBATCH --array=0-2" in script and "-m benchgrid work" in script
    assert "dry run: nothing submitted (4 jobs" in script
    assert not (proj / "slurm" / "jobs.jsonl").exists()
    check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr
    # what each array task runs, from another folder and without PYTHONPATH: the runner is found
    _run(["-m", "benchgrid", "work", str(proj), "--name", "slurm-1_0"], cwd=Path("/"))
    df = pd.read_csv(_results(proj, tmp_path))
    assert df["state"].eq("done").all() and df["width"].gt(0).all()
