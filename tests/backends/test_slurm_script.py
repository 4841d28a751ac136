"""The SLURM batch script: golden file, quoting, time strings, array splitting.

The script is also run by bash with a stand-in ``squeue`` and a stand-in
worker, so the tests check what the worker really receives, not only text.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid._errors import InputError
from benchgrid.backends.slurm import (
    ArrayChunk,
    parse_slurm_time,
    slurm_array_script,
    slurm_array_scripts,
    split_array,
)

GOLDEN = Path(__file__).parent / "golden" / "slurm_array.sh"

# A project path and names that would break an unquoted script.
NASTY_DIR = "/scratch/lab grid/it's \"quoted\"; rm -rf ~/100%"
GOLDEN_OPTIONS = dict(
    n_workers=3,
    command=("/opt/venv/bin/python", "-m", "benchgrid.cli.main"),
    job_name="bench; rm -rf ~",
    time="2:00:00",
    mem_gb=4,
    cpus_per_worker=2,
    partition="cpu",
    account="def-lab",
    qos="normal",
    gres="gpu:1",
    setup=["module load python/3.11", 'source "$HOME/venvs/bench/bin/activate"'],
    max_parallel=2,
    sbatch_args=["--constraint=cascade", "--mail-type=END"],
    worker_args=("--max-jobs", "100"),
)


def test_script_equals_golden_file() -> None:
    text = slurm_array_script(NASTY_DIR, **GOLDEN_OPTIONS)  # type: ignore[arg-type]
    if os.environ.get("BENCHGRID_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_golden_script_is_valid_bash() -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not on PATH")
    subprocess.run(["bash", "-n", str(GOLDEN)], check=True)


# -- running the script with stand-ins -----------------------------------------


def _bin(dir_: Path, name: str, body: str) -> None:
    path = dir_ / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_script(tmp_path: Path, text: str, *, squeue_end: str | None) -> dict:
    """Run ``text`` under bash as array task 7 of job 1234; return the worker's argv and env."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    out = tmp_path / "worker.json"
    if squeue_end is None:
        _bin(bindir, "squeue", "#!/bin/sh\nexit 1\n")
    else:
        _bin(bindir, "squeue", f"#!/bin/sh\necho '{squeue_end}'\n")
    _bin(
        bindir,
        "fake-worker",
        "#!" + sys.executable + "\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'setup': os.environ.get('SETUP_RAN')}}, open({str(out)!r}, 'w'))\n",
    )
    script = tmp_path / "job.sh"
    script.write_text(text)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", SLURM_JOB_ID="1241",
               SLURM_ARRAY_JOB_ID="1234", SLURM_ARRAY_TASK_ID="7", TZ="UTC")
    subprocess.run(["bash", str(script)], check=True, env=env, timeout=30)
    return json.loads(out.read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "my proj" / "it's \"x; rm -rf ~\""
    p.mkdir(parents=True)
    return p


def test_worker_gets_project_path_name_and_until_from_squeue(tmp_path: Path, project: Path) -> None:
    text = slurm_array_script(
        project, n_workers=8, command=["fake-worker"], time="1:00:00",
        setup=["export SETUP_RAN='yes; really'"], worker_args=["--max-jobs", "5"],
    )
    got = run_script(tmp_path, text, squeue_end="2030-01-01T00:00:00")
    end_s = 1893456000  # 2030-01-01T00:00:00Z
    assert got["argv"] == [
        "work", str(project), "--name", "slurm-1234_7", "--max-jobs", "5", "--restart-crashed", "--until", str(end_s - 60),
    ]
    assert got["setup"] == "yes; really"


def test_until_falls_back_to_start_plus_limit_when_squeue_fails(tmp_path: Path, project: Path) -> None:
    text = slurm_array_script(project, n_workers=1, command=["fake-worker"], time="10")
    import time as clock

    before = int(clock.time())
    got = run_script(tmp_path, text, squeue_end=None)
    after = int(clock.time())
    until = int(got["argv"][got["argv"].index("--until") + 1])
    assert before + 600 - 60 <= until <= after + 600 - 60


@pytest.mark.parametrize("squeue_end", [None, "Unknown", "N/A"])
def test_no_until_without_time_and_end(tmp_path: Path, project: Path, squeue_end: str | None) -> None:
    text = slurm_array_script(project, n_workers=1, command=["fake-worker"])
    got = run_script(tmp_path, text, squeue_end=squeue_end)
    assert got["argv"] == ["work", str(project), "--name", "slurm-1234_7", "--restart-crashed"]


def test_partition_default_limit_read_from_squeue(tmp_path: Path, project: Path) -> None:
    text = slurm_array_script(project, n_workers=1, command=["fake-worker"])
    got = run_script(tmp_path, text, squeue_end="2030-01-01T00:10:00")
    assert got["argv"][-2:] == ["--until", str(1893456000 + 600 - 60)]


# -- directives -------------------------------------------------------------------


def _directives(text: str) -> list[str]:
    return [line[len("#SBATCH "):] for line in text.splitlines() if line.startswith("#SBATCH ")]


def test_directives_minimal() -> None:
    assert _directives(slurm_array_script("/p", n_workers=5)) == [
        "--job-name=benchgrid",
        "--array=0-4",
        "--output=/p/slurm/logs/worker-%A_%a.out",
        "--open-mode=append",
        "--nodes=1",
        "--ntasks=1",
        "--cpus-per-task=1",
        "--signal=B:USR1@60",
    ]


@pytest.mark.parametrize(
    ("mem_gb", "expected"), [(4, "4G"), (4.0, "4G"), (0.5, "512M"), (1.25, "1280M")]
)
def test_mem(mem_gb: float, expected: str) -> None:
    assert f"--mem={expected}" in _directives(slurm_array_script("/p", n_workers=1, mem_gb=mem_gb))


@pytest.mark.parametrize(("time", "warning"), [("1", 15), ("0:30", 15), ("2", 30), ("4", 60), ("2-00", 60)])
def test_default_warning_is_a_quarter_of_short_limits(time: str, warning: int) -> None:
    assert f"--signal=B:USR1@{warning}" in _directives(slurm_array_script("/p", n_workers=1, time=time))


def test_log_dir_percent_is_escaped(tmp_path: Path) -> None:
    text = slurm_array_script("/p", n_workers=1, log_dir="/logs/100% done")
    assert "--output='/logs/100%% done/worker-%A_%a.out'" in _directives(text)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_workers": 0}, r"n_workers must be an integer >= 1, got 0"),
        ({"n_workers": True}, r"n_workers must be an integer >= 1, got True"),
        ({"n_workers": 1, "cpus_per_worker": 0}, r"cpus_per_worker must be an integer >= 1"),
        ({"n_workers": 1, "max_parallel": 0}, r"max_parallel must be an integer >= 1"),
        ({"n_workers": 1, "mem_gb": -1}, r"mem_gb must be a number > 0, got -1"),
        ({"n_workers": 1, "mem_gb": float("nan")}, r"mem_gb must be a number > 0"),
        ({"n_workers": 1, "time": "2h"}, r"time must be a SLURM time limit .* got '2h'"),
        ({"n_workers": 1, "partition": ""}, r"partition must be a non-empty string"),
        ({"n_workers": 1, "account": "a\n#SBATCH --x"}, r"account must be one line"),
        ({"n_workers": 1, "job_name": "a\nb"}, r"job_name must be one line"),
        ({"n_workers": 1, "sbatch_args": "--x"}, r"sbatch_args must be a sequence of strings"),
        ({"n_workers": 1, "sbatch_args": ["constraint=x"]}, r"starting with '-', got 'constraint=x'"),
        ({"n_workers": 1, "sbatch_args": ["--array=0-9"]}, r"must not set --array"),
        ({"n_workers": 1, "sbatch_args": ["-a", "0-3"]}, r"must not set -a"),
        ({"n_workers": 1, "sbatch_args": ["--signal=USR1@9"]}, r"must not set --signal"),
        ({"n_workers": 1, "sbatch_args": ["-o/x"]}, r"must not set -o/x"),
        ({"n_workers": 1, "setup": [1]}, r"setup must be a string or a list of strings"),
        ({"n_workers": 1, "command": []}, r"command must name the program"),
        ({"n_workers": 1, "time": "1", "warning_s": 60}, r"warning_s must be shorter than the time limit \(60 s\), got 60"),
        ({"n_workers": 1, "log_dir": "logs"}, r"log_dir must be an absolute path .* got 'logs'"),
        ({"n_workers": 1, "log_dir": "/a\\b"}, r"log_dir must not contain a backslash"),
    ],
)
def test_bad_options_raise_input_error(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        slurm_array_script("/p", **kwargs)


def test_relative_project_dir_is_refused() -> None:
    with pytest.raises(InputError, match=r"project_dir must be an absolute path .* got 'proj'"):
        slurm_array_script("proj", n_workers=1)


# -- time strings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1", 60),
        ("90", 5400),
        ("0:30", 30),
        ("90:00", 5400),
        ("2:00:00", 7200),
        ("48:00:00", 172800),
        ("1:75:00", 8100),  # SLURM lets later fields overflow
        ("1-0", 86400),
        ("1-12", 129600),
        ("1-2:30", 95400),
        ("1-02:03:04", 93784),
        (" 5 ", 300),
    ],
)
def test_parse_slurm_time(value: str, seconds: int) -> None:
    assert parse_slurm_time(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "2h", "1:2:3:4", "-5", "2.5", "1-", "1-2:3:4:5", "UNLIMITED", "a:b", "1 - 2", None, 60]
)
def test_parse_slurm_time_rejects(value: object) -> None:
    with pytest.raises(InputError) as info:
        parse_slurm_time(value, name="--time")  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("--time must be a SLURM time limit")
    assert "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS" in message
    assert f"got {value!r}" in message


