"""What each worker asks of the file server, by kind, per job and per second (issue 25).

Usage::

    scripts/two-clients start                      # as root, once (its daemons count requests)
    python benchmarks/bench_fs_ops.py              # W = 2, 4, 8, 16; 20 ms jobs
    python benchmarks/bench_fs_ops.py --workers 2 8 32 64 128 --job-s 0.1
    python benchmarks/bench_fs_ops.py --workers 64 128 --waiting 64 128 --no-idle
    python benchmarks/bench_fs_ops.py --local --workers 2 8 16   # system calls on local disk (strace)

The two-client bed's daemons are the file server here: every request that
reaches them (what the kernel did not answer from its caches, as with NFS)
is counted by FUSE operation, and ``SIGUSR1`` makes them write the counts.
For each W, W real ``benchgrid work`` processes (half on each client) drain
a fresh project of W × ``--jobs-per-worker`` sleeping jobs; the counts taken
when a fifth and when four fifths of the jobs have ended (the steady state:
start-up and the last claims left out) give requests per job by kind:

- ``meta``: lookup, getattr, access (metadata reads; what ``stat`` costs);
- ``open``: open, opendir; ``read``: read, readdir; ``write``: write;
- ``change``: create, mknod, mkdir, link, rename, unlink, rmdir, setattr
  (metadata-changing: what a Lustre MDS or an NFS server journals);
- ``fsync``; ``close``: flush and release (a close; NFS has no request for
  one that wrote nothing, so ``total`` leaves it out).

With ``--local`` there is no file server to count: each worker runs under
``strace`` on a project on local disk, and the system calls that name the
project's files (a path, or a descriptor ``-y`` shows open on one) are
counted by the same kinds (an ``open`` with ``O_CREAT|O_EXCL`` as a create;
``other``: lseek, fcntl, ioctl, mmap, which never reach a server), per job
from a run of 2N jobs less a run of N (start-up and the end cancel out).
They are what a client without caches would send: an upper bound of what
an NFS client sends.

Two more figures: a **waiting** worker's requests per second while a live
holder keeps the project lock for ``--wait-s`` seconds (lock polling), and an
**idle** worker's per second while it runs one long job (heartbeats only).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BED = Path(os.environ.get("BENCHGRID_TWO_CLIENTS") or "/tmp/benchgrid-two-clients")
KINDS = {
    "meta": ("lookup", "getattr", "access", "statfs", "readlink"),
    "open": ("open", "opendir"),
    "read": ("read", "readdir"),
    "write": ("write",),
    "change": ("create", "mknod", "mkdir", "symlink", "link", "rename", "unlink", "rmdir", "setattr"),
    "fsync": ("fsync", "fsyncdir"),
    "close": ("flush", "release", "releasedir"),
}
HOLD = ("import sys, time\nfrom pathlib import Path\nfrom benchgrid.store.storage._lease_lock import LeaseLock\n"
        "with LeaseLock(Path(sys.argv[1]), lifetime_s=3600):\n    Path(sys.argv[2]).touch()\n    time.sleep(float(sys.argv[3]))\n")


def snapshot() -> Counter[str]:
    """The requests both daemons have received so far."""
    total: Counter[str] = Counter()
    for side in ("a", "b"):
        pid = int((BED / "run" / f"{side}.pid").read_text())
        out = BED / "run" / f"{side}.ops.json"
        before = out.stat().st_mtime_ns if out.exists() else 0
        os.kill(pid, signal.SIGUSR1)
        for _ in range(200):
            if out.exists() and out.stat().st_mtime_ns != before:
                break
            time.sleep(0.01)
        total.update(json.loads(out.read_text()))
    return total


def by_kind(ops: Counter[str]) -> dict[str, int]:
    out = {kind: sum(ops[o] for o in names) for kind, names in KINDS.items()}
    out["total"] = sum(v for k, v in out.items() if k != "close")
    return out


SRC = [ROOT / "src"]  # the benchgrid measured (--src)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC[0]), str(ROOT), os.environ.get("PYTHONPATH", "")])}


def create(folder: Path, n_jobs: int, job_s: float, **settings: object) -> Path:
    proj = folder / "proj"
    make = ("import sys, json; from benchgrid import Project; "
            f"Project.create(sys.argv[1], [{{'i': i, 'seconds': {float(job_s)}}} for i in range({n_jobs})], "
            f"'tests.runners.jobs:sleep', **json.loads(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", make, str(proj), json.dumps(settings)], env=env(), check=True, cwd=ROOT)
    return proj


def workers(n: int, folder_of, name: str = "w") -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(folder_of(i)), "--name", f"{name}{i}"],
                             env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            for i in range(n)]


def run_grid(n_workers: int, per_worker: int, job_s: float) -> dict[str, float]:
    label = f"fsops-{uuid.uuid4().hex[:8]}"
    (BED / "backing" / label).mkdir()
    try:
        n_jobs = n_workers * per_worker
        create(BED / "a" / label, n_jobs, job_s)
        side = lambda i: BED / "ab"[i % 2] / label / "proj"  # noqa: E731
        procs = workers(n_workers, side)
        # the steady state: from a fifth of the jobs done to four fifths (start-up and the end left out)
        server = BED / "backing" / label / "proj"
        while finished(server) < n_jobs // 5:
            time.sleep(0.05)
        before, done0, t0 = snapshot(), finished(server), time.monotonic()
        while finished(server) < 4 * n_jobs // 5 and any(p.poll() is None for p in procs):
            time.sleep(0.05)
        after, done1, seconds = snapshot(), finished(server), time.monotonic() - t0
        for p in procs:
            p.wait()
        ops = by_kind(after - before)
        n = max(1, done1 - done0)
        return {**{k: v / n for k, v in ops.items()}, "per_worker_s": ops["total"] / n_workers / seconds,
                "jobs_s": n / seconds}
    finally:
        subprocess.run(["rm", "-rf", str(BED / "backing" / label)])


#: system calls on the project's files (local disk: no file server to count), by the kinds of KINDS
SYSCALLS = {
    "meta": ("stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
             "readlink", "readlinkat", "statfs", "fstatfs"),
    "open": ("open", "openat", "openat2"),
    "read": ("read", "pread64", "readv", "preadv", "getdents64"),
    "write": ("write", "pwrite64", "writev", "pwritev"),
    "change": ("rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat", "mkdir", "mkdirat",
               "rmdir", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "truncate", "ftruncate",
               "utimensat", "mknod", "mknodat"),
    "fsync": ("fsync", "fdatasync"),
    "close": ("close",),
}
KIND_OF = {name: kind for kind, names in SYSCALLS.items() for name in names}
STRACE = ["strace", "-f", "-qq", "--seccomp-bpf", "-y", "-e", "trace=%file,%desc,fsync,fdatasync"]


def local_calls(n_workers: int, n_jobs: int, job_s: float) -> Counter[str]:
    """System calls naming the project's files, by kind, of W workers (each under strace) draining n_jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        proj = create(Path(tmp), n_jobs, job_s)
        logs = [Path(tmp) / f"strace.{i}" for i in range(n_workers)]
        procs = [subprocess.Popen([*STRACE, "-o", str(log), sys.executable, "-m", "benchgrid", "work", str(proj),
                                   "--name", f"w{i}"], env=env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=ROOT)
                 for i, log in enumerate(logs)]
        for p in procs:
            p.wait()
        out: Counter[str] = Counter()
        mark = str(proj)
        for log in logs:
            with open(log, errors="replace") as f:
                for line in f:
                    if mark not in line or "resumed>" in line:
                        continue
                    call = line.split(None, 1)[1].split("(", 1)[0] if " " in line else ""
                    kind = KIND_OF.get(call, "other")
                    if kind == "open" and "O_CREAT|O_EXCL" in line:
                        kind = "change"  # a create (a temp file, a lock's claim file)
                    out[kind] += 1
        return out


