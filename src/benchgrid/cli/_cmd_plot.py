"""benchgrid plot DIR [DIR ...] {timeline,scores,pvalue} [-o FILE] [--measure M] [--color-by C] [--resampling ID] [--corrected]"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._errors import InputError
from ..store import atomic_path

HELP = "draw a timeline, score or p-value plot"
KINDS = ("timeline", "scores", "pvalue")
SUFFIXES = (".png", ".svg", ".pdf")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="+", help="the project directory (several for a timeline: one panel each)")
    p.add_argument("kind", metavar="{timeline,scores,pvalue}", help="which plot")
    p.add_argument("-o", "--output", help="image file, .png, .svg or .pdf (default: ./KIND.png)")
    p.add_argument("--measure", help="score column for scores and pvalue (default: the first measure)")
    p.add_argument("--color-by", default="learner",
                   help="timeline colours: learner (default), state, or a results column")
    p.add_argument("--resampling", metavar="ID",
                   help="pvalue: only this resampling_id (a project with several SOAK cv; default: one block each)")
    p.add_argument("--corrected", action="store_true",
                   help="pvalue: label with Nadeau and Bengio's corrected resampled t-test instead of the plain "
                        "paired t-test (mlr3resampling's, the default)")


def run(args: argparse.Namespace) -> int:
    if args.kind not in KINDS:
        raise InputError(f"plot kind must be one of {', '.join(KINDS)}, got {args.kind!r}")
    out = Path(args.output or f"{args.kind}.png")
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"-o must end in one of {', '.join(SUFFIXES)}, got {str(out)!r}")
    from ._common import check_output_path

    check_output_path(out)
    if args.resampling is not None and args.kind != "pvalue":
        raise InputError(f"--resampling selects the panels of a pvalue plot, got it for {args.kind}: leave it out")
    if args.corrected and args.kind != "pvalue":
        raise InputError(f"--corrected chooses the p-values of a pvalue plot, got it for {args.kind}: leave it out")
    if len(args.dir) > 1 and args.kind != "timeline":
        raise InputError(f"{args.kind} plots one project, got {len(args.dir)} directories; "
                         "give one (only timeline takes several, one panel each)")
    from ..api import Project

    projects = [Project.open(d) for d in args.dir]  # every path checked before drawing
    fig = _draw(args, projects)
    with atomic_path(out, project=False) as tmp:  # no half-written image on failure
        fig.savefig(tmp, dpi=150, format=out.suffix.lstrip(".").lower())
    print(f"wrote {out}")
    return 0


def _draw(args: argparse.Namespace, projects: list):  # type: ignore[no-untyped-def]
    if args.kind == "timeline":
        from ..plots import plot_timeline

        runs = projects[0] if len(projects) == 1 else projects
        return plot_timeline(runs, color_by=args.color_by)
    proj = projects[0]
    if args.kind == "scores":
        from ..plots import plot_scores

        return plot_scores(proj, args.measure)
    from ..ml import pvalue
    from ..plots import plot_pvalue
    from ..plots import score_table

    scores, measure = score_table(proj, args.measure)
    if "train.subsets" not in scores.columns:
        raise InputError(
            f"a pvalue plot needs SOAK results (columns test.subset and train.subsets), got a project "
            f"split by {proj.metadata['ml'].get('cv', 'another splitter')}; use `benchgrid plot DIR scores`"
        )
    pv = pvalue(scores, measure, corrected=args.corrected)
    if args.resampling is not None:
        # p-values exist for SOAK resamplings only: those are the choices
        ids = sorted({str(r) for r in pv.stats.get("resampling_id", [])})
        if args.resampling not in ids:
            raise InputError(
                f"--resampling must be the resampling_id of a SOAK cv of this project, one of {ids!r}, "
                f"got {args.resampling!r}"
            )
    return plot_pvalue(pv, resampling_id=args.resampling, corrected=args.corrected)
