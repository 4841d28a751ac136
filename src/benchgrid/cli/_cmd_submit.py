"""benchgrid submit DIR --workers W [--backend slurm|sge] [scheduler options] [--dry-run]"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NamedTuple

from .._errors import InputError

HELP = "submit W workers to SLURM or Grid Engine as one job array"

# option -> backends that take it (the backend itself refuses the others, naming them)
_COMMON = ("time", "mem_gb", "cpus_per_worker", "setup", "max_parallel", "warning_s", "trust_owner")
_SLURM = ("partition", "account", "qos", "gres", "sbatch_args")
_SGE = ("queue", "project", "pe", "mem_resource", "qsub_args")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory (on a file system the compute nodes share)")
    p.add_argument("--workers", "-w", type=int, help="workers (array tasks) to submit")
    p.add_argument(
        "--pool", action="append", default=[], metavar="NxMEM[+COUNTgpu][@TIME]",
        help="a pool of workers with their own memory, resources and time: one array per pool, e.g. --pool 20x4G@3:00:00 "
             "--pool 2x16G+1gpu@24:00:00; each worker claims the jobs that fit it (memory_key, time_key, resource_keys)",
    )
    p.add_argument("--backend", "-b", default="slurm", help="scheduler: slurm (default) or sge (Grid Engine)")
    p.add_argument("--time", help="time limit per worker, e.g. 2:00:00, 90 (minutes), 1-12 (default: config, else the queue's)")
    p.add_argument("--mem-gb", type=float, help="memory per worker in GB")
    p.add_argument("--cpus-per-worker", type=int, help="CPUs per worker (default 1)")
    p.add_argument("--setup", action="append", help="shell line run before the worker (repeatable)")
    p.add_argument("--max-parallel", type=int, help="at most this many workers at once")
    p.add_argument("--warning-s", type=int, help="seconds before the limit after which a worker starts no job")
    slurm = p.add_argument_group("SLURM (--backend slurm)")
    slurm.add_argument("--partition", help="SLURM partition")
    slurm.add_argument("--account", help="SLURM account")
    slurm.add_argument("--qos", help="SLURM quality of service")
    slurm.add_argument("--gres", help="generic resources, e.g. gpu:1")
    slurm.add_argument("--sbatch-arg", action="append", dest="sbatch_args", metavar="ARG",
                       help="another sbatch option, e.g. --sbatch-arg=--constraint=cascade (repeatable)")
    sge = p.add_argument_group("Grid Engine (--backend sge)")
    sge.add_argument("--queue", help="Grid Engine queue (-q)")
    sge.add_argument("--project", help="Grid Engine project (-P)")
    sge.add_argument("--pe", help="parallel environment, needed for --cpus-per-worker > 1")
    sge.add_argument("--mem-resource", help="resource that carries --mem-gb (default mem_free; h_vmem at many sites)")
    sge.add_argument("--qsub-arg", action="append", dest="qsub_args", metavar="WORD",
                     help="another qsub word, e.g. --qsub-arg=-l --qsub-arg=arch=lx-amd64 (repeatable)")
    p.add_argument("--until-done", action="store_true",
                   help="a self-sustaining pool: each allocation that ends while jobs remain submits its successor, "
                        "keeping about W workers until every job has ended (no process on the login node); "
                        "`benchgrid cancel DIR` stops it")
    p.add_argument("--max-allocations", type=int, metavar="N",
                   help="with --until-done: at most N allocations in all per pool, the first W included")
    p.add_argument("--max-core-hours", type=float, metavar="H",
                   help="with --until-done: at most H core-hours (CPUs x hours the allocations ran) per pool; "
                        "a successor is submitted only if the pool stays within H with every live one at --time")
    p.add_argument("--pool-name", metavar="NAME",
                   help="with --until-done: the pool's name (default p0, p1, ... one per --pool; with several --pool, "
                        "NAME0, NAME1, ...); a project's pools need different names")
    p.add_argument("--trust-owner", action="store_true",
                   help="accept a project owned by another user (its workers run code as you)")
    p.add_argument("--dry-run", action="store_true", help="print the script and the options' sources; submit nothing")


def run(args: argparse.Namespace) -> int:
    from ..api import Project, check_pool_resources

    options = {key: getattr(args, key) for key in (*_COMMON, *_SLURM, *_SGE) if getattr(args, key) is not None}
    if args.pool:
        if args.workers is not None or "mem_gb" in options:
            raise InputError("give either --pool (workers and memory per pool) or --workers/--mem-gb, not both")
        pools = [parse_pool(text) for text in args.pool]
    elif args.workers is None:
        raise InputError("--workers is required (or one --pool per kind of worker, e.g. --pool 20x4G --pool 2x64G)")
    else:
        pools = [Pool(args.workers, options.pop("mem_gb", None), None)]
    for flag, value, what in (("--max-allocations", args.max_allocations, "is the budget of"),
                              ("--max-core-hours", args.max_core_hours, "is the budget of"),
                              ("--pool-name", args.pool_name, "names")):
        if value is not None and not args.until_done:
            raise InputError(f"{flag} {what} a self-sustaining pool: give it with --until-done")
    proj = Project.open(args.dir)  # proj.submit checks owner, files and runner before anything is submitted
    chain = ({"until_done": True, "max_allocations": args.max_allocations, "max_core_hours": args.max_core_hours}
             if args.until_done else {})
    for pool in pools:  # every pool checked before the first is submitted: nothing half-submitted
        check_pool_resources(dict(pool.resources), proj.project_settings)
    for k, pool in enumerate(pools):
        pool_options = dict(options)
        if pool.mem_gb is not None:
            pool_options["mem_gb"] = pool.mem_gb
        if pool.time is not None:
            pool_options["time"] = pool.time
        if pool.resources:
            pool_options["resources"] = dict(pool.resources)
        if chain:
            name = args.pool_name or "p"
            pool_options.update(chain, pool=(name if len(pools) == 1 else f"{name}{k}") if args.pool_name else f"p{k}")
        sub = proj.submit(pool.n_workers, backend=args.backend, dry_run=args.dry_run, **pool_options)
        label = f"pool {pool.label}: " if args.pool else ""
        if args.dry_run:
            for k, text in enumerate(sub.scripts):
                print(f"# ---- {label}array {k + 1} of {len(sub.scripts)} ----")
                print(text, end="")
            print("# ---- options ----", file=sys.stderr)
            print(sub.settings.describe(), file=sys.stderr)
            continue
        for job_id, path in zip(sub.job_ids, sub.script_paths):
            print(f"{label}submitted job array {job_id} ({path})")
    if args.dry_run:
        print("dry run: nothing submitted", file=sys.stderr)
        return 0
    what = " in self-sustaining pool(s): they submit their successors until every job has ended" if chain else ""
    print(f"{sum(p.n_workers for p in pools)} worker(s){what}; follow with: benchgrid status {args.dir}")
    return 0


class Pool(NamedTuple):
    n_workers: int
    mem_gb: float | None
    time: str | None
    resources: tuple[tuple[str, int], ...] = ()

    @property
    def label(self) -> str:
        mem = "" if self.mem_gb is None else f"x{self.mem_gb:g}G"
        res = "".join(f"+{c}{'gpu' if n == 'gpus' else n}" for n, c in self.resources)
        return f"{self.n_workers}{mem}{res}" + ("" if self.time is None else f"@{self.time}")


_POOL = re.compile(r"^\s*(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*(?:G|GB)((?:\s*\+\s*\d*\s*[A-Za-z][A-Za-z0-9_]*)*)\s*(?:@\s*(\S+))?\s*$",
                   re.IGNORECASE)
_RESOURCE = re.compile(r"\+\s*(\d*)\s*([A-Za-z][A-Za-z0-9_]*)")
_FORM = "--pool must be WORKERSxMEMORY[+COUNTRESOURCE][@TIME] such as 20x4G, 2x64G@12:00:00 or 2x16G+1gpu"


def parse_pool(text: str) -> Pool:
    """``"20x4G"`` -> 20 workers of 4 GB; ``"@12:00:00"`` adds their time limit, ``"+1gpu"`` a resource.

    ``gpu`` and ``gpus`` are the resource ``gpus``; any other name is taken
    as written (it must be one of the project's ``resource_keys``).

    Examples
    --------
    >>> parse_pool("20x4G"), parse_pool("2x64GB@12:00:00")
    (Pool(n_workers=20, mem_gb=4.0, time=None, resources=()), Pool(n_workers=2, mem_gb=64.0, time='12:00:00', resources=()))
    >>> parse_pool("2x16G+1gpu@24:00:00").resources, parse_pool("1x8G+2gpus+1fpga").label
    ((('gpus', 1),), '1x8G+1fpga+2gpu')
    >>> parse_pool("4G")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --pool must be WORKERSxMEMORY[+COUNTRESOURCE][@TIME] such as 20x4G, 2x64G@12:00:00 or 2x16G+1gpu, got '4G'
    >>> parse_pool("2x4G@3h")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --pool's time must be minutes, MM:SS, HH:MM:SS, D-HH or D-HH:MM:SS (as sbatch --time), got '3h' in '2x4G@3h'
    """
    m = _POOL.match(text)
    if m is None or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
        raise InputError(f"{_FORM}, got {text!r}")
    resources: dict[str, int] = {}
    for count, name in _RESOURCE.findall(m.group(3) or ""):
        key = "gpus" if name.lower() in ("gpu", "gpus") else name
        if key in resources or (count and int(count) < 1):
            raise InputError(f"{_FORM} (each resource once, a count >= 1), got {text!r}")
        resources[key] = int(count) if count else 1
    time = m.group(4)
    if time is not None:
        from ..api import check_walltime

        try:
            check_walltime(time)
        except InputError:
            raise InputError(f"--pool's time must be minutes, MM:SS, HH:MM:SS, D-HH or D-HH:MM:SS (as sbatch --time), "
                             f"got {time!r} in {text!r}") from None
    return Pool(int(m.group(1)), float(m.group(2)), time, tuple(sorted(resources.items())))
