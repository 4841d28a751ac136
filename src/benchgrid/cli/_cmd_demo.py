"""benchgrid demo [DIR] [--workers N]: the seed example end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._errors import InputError

HELP = "run the seed example end to end (SOAK on simulated data)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", default="demo", help="output directory (default: ./demo)")
    p.add_argument("--workers", "-w", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import benchgrid as bg
    from ..ml._demo import demo_grid

    out = Path(args.dir)
    if args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    if out.exists() and any(out.iterdir()):
        raise InputError(
            f"demo directory {str(out)!r} exists and is not empty; remove it or give another DIR"
        )
    grid = demo_grid()
    out.mkdir(parents=True, exist_ok=True)
    print(
        "benchgrid demo: 80 rows (Alice, Bob), tasks easy and impossible, learners "
        f"featureless and rpart, {grid['cv']!r}, measures rmse and mae"
    )
    proj = bg.Project.create(out / "project", grid.pop("tasks"), grid.pop("learners"),
                             grid.pop("cv"), **grid)  # fmt: skip
    status = proj.run(n_workers=args.workers, progress=not args.no_progress)
    scores = proj.scores()
    scores.to_csv(out / "results.csv", index=False)

    summary = (
        scores.groupby(["task_id", "learner_id", "test.subset", "train.subsets"])[["rmse", "mae"]]
        .mean()
        .round(3)
    )
    print(f"\nmean test scores over {scores['test.fold'].nunique()} folds:")
    print(summary.to_string())
    written = [out / "results.csv"]
    skipped = []
    for name, draw in (("pvalue.png", _pvalue_plot), ("timeline.png", _timeline_plot)):
        try:
            draw(proj, scores, out / name)
            written.append(out / name)
        except ImportError as err:
            skipped.append(f"{name} (not available in this version: {err})")
    print("\nwrote:\n" + "\n".join(f"  {p}" for p in written))
    if skipped:
        print("skipped:\n" + "\n".join(f"  {s}" for s in skipped))
    print(f"project: {proj.path} (try: benchgrid status {str(out / 'project')!r})")
    return 0 if status.counts["error"] == 0 and status.counts["failed"] == 0 else 1


def _pvalue_plot(proj, scores, path: Path) -> None:
    from ..ml._pvalue import pvalue
    from ..plots._pvalue_plot import plot_pvalue

    plot_pvalue(pvalue(scores, "rmse"), path=str(path))


def _timeline_plot(proj, scores, path: Path) -> None:
    from ..plots._timeline import plot_timeline

    plot_timeline(proj, path=path)