def run_local(n_workers: int, per_worker: int, job_s: float) -> dict[str, float]:
    """Calls per job on local disk: a run of 2N jobs less one of N (start-up and the end cancel out)."""
    n = n_workers * per_worker
    small, big = local_calls(n_workers, n, job_s), local_calls(n_workers, 2 * n, job_s)
    per_job = {kind: (big[kind] - small[kind]) / n for kind in (*KINDS, "other")}
    per_job["total"] = sum(v for k, v in per_job.items() if k not in ("close", "other"))
    return per_job


def finished(server_side: Path) -> int:
    """Jobs ended so far, counted from the workers' event logs on the server's side (no request to the bed)."""
    n = 0
    for log in (server_side / "workers").glob("*/events.log"):
        with open(log, "rb") as f:
            n += f.read().count(b'"t1"')
    return n


def waiting_rate(n_workers: int, wait_s: float) -> float:
    """Requests per second of each worker waiting for a lock a live holder keeps."""
    label = f"fsops-{uuid.uuid4().hex[:8]}"
    (BED / "backing" / label).mkdir()
    try:
        proj = create(BED / "a" / label, 10 * n_workers, 0.0)
        taken = Path(tempfile.mkdtemp()) / "taken"
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(BED / "a" / label / "proj" / "queue" / "lock"),
                                   str(taken), str(wait_s + 900)], env=env(), cwd=ROOT)
        while not taken.exists():
            time.sleep(0.05)
        procs = workers(n_workers, lambda i: BED / "ab"[i % 2] / label / "proj")
        # every worker writes its lease before it asks for the lock; starting 128 Pythons takes a minute
        server = BED / "backing" / label / "proj" / "workers"
        while len(list(server.glob("*/lease.json"))) < n_workers:
            time.sleep(0.2)
        time.sleep(5)  # let the last ones reach the lock
        before = snapshot()
        time.sleep(wait_s)
        ops = by_kind(snapshot() - before)
        holder.kill()
        for p in procs:
            p.kill()
            p.wait()
        holder.wait()
        del proj
        return ops["total"] / n_workers / wait_s
    finally:
        subprocess.run(["rm", "-rf", str(BED / "backing" / label)])


