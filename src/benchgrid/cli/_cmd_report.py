"""benchgrid report DIR [-o report.html]"""

from __future__ import annotations

import argparse

from .._errors import InputError

HELP = "write a self-contained HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file (default: ./report.html)")


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from ..report import write_report

    if not args.output.lower().endswith((".html", ".htm")):
        raise InputError(f"-o must end in .html, got {args.output!r}")
    from ._common import check_output_path

    check_output_path(args.output)
    out = write_report(Project.open(args.dir), args.output)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): open it in a browser, no network needed")
    return 0
