"""benchgrid demo [DIR] [--workers N]: the seed example end to end (again: replaces its own output)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
import shlex

from .._errors import InputError

if TYPE_CHECKING:
    from ..api import DemoResult

HELP = "run the seed example end to end (SOAK on simulated data)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", default="demo",
                   help="output folder (default: ./demo); a previous demo's output there is replaced")
    p.add_argument("--workers", "-w", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..api import run_demo

    if args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    print(
        "benchgrid demo: 80 rows (Alice, Bob), tasks easy and impossible, learners featureless and "
        f"rpart, SOAK with 3 folds, measures rmse and mae, {args.workers} local workers",
        flush=True,
    )
    result = run_demo(args.dir, args.workers, progress=not args.no_progress, say=_say)
    _say("writing the p-value plot, the timeline and the HTML report ...")
    _draw(result)
    import pandas as pd

    scores = pd.read_csv(result.files["results"])
    summary = (
        scores.groupby(["task_id", "learner_id", "test.subset", "train.subsets"])[["rmse", "mae"]]
        .mean()
        .round(3)
    )
    print(f"\nmean test scores over {scores['test.fold'].nunique()} folds:")
    print(summary.to_string())
    if result.replaced:
        print(f"\n(replaced the previous demo in {result.directory})")
    print(f"\n{len(scores)} jobs ran on {result.workers_with_jobs} of {result.n_workers} worker(s). Wrote:")
    width = max(len(k) for k in result.files)
    for name, path in result.files.items():
        print(f"  {name:<{width}}  {path}")
    for name, why in result.skipped.items():
        print(f"  {name:<{width}}  skipped ({why})")
    q = shlex.quote(str(result.project))
    print(f"  {'project':<{width}}  {result.project}")
    print(f"next: benchgrid status {q}   |   open {shlex.quote(str(result.files.get('report', '')))}")
    return 0 if result.ok else 1


def _say(text: str) -> None:
    print(f"  {text}", flush=True)  # now, not when the buffer fills: these steps take seconds


def _draw(result: "DemoResult") -> None:
    """The p-value and timeline plots and the HTML report, beside the scores."""
    import pandas as pd

    from ..api import Project
    from ..ml import pvalue
    from ..plots import plot_pvalue
    from ..plots import plot_timeline
    from ..report import write_report

    proj = Project.open(result.project)
    scores = pd.read_csv(result.files["results"])
    for name, filename, draw in (
        ("p-values", "pvalue.png", lambda p: plot_pvalue(pvalue(scores, "rmse"), path=str(p))),
        ("timeline", "timeline.png", lambda p: plot_timeline(proj, path=p)),
        ("report", "report.html", lambda p: write_report(proj, path=p)),
    ):
        try:
            draw(result.directory / filename)
            result.files[name] = result.directory / filename
        except ImportError as err:
            result.skipped[name] = f"not available in this version: {err}"
