"""What the trust boundary costs: the start check, and opening files without following links.

1. ``check_trust`` on a generic project with N jobs (job table parts of
   10,000 jobs) and on the demo ML project (72 jobs, pickled learners, tasks,
   splits), beside ``read_project_json``, which every start does anyway:
   medians of R runs, in alternating rounds (the last round is printed).
2. The per-claim file operations, old way and new way side by side in one run
   (medians of R batches of 1,000): appending one record to an existing log
   with ``os.open`` vs ``open_nofollow``, and reading a small file with
   ``open()`` vs ``open_file()``.

    python benchmarks/bench_trust_check.py [--jobs 100000] [--repeats 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import benchgrid as bg
from benchgrid.ml._demo import demo_grid
from benchgrid.store import check_trust, read_project_json
from benchgrid.store.storage._safe_io import open_file, open_nofollow


def median_s(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    generic = bg.Project.create(tmp / "generic", [{"i": i} for i in range(args.jobs)], "tests.runners.jobs:noop")
    g = demo_grid()
    ml = bg.Project.create(tmp / "ml", g["tasks"], g["learners"], g["cv"], measures=g["measures"])
    print(f"{'project':<28} {'files checked':>13} {'check_trust':>14} {'read_project_json':>18} {'ratio':>6}")
    for name, proj in ((f"generic, {args.jobs:,} jobs", generic), ("ML demo, 72 jobs", ml)):
        n_files = 1 + sum(1 for _ in proj.path.iterdir()) + sum(
            1 for d in ("inputs", "jobs", "queue") for _ in (proj.path / d).rglob("*")
        )
        check = read = 0.0
        for _ in range(3):  # interleaved rounds, the median of each
            check = median_s(lambda: check_trust(proj.path), args.repeats)
            read = median_s(lambda: read_project_json(proj.path), args.repeats)
        print(f"{name:<28} {n_files:>13} {check * 1e3:>11.2f} ms {read * 1e3:>15.2f} ms {check / read:>6.1f}")

    log = tmp / "claims.log"
    log.write_bytes(b"x" * 1000)
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND

    def append_plain() -> None:
        for _ in range(1000):
            fd = os.open(log, flags, 0o666)
            os.write(fd, b"0" * 100)
            os.close(fd)

    def append_nofollow() -> None:
        for _ in range(1000):
            fd = open_nofollow(log, flags)
            os.write(fd, b"0" * 100)
            os.close(fd)

    def read_plain() -> None:
        for _ in range(1000):
            with open(log, "rb") as f:
                f.read(4096)

    def read_nofollow() -> None:
        for _ in range(1000):
            with open_file(log, "rb") as f:
                f.read(4096)

    print(f"\n{'1,000 operations':<28} {'old':>10} {'new':>10} {'new/old':>8}")
    for name, old, new in (("append a record", append_plain, append_nofollow), ("read a small file", read_plain, read_nofollow)):
        t_old, t_new = [], []
        for _ in range(args.repeats):  # interleaved: load on the machine hits both alike
            t_old.append(median_s(old, 1))
            t_new.append(median_s(new, 1))
        mo, mn = statistics.median(t_old), statistics.median(t_new)
        print(f"{name:<28} {mo * 1e3:>7.2f} ms {mn * 1e3:>7.2f} ms {mn / mo:>8.2f}")


if __name__ == "__main__":
    main()
