"""The Grid Engine job script and qsub words: golden file, hostile paths, the end of the allocation."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benchgrid import InputError
from benchgrid.backends.sge import parse_qstat_xml, sge_array

GOLDEN = Path(__file__).parent / "golden" / "sge_array.sh"
NASTY_DIR = "/scratch/lab grid/it's \"quoted\"; rm -rf ~/100%, a:b"
GOLDEN_OPTIONS = dict(
    n_workers=3,
    work_dir="/home/ada/it's here",
    command=("/opt/venv/bin/python", "-m", "benchgrid"),
    job_name="bench-grid",
    time="2:00:00",
    mem_gb=4,
    mem_resource="h_vmem",
    cpus_per_worker=2,
    pe="smp",
    queue="all.q",
    project="lab",
    setup=["module load python/3.11", 'source "$HOME/venvs/bench/bin/activate"'],
    max_parallel=2,
    qsub_args=["-l", "arch=lx-amd64"],
    worker_args=("--max-jobs", "100"),
)


def test_script_equals_golden_file() -> None:
    job = sge_array(NASTY_DIR, **GOLDEN_OPTIONS)  # type: ignore[arg-type]
    if os.environ.get("BENCHGRID_UPDATE_GOLDEN"):
        GOLDEN.write_text(job.script)
    assert job.script == GOLDEN.read_text()
    assert job.n_tasks == 3
    assert job.submit_args == (
        "-N", "bench-grid", "-t", "1-3", "-tc", "2", "-o", "/dev/null", "-j", "y", "-S", "/bin/bash",
        "-notify", "-wd", "/home/ada/it's here", "-V", "-l", "h_rt=7200", "-l", "h_vmem=4G",
        "-pe", "smp", "2", "-q", "all.q", "-P", "lab", "-l", "arch=lx-amd64",
    )


def test_golden_script_is_valid_bash() -> None:
    assert shutil.which("bash") is not None, "bash is needed to check job scripts"
    subprocess.run(["bash", "-n", str(GOLDEN)], check=True)


def _bin(dir_: Path, name: str, body: str) -> None:
    path = dir_ / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


QSTAT_XML = """<?xml version='1.0'?>
<detailed_job_info>
  <djob_info><element>
    <JB_ja_tasks>
      <ulong_sublist><JAT_task_number>6</JAT_task_number><JAT_start_time>1700000000</JAT_start_time></ulong_sublist>
      <ulong_sublist><JAT_task_number>7</JAT_task_number><JAT_start_time>{start}</JAT_start_time></ulong_sublist>
    </JB_ja_tasks>
  </element></djob_info>