def idle_rate(seconds: float, lease_s: float) -> float:
    """Requests per second of one worker running one long job (heartbeats; lease_s / 4 apart)."""
    label = f"fsops-{uuid.uuid4().hex[:8]}"
    (BED / "backing" / label).mkdir()
    try:
        create(BED / "a" / label, 1, seconds + 10, lease_s=lease_s)
        procs = workers(1, lambda i: BED / "a" / label / "proj")
        time.sleep(5)
        before = snapshot()
        time.sleep(seconds)
        ops = by_kind(snapshot() - before)
        procs[0].kill()
        procs[0].wait()
        return ops["total"] / seconds
    finally:
        subprocess.run(["rm", "-rf", str(BED / "backing" / label)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--job-s", type=float, default=0.02)
    ap.add_argument("--jobs-per-worker", type=int, default=250)
    ap.add_argument("--wait-s", type=float, default=10.0)
    ap.add_argument("--waiting", type=int, nargs="*", default=[1, 4, 16],
                    help="numbers of workers waiting for a held lock (none: skip)")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle worker's figure")
    ap.add_argument("--local", action="store_true",
                    help="count system calls on local disk instead (strace; runs of N and 2N jobs, differenced)")
    ap.add_argument("--src", type=Path, default=SRC[0], help="the src folder of the checkout to measure")
    args = ap.parse_args()
    SRC[0] = args.src
    if args.local:
        print(f"system calls per job on the project's files, local disk, jobs of {args.job_s * 1000:g} ms")
        print(f"{'W':>4} | " + " | ".join(f"{k:>6}" for k in (*KINDS, "total", "other")))
        for w in args.workers:
            r = run_local(w, args.jobs_per_worker, args.job_s)
            print(f"{w:>4} | " + " | ".join(f"{r[k]:6.2f}" for k in (*KINDS, "total", "other")))
        return
    print(f"requests per job reaching the file server (two-client bed), jobs of {args.job_s * 1000:g} ms")
    print(f"{'W':>4} | " + " | ".join(f"{k:>6}" for k in (*KINDS, "total")) + " | per worker/s | jobs/s")
    for w in args.workers:
        r = run_grid(w, args.jobs_per_worker, args.job_s)
        print(f"{w:>4} | " + " | ".join(f"{r[k]:6.2f}" for k in (*KINDS, "total")) + f" | {r['per_worker_s']:12.1f} | {r['jobs_s']:6.0f}")
    for w in args.waiting:
        print(f"waiting for a held lock, W = {w:>2}: {waiting_rate(w, args.wait_s):6.1f} requests/s per worker")
    if not args.no_idle:
        print(f"idle worker (one long job, lease_s 60): {idle_rate(20, 60):.2f} requests/s")


if __name__ == "__main__":
    main()
