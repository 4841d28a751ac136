"""benchgrid compare DIR [--measure M] [-o cd.png] [--latex F] [--markdown F] [--csv F] [--scores-plot F] [--per-task [--rope W]]"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._errors import InputError
from ..store import atomic_path, write_atomic

HELP = "which learner is better: ranks, Friedman, Nemenyi, Wilcoxon-Holm; CD diagram and paper tables"
SUFFIXES = (".png", ".svg", ".pdf")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory (an ML project)")
    p.add_argument("--measure", help="score column (default: the project's first measure)")
    p.add_argument("-o", "--output", help="critical-difference diagram: .png, .svg or .pdf")
    p.add_argument("--latex", help="the table as LaTeX (\\usepackage{booktabs,graphicx}): best bold, not significantly "
                                  "worse underlined")
    p.add_argument("--markdown", help="the table as Markdown")
    p.add_argument("--csv", help="the table as CSV: one row per task and learner")
    p.add_argument("--scores-plot", help="per-task scores (learners × folds): .png, .svg or .pdf")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    p.add_argument("--incomplete", default="drop", choices=("drop", "common", "error"),
                   help="a task where a learner lacks folds: leave it out of the ranks (drop, default), rank it "
                        "on the folds every learner has (common), or exit with code 2 (error)")
    p.add_argument("--test", default="nemenyi", choices=("nemenyi", "wilcoxon"),
                   help="what joins learners in the CD diagram (default: nemenyi)")
    p.add_argument("--train-subsets", default="all", help="SOAK projects: the train subsets compared (default: all)")
    p.add_argument("--per-task", action="store_true",
                   help="also print the tests within each task: every pair of learners on the same folds, corrected "
                        "resampled t-test (Nadeau and Bengio) beside the plain paired t-test")
    p.add_argument("--rope", type=float, metavar="WIDTH",
                   help="with --per-task: baycomp's Bayesian correlated t-test with this region of practical "
                        "equivalence, in the measure's units (e.g. 0.01 for accuracy; needs pip install baycomp)")


def run(args: argparse.Namespace) -> int:
    from ._common import check_output_path

    outputs = {"-o": args.output, "--latex": args.latex, "--markdown": args.markdown, "--csv": args.csv,
               "--scores-plot": args.scores_plot}
    for option in ("-o", "--scores-plot"):
        if outputs[option] and Path(outputs[option]).suffix.lower() not in SUFFIXES:
            raise InputError(f"{option} must end in one of {', '.join(SUFFIXES)}, got {outputs[option]!r}")
    for option, path in outputs.items():
        if path:
            check_output_path(path, option)
    from ..api import MLProject, Project

    proj = Project.open(args.dir)
    if not isinstance(proj, MLProject):
        raise InputError(f"compare needs an ML project (tasks, learners, cv), got {str(proj.path)!r}, made from a "
                         "job table and a runner; compare its results with benchgrid.compare(table, measure=...)")
    if args.rope is not None and not args.per_task:
        raise InputError(f"--rope is shown by the tests within each task, got --rope {args.rope:g} without "
                         "--per-task; add --per-task")
    comparison = proj.compare(args.measure, alpha=args.alpha, incomplete=args.incomplete,
                              train_subsets=args.train_subsets, rope=args.rope)
    figures = {}  # drawn before anything is written: a diagram that cannot be drawn leaves no file
    if args.output:
        from ..plots import plot_cd

        figures[args.output] = plot_cd(comparison, test=args.test)
    if args.scores_plot:
        from ..plots import plot_task_scores

        figures[args.scores_plot] = plot_task_scores(comparison)
    print(comparison)
    if args.per_task:
        print(comparison.per_task_text())
    for path, fig in figures.items():
        with atomic_path(path, project=False) as tmp:
            fig.savefig(tmp, dpi=150, format=Path(path).suffix.lstrip(".").lower())
        print(f"wrote {path}")
    for path, text in ((args.latex, comparison.to_latex), (args.markdown, comparison.to_markdown),
                       (args.csv, comparison.to_csv)):
        if path:
            write_atomic(path, text() or "", project=False)
            print(f"wrote {path}")
    return 0
