"""The job table survives an interrupted writer: an add or init cut anywhere leaves nothing a later add takes
for its own; concurrent adds of the same jobs add them once; an abandoned init folder is found."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_DISK_FULL
from benchgrid.store.storage._jobs import PART_SIZE, canonical_json, content_key

from ..worker.helpers import wait_until
from .helpers import cli
from .test_disk_full import fill, small_disk  # noqa: F401 - the fixture

N0 = PART_SIZE - 10  # the failed add spans the end of part 0 and the start of part 1


def _rows_text(params: list[dict[str, int]], first_id: int) -> bytes:
    return b"".join(
        b'{"id":%d,"key":"%s","params":%s}\n' % (first_id + k, content_key(canonical_json(p)).encode(),
                                                 canonical_json(p).encode())
        for k, p in enumerate(params)
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tpl") / "proj"
    bg.Project.create(root, [{"i": i} for i in range(N0)], "tests.runners.jobs:noop")
    return root


def test_add_cut_at_any_byte_leaves_nothing_a_later_add_takes(template: Path, tmp_path: Path) -> None:
    lost_add = _rows_text([{"lost": k} for k in range(30)], N0)  # what the interrupted add was writing
    part0_end = 10 * len(lost_add) // 30
    cuts = sorted({0, 1, 57, part0_end - 1, part0_end, part0_end + 1, part0_end + 90, len(lost_add) - 1})
    new = [{"new": k} for k in range(25)]
    for cut in cuts:
        root = tmp_path / f"cut{cut}"
        shutil.copytree(template, root)
        written = lost_add[:cut]
        with open(root / "jobs" / "part-00000.jsonl", "ab") as f:
            f.write(written[:part0_end])
        if cut > part0_end:
            (root / "jobs" / "part-00001.jsonl").write_bytes(written[part0_end:])
        proj = bg.Project.open(root)
        assert len(proj.jobs()) == N0  # readers ignore the uncommitted rows
        assert proj.add_jobs(new) == 25
        jobs = proj.jobs()
        assert list(jobs["job_id"]) == list(range(N0 + 25)), cut
        tail = jobs.iloc[N0:]
        assert list(tail["new"]) == list(range(25)) and "lost" not in jobs.columns, cut
        assert [proj._queue().jobs.get(j)["params"] for j in (N0, N0 + 24)] == [{"new": 0}, {"new": 24}]


def test_add_interrupted_by_full_disk_then_another_add(small_disk: Path) -> None:  # noqa: F811
    root = small_disk / "proj"
    bg.Project.create(root, [{"i": i} for i in range(N0)], "tests.runners.jobs:noop")
    first = small_disk / "first.jsonl"
    first.write_text("".join(json.dumps({"first": k, "pad": "p" * 80}) + "\n" for k in range(8000)))
    filler = fill(small_disk, leave_kb=200)  # about a third of the add fits
    res = cli("add", str(root), "--jobs", str(first))
    assert res.returncode == EXIT_DISK_FULL and "disk full writing " in res.stderr and "Traceback" not in res.stderr
    filler.unlink()
    first.unlink()
    second = small_disk.parent / "second.jsonl"
    second.write_text("".join(json.dumps({"second": k}) + "\n" for k in range(8000)))
    res = cli("add", str(root), "--jobs", str(second))
    assert res.returncode == 0 and "added 8000 jobs" in res.stdout, res.stderr
    jobs = bg.Project.open(root).jobs()
    assert len(jobs) == N0 + 8000 and list(jobs["job_id"]) == list(range(N0 + 8000))
    assert list(jobs["second"].iloc[N0:].astype(int)) == list(range(8000))
    assert "first" not in jobs.columns


def test_concurrent_adds_of_the_same_jobs_add_them_once(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": -1}], "tests.runners.jobs:noop")
    file = proj_dir.parent / "more.json"
    file.write_text(json.dumps([{"i": i} for i in range(500)]))
    cmd = [sys.executable, "-m", "benchgrid", "add", str(proj_dir), "--jobs", str(file)]
    queue_dir = proj_dir / "queue"
    with bg.Project.open(proj_dir)._queue().lock:  # all three read the table, then wait for the lock together
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(3)]
        for p in procs:  # a waiter names its claim file after its pid (lock|host|pid|random)
            wait_until(lambda p=p: [f for f in os.listdir(queue_dir) if f"|{p.pid}|" in f], 60, f"add {p.pid} to wait")
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sorted(int(o.split()[1]) for o in outs) == [0, 0, 500]
    jobs = bg.Project.open(proj_dir).jobs()
    assert len(jobs) == 501 and jobs["key"].is_unique


def test_init_killed_midway_is_named_then_cleaned(proj_dir: Path) -> None:
    code = (
        "import os, sys, benchgrid as bg\n"
        "bg.Project.create(sys.argv[1], [{'i': i} for i in range(100)], 'tests.runners.jobs:noop',\n"
        "                  write_inputs=lambda d: os.kill(os.getpid(), 9))\n"
    )
    killed = subprocess.run([sys.executable, "-c", code, str(proj_dir)], timeout=120)
    assert killed.returncode == -9
    left = list(proj_dir.parent.glob(".proj.creating-*"))
    assert len(left) == 1 and not proj_dir.exists()
    res = cli("status", str(proj_dir))
    assert res.returncode == 2 and "was interrupted" in res.stderr and left[0].name in res.stderr
    jobs = proj_dir.parent / "jobs.json"
    jobs.write_text(json.dumps([{"i": 1}]))
    res = cli("init", str(proj_dir), "--jobs", str(jobs), "--runner", "tests.runners.jobs:noop")
    assert res.returncode == 0 and f"removed {left[0]}" in res.stderr
    assert not left[0].exists() and bg.Project.open(proj_dir).status().n_jobs == 1
