"""The ``benchgrid`` command: parse, call the public API, format, exit code.

Each subcommand lives in its own module ``benchgrid.cli._cmd_<name>`` with
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only for the command that runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn, Sequence

from .._errors import BenchgridError, DiskFull, is_disk_full
from .._exitcodes import EXIT_DISK_FULL

# command name -> (module, one-line help); order is the order in --help
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("_cmd_demo", "run the seed example end to end (SOAK on simulated data)"),
    "init": ("_cmd_init", "create a project directory from a job table or an ML grid file"),
    "add": ("_cmd_add", "append jobs to a project (workers already running pick them up)"),
    "jobs": ("_cmd_jobs", "print the job table"),
    "try": ("_cmd_try", "run one job per (task, learner) locally and extrapolate the grid's cost"),
    "work": ("_cmd_work", "run one worker: claim jobs, run them, record results, until none is left"),
    "run": ("_cmd_run", "run N local worker processes with a progress bar and wait"),
    "submit": ("_cmd_submit", "submit W workers to SLURM or Grid Engine as one job array"),
    "cancel": ("_cmd_cancel", "cancel this project's scheduler workers"),
    "status": ("_cmd_status", "counts per state, running jobs, errors, throughput and ETA"),
    "results": ("_cmd_results", "one table, one row per job, to stdout or a .csv/.parquet file"),
    "retry": ("_cmd_retry", "put errored or expired jobs back in the queue"),
    "drop": ("_cmd_drop", "drop the jobs matching --where: no worker runs them (undo with `benchgrid undrop`)"),
    "undrop": ("_cmd_undrop", "bring dropped jobs back (all, or those matching --where)"),
    "check": ("_cmd_check", "prove from the logs that every job was handed out once; exit 1 if not"),
    "plot": ("_cmd_plot", "draw a timeline, score or p-value plot"),
    "compare": ("_cmd_compare", "which learner is better: ranks, Friedman, Nemenyi, Wilcoxon-Holm; CD diagram and paper tables"),
    "report": ("_cmd_report", "write a self-contained HTML report"),
}

# command name -> examples shown at the end of its --help (tests parse each one)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": ("benchgrid demo", "benchgrid demo /tmp/demo --workers 2"),
    "init": (
        "benchgrid init sweep --jobs jobs.csv --runner experiments:simulate",
        "benchgrid init bench --grid grid.py",
    ),
    "add": ("benchgrid add sweep --jobs more.csv", "benchgrid add bench --grid more_learners.py"),
    "jobs": ("benchgrid jobs sweep",),
    "try": ("benchgrid try bench", "benchgrid try bench --sample 1000 --workers 50"),
    "work": ("benchgrid work sweep", "benchgrid work sweep --until +2h --name laptop"),
    "run": ("benchgrid run sweep --workers 4", "benchgrid run sweep --workers 0"),
    "submit": (
        "benchgrid submit sweep --workers 50 --time 2:00:00 --mem-gb 4 --dry-run",
        "benchgrid submit sweep --workers 50 --time 2:00:00 --account def-lab",
    ),
    "cancel": ("benchgrid cancel sweep",),
    "status": ("benchgrid status sweep", "benchgrid status sweep --watch"),
    "results": ("benchgrid results sweep", "benchgrid results sweep -o results.parquet"),
    "retry": ("benchgrid retry sweep --errors", "benchgrid retry sweep --errors --expired"),
    "drop": ("benchgrid drop bench --where learner_id=rf", "benchgrid drop bench --where task_id=iris --where learner_id=knn"),
    "undrop": ("benchgrid undrop bench --where learner_id=rf", "benchgrid undrop bench"),
    "check": ("benchgrid check sweep", "benchgrid check sweep --json"),
    "plot": ("benchgrid plot bench timeline -o timeline.png", "benchgrid plot bench pvalue -o pvalue.pdf"),
    "compare": ("benchgrid compare bench --measure accuracy -o cd.png --latex table.tex",
                "benchgrid compare bench --markdown table.md --csv table.csv --incomplete common"),
    "report": ("benchgrid report bench -o report.html",),
}


def _epilog(lines: Sequence[str]) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit code 2 with a hint, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"benchgrid: error: {message}\n")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="benchgrid",
        description="Run benchmark grids as many small jobs over a few long-lived workers.",
        epilog=_epilog(("benchgrid demo", "benchgrid COMMAND --help")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"benchgrid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(
            name, help=help_text, description=help_text, epilog=_epilog(EXAMPLES[name]),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == command:
            module = importlib.import_module(f"benchgrid.cli.{module_name}")
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``benchgrid`` command; returns the exit code."""
    owns_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args._owns_process = owns_process  # `benchgrid work` may then lead its process group and end itself
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away (`| head`) is not an error
        return code
    except DiskFull as err:
        print(f"benchgrid: {err}", file=sys.stderr)
        return EXIT_DISK_FULL
    except BenchgridError as err:
        print(f"benchgrid: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benchgrid: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as err:  # a file the user named, or the disk: one line, no traceback
        if is_disk_full(err):
            print(f"benchgrid: {DiskFull.from_os_error(err)}", file=sys.stderr)
            return EXIT_DISK_FULL
        where = f" {err.filename!r}" if err.filename else ""
        print(f"benchgrid: error: cannot write or read{where}: {err.strerror or err}", file=sys.stderr)
        return 2


def _quiet_broken_pipe() -> int:
    """``benchgrid ... | head``: the reader left; exit quietly (as ``cat`` does) without a traceback."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit; let that go nowhere
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away


if __name__ == "__main__":
    sys.exit(main())