</detailed_job_info>
"""


def run_script(tmp_path: Path, text: str, *, start: str | None) -> dict:
    """Run ``text`` under bash as task 7 of job 1234 with a stand-in qstat; return the worker's argv."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    out = tmp_path / "worker.json"
    if start is None:
        _bin(bindir, "qstat", "#!/bin/sh\nexit 1\n")
    else:
        (tmp_path / "qstat.xml").write_text(QSTAT_XML.format(start=start))
        _bin(bindir, "qstat", f"#!/bin/sh\n[ \"$2\" = 1234 ] && cat '{tmp_path / 'qstat.xml'}'\n")
    _bin(
        bindir,
        "fake-worker",
        "#!" + sys.executable + "\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'setup': os.environ.get('SETUP_RAN'),"
        f" 'job': os.environ.get('BENCHGRID_SCHEDULER_JOB_ID')}}, open({str(out)!r}, 'w'))\n",
    )
    script = tmp_path / "job.sh"
    script.write_text(text)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", JOB_ID="1234", SGE_TASK_ID="7")
    subprocess.run(["bash", str(script)], check=True, env=env, timeout=30)
    return json.loads(out.read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "my proj" / "it's \"x; rm -rf ~\", a:b"
    (p / "sge" / "logs").mkdir(parents=True)
    return p


def test_worker_gets_path_name_and_until_from_qstat(tmp_path: Path, project: Path) -> None:
    job = sge_array(project, n_workers=8, work_dir=str(tmp_path), command=["fake-worker"], time="1:00:00",
                    setup=["export SETUP_RAN='yes; really'"], worker_args=["--max-jobs", "5"])
    got = run_script(tmp_path, job.script, start="1800000000")
    assert got["argv"] == [
        "work", str(project), "--name", "sge-1234.7", "--max-jobs", "5", "--restart-crashed", "--until", str(1800000000 + 3600 - 60),
    ]
    assert got["setup"] == "yes; really" and got["job"] == "1234.7"
    # the script's output went to the log in the hostile folder, named after the task
    assert (project / "sge" / "logs" / "worker-1234.7.out").exists()


def test_the_worker_gets_its_memory_budget(tmp_path: Path, project: Path) -> None:
    job = sge_array(project, n_workers=1, work_dir=str(tmp_path), command=["fake-worker"], mem_gb=2.5)
    assert job.submit_args[-2:] == ("-l", "mem_free=2560M")
    got = run_script(tmp_path, job.script, start=None)
    assert got["argv"][-3:] == ["--mem-gb", "2.5", "--restart-crashed"]


def test_milliseconds_start_is_read_as_seconds(tmp_path: Path, project: Path) -> None:
    job = sge_array(project, n_workers=1, work_dir=str(tmp_path), command=["fake-worker"], time="10")
    got = run_script(tmp_path, job.script, start="1800000000123")
    assert got["argv"][-2:] == ["--until", str(1800000000 + 600 - 60)]


def test_until_falls_back_to_the_scripts_start_when_qstat_fails(tmp_path: Path, project: Path) -> None:
    import time as clock

    job = sge_array(project, n_workers=1, work_dir=str(tmp_path), command=["fake-worker"], time="10")
    before = int(clock.time())
    got = run_script(tmp_path, job.script, start=None)
    after = int(clock.time())
    until = int(got["argv"][got["argv"].index("--until") + 1])
    assert before + 600 - 60 <= until <= after + 600 - 60


def test_no_until_and_no_h_rt_without_time(tmp_path: Path, project: Path) -> None:
    job = sge_array(project, n_workers=1, work_dir=str(tmp_path), command=["fake-worker"])
    assert not any(a.startswith("h_rt") for a in job.submit_args)
    got = run_script(tmp_path, job.script, start="1800000000")
    assert "--until" not in got["argv"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (dict(n_workers=0), r"n_workers must be an integer >= 1, got 0"),
        (dict(time="1 hour"), r"time must be a SLURM time limit .* got '1 hour'"),
        (dict(time="1:00", warning_s=60), r"warning_s must be shorter than the time limit \(60 s\), got 60"),
        (dict(cpus_per_worker=4), r"cpus_per_worker > 1 needs a parallel environment: set pe"),
        (dict(job_name="my job"), r"job_name must not contain ' ' \(Grid Engine refuses them\), got 'my job'"),
        (dict(queue="a@b"), r"queue must not contain '@'"),
        (dict(qsub_args=["-t", "1-9"]), r"qsub_args must not set -t \(benchgrid sets the array"),
        (dict(qsub_args="-l h_rt=1"), r"qsub_args must be a sequence of strings, got '-l h_rt=1'"),
        (dict(mem_gb=-1), r"mem_gb must be a number > 0, got -1"),
        (dict(work_dir="relative"), r"work_dir must be an absolute path .* got 'relative'"),
        (dict(setup=["ok", 3]), r"setup must be a string or a list of strings"),
    ],
)
def test_bad_options_are_named(options: dict, match: str) -> None:
    kwargs = dict(n_workers=1, work_dir="/tmp")
    kwargs.update(options)
    with pytest.raises(InputError, match=match):
        sge_array("/p", **kwargs)  # type: ignore[arg-type]


def test_relative_project_dir_is_refused() -> None:
    with pytest.raises(InputError, match=r"project_dir must be an absolute path .* got 'proj'"):
        sge_array("proj", n_workers=1, work_dir="/tmp")


def test_qstat_xml_rows_and_phases() -> None:
    xml = """<job_info><queue_info>
      <job_list state="running"><JB_job_number>9</JB_job_number><state>r</state>
        <queue_name>all.q@vm</queue_name><tasks>1</tasks></job_list>
      </queue_info><job_info>
      <job_list state="pending"><JB_job_number>9</JB_job_number><state>qw</state><tasks>2</tasks></job_list>
      <job_list state="pending"><JB_job_number>10</JB_job_number><state>hqw</state><tasks>1</tasks></job_list>
    </job_info></job_info>"""
    rows = {r.job_id: (r.array_job_id, r.phase, r.state) for r in parse_qstat_xml(xml)}
    assert rows == {"9.1": ("9", "running", "r"), "9.2": ("9", "pending", "qw"), "10.1": ("10", "pending", "hqw")}
    with pytest.raises(InputError, match="qstat -xml gave text that is not XML"):
        parse_qstat_xml("error: can't unpack")
