"""What `benchgrid run` and `submit` do with too many workers and absurd limits (issue 23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import benchgrid as bg


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120)


def test_more_workers_than_jobs_starts_one_per_job_and_says_so(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i} for i in range(4)], "tests.runners.jobs:echo")
    res = cli("run", str(proj_dir), "--workers", "64", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "starting 4 worker(s), not 64: 4 job(s) left to run" in res.stderr
    assert len(list((proj_dir / "workers").iterdir())) == 4  # 4 processes, not 64
    assert proj.status().counts["done"] == 4
    # a second run of a finished project starts one worker, which finds nothing to do
    res = cli("run", str(proj_dir), "--workers", "8", "--no-progress")
    assert res.returncode == 0 and "starting 1 worker(s), not 8: 0 job(s) left to run" in res.stderr
    # as many workers as jobs left: nothing to say
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert "starting" not in res.stderr


def test_a_big_result_is_stored_with_a_warning_naming_the_job(proj_dir: Path) -> None:
    jobs = [{"i": 0, "kb": 1}, {"i": 1, "kb": 2000}, {"i": 2, "kb": 1}]
    proj = bg.Project.create(proj_dir, jobs, "tests.runners.misbehave:big_result")
    res = cli("run", str(proj_dir), "--workers", "1", "--no-progress")
    assert res.returncode == 0, res.stderr
    warned = [line for line in res.stderr.splitlines() if line.startswith("benchgrid: warning: job ")]
    assert len(warned) == 1 and warned[0].startswith("benchgrid: warning: job 1 attempt 1: its result is 2.0 MB"), res.stderr
    assert "events.log" in warned[0] and "save big outputs to files" in warned[0]
    (worker,) = (proj_dir / "workers").iterdir()
    assert "job 1 attempt 1: its result is 2.0 MB" in (worker / "worker.log").read_text()
    assert len(proj.results()["blob"][1]) == 2000 * 1024  # stored all the same


GOOD = "def run(t):\n    return {'v': t}\n"
RAISES = "raise RuntimeError('config file missing: /etc/rr.conf')\n" + GOOD


def _in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120,
                          cwd=folder, env=env)  # fmt: skip


def test_a_runner_module_that_raises_is_named_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "jobs.csv").write_text("t\n1\n2\n")
    (tmp_path / "rr.py").write_text(RAISES)
    res = _in(tmp_path, "init", "p", "--jobs", "jobs.csv", "--runner", "rr:run")
    assert res.returncode == 2 and not (tmp_path / "p").exists()
    assert "runner 'rr:run': importing module 'rr' raised RuntimeError: config file missing: /etc/rr.conf " \
           f"({tmp_path / 'rr.py'}, line 1); the module was found, its own code failed: fix it" in res.stderr, res.stderr
    assert "create the project from the folder" not in res.stderr
    # a module broken after init: run says it once, before starting any worker
    (tmp_path / "rr.py").write_text(GOOD)
    assert _in(tmp_path, "init", "p", "--jobs", "jobs.csv", "--runner", "rr:run").returncode == 0
    (tmp_path / "rr.py").write_text("import no_such_dependency_xyz\n" + GOOD)
    res = _in(tmp_path, "run", "p", "--workers", "2", "--no-progress")
    assert res.returncode == 2
    assert res.stderr.count("benchgrid: error:") == 1 and "exit status" not in res.stderr, res.stderr
    assert "importing module 'rr' raised ModuleNotFoundError: No module named 'no_such_dependency_xyz'" in res.stderr
    assert "install 'no_such_dependency_xyz' where the workers run, or, if it is a module of yours" in res.stderr
    assert not (tmp_path / "p" / "workers").exists() or not list((tmp_path / "p" / "workers").iterdir())
    assert "start some with" not in res.stdout


def test_workers_that_all_fail_at_start_are_not_followed_by_start_some(tmp_path: Path) -> None:
    (tmp_path / "jobs.csv").write_text("t\n1\n2\n")
    # fine where run checks it, raises in the workers (they name their supervisor in the environment)
    (tmp_path / "rr.py").write_text(
        "import os\nif os.environ.get('BENCHGRID_SUPERVISOR'):\n    raise RuntimeError('no GPU here')\n" + GOOD
    )
    assert _in(tmp_path, "init", "p", "--jobs", "jobs.csv", "--runner", "rr:run").returncode == 0
    res = _in(tmp_path, "run", "p", "--workers", "2", "--no-progress")
    assert res.returncode == 4, res.stderr
    assert "ended abnormally before taking a job" in res.stderr and "RuntimeError: no GPU here" in res.stderr
    assert "start some with" not in res.stdout + res.stderr, res.stdout


def test_the_api_checks_the_runner_before_any_worker(tmp_path: Path) -> None:
    """Project.run and Project.submit (not only the CLI) import a user's runner in a fresh Python first."""
    (tmp_path / "rr.py").write_text(GOOD)
    script = (
        "import benchgrid as bg, pathlib\n"
        "proj = bg.Project.create('p', [{'t': 1}, {'t': 2}], 'rr:run')\n"
        "pathlib.Path('rr.py').write_text(\"import no_such_dependency_xyz\\n\" + pathlib.Path('rr.py').read_text())\n"
        "for call in (lambda: proj.run(n_workers=2, progress=False), lambda: proj.run(n_workers=0, progress=False),\n"
        "             lambda: proj.submit(2, backend='slurm', dry_run=True),\n"
        "             lambda: proj.submit(2, backend='sge', until_done=True)):\n"
        "    try:\n"
        "        call()\n"
        "    except bg.InputError as err:\n"
        "        print('refused:', err)\n"
        "    else:\n"
        "        print('accepted')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    lines = res.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("refused: runner 'rr:run': importing module 'rr' raised "
                                                   "ModuleNotFoundError: No module named 'no_such_dependency_xyz'")
                                   for line in lines), (res.stdout, res.stderr)
    workers = tmp_path / "p" / "workers"
    assert not workers.exists() or not list(workers.iterdir())  # no worker started
    assert not (tmp_path / "p" / "sge").exists() and not (tmp_path / "p" / "pools").exists()  # nothing submitted