@pytest.mark.parametrize("value", ["0", "0:00", "0-0"])
def test_parse_slurm_time_rejects_zero(value: str) -> None:
    with pytest.raises(InputError, match=r"time must be more than zero .*'no limit'.* got '0"):
        parse_slurm_time(value)


# -- splitting arrays ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_workers", "max_array_size", "sizes"),
    [(1, 1001, [1]), (1001, 1001, [1001]), (1002, 1001, [1001, 1]), (2500, 1001, [1001, 1001, 498]),
     (10, 3, [3, 3, 3, 1]), (100_000, 1001, [1001] * 99 + [901])],
)
def test_split_array_sizes(n_workers: int, max_array_size: int, sizes: list[int]) -> None:
    chunks = split_array(n_workers, max_array_size=max_array_size)
    assert [c.n_tasks for c in chunks] == sizes
    assert sum(c.n_tasks for c in chunks) == n_workers
    assert all(c.n_tasks - 1 < max_array_size for c in chunks)  # highest index below MaxArraySize
    assert all(c.max_parallel is None for c in chunks)


@pytest.mark.parametrize(
    ("n_workers", "max_array_size", "max_parallel"),
    [(10, 3, 4), (2500, 1001, 100), (2500, 1001, 2500), (7, 2, 7), (1500, 1001, 300), (5, 5, 2)],
)
def test_split_array_shares_the_throttle(n_workers: int, max_array_size: int, max_parallel: int) -> None:
    chunks = split_array(n_workers, max_array_size=max_array_size, max_parallel=max_parallel)
    shares = [c.max_parallel for c in chunks]
    assert all(s is not None and 1 <= s <= c.n_tasks for s, c in zip(shares, chunks))
    assert sum(s for s in shares if s is not None) == max_parallel


def test_split_array_throttle_smaller_than_number_of_arrays_gives_one_each() -> None:
    assert split_array(5, max_array_size=2, max_parallel=2) == [
        ArrayChunk(2, 1), ArrayChunk(2, 1), ArrayChunk(1, 1)
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_workers": 0}, "n_workers must be an integer >= 1, got 0"),
     ({"n_workers": 5, "max_array_size": 0}, "max_array_size must be an integer >= 1, got 0"),
     ({"n_workers": 5, "max_parallel": -1}, "max_parallel must be an integer >= 1, got -1")],
)
def test_split_array_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        split_array(**kwargs)


def test_slurm_array_scripts_one_script_per_array() -> None:
    scripts = slurm_array_scripts("/p", n_workers=2500, max_array_size=1001, max_parallel=100, time="1:00:00")
    arrays = [next(d for d in _directives(s) if d.startswith("--array=")) for s in scripts]
    assert arrays == ["--array=0-1000%40", "--array=0-1000%40", "--array=0-497%20"]
    assert all("--time=1:00:00" in _directives(s) for s in scripts)
