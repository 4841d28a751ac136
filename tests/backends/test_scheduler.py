"""The scheduler template: a toy scheduler of two small parts runs the whole flow through the base.

The toy's submit, status and cancel commands are stand-in scripts on PATH, so
the base's flow (check, build, ``bash -n``, write, submit, record, list,
cancel, the errors) is tested without a real scheduler; SLURM's and Grid
Engine's parsers and verdicts are tested on their commands' real answers.
"""

from __future__ import annotations

import shlex
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from benchgrid import InputError, Project
from benchgrid.backends import SchedulerBackend, WorkerRow, _registry, get_backend
from benchgrid.backends._config import _string
from benchgrid.backends._scheduler import SCHEDULER_SCHEMA
from benchgrid.backends._template import ArrayJob, array_script, export_task, script_spec


class ToyBackend(SchedulerBackend):
    """A scheduler in a dozen lines: its words, its header, its status answer."""

    name: ClassVar[str] = "toy"
    title: ClassVar[str] = "Toy"
    config_schema: ClassVar[Mapping[str, Any]] = {**SCHEDULER_SCHEMA, "time": (_string, "a time string")}
    submit_program, submit_flags, id_separator, cancel_program = "toysub", ("-q",), ".", "toydel"
    submit_host, local_hint, daemon = "a toy host", "a toy", "toyd"
    memory_states, time_states = frozenset({"OOM"}), frozenset({"LATE"})

    def arrays(self, n_workers: int, *, job_name: str, **options: Any) -> list[ArrayJob]:
        spec = script_spec(scheduler="toy", n_workers=n_workers, **options)
        head = [f"# {job_name}", export_task("$TOY_ID"), "benchgrid_until=()"]
        return [ArrayJob(array_script(spec, head, name="toy-$TOY_ID", exec_comment="# exec"), n_workers)]

    def status_command(self, ids: Sequence[str]) -> list[str]:
        return ["toystat", *ids]

    def parse_status(self, text: str, arrays: Mapping[str, int]) -> list[WorkerRow]:
        rows = [line.split() for line in text.splitlines()]
        return [WorkerRow(r[0], r[0].split("_")[0], r[1], r[2]) for r in rows if len(r) == 3]

    def named_command(self, job_name: str) -> list[str]:
        return ["toystat", "--name", job_name]

    def parse_named(self, text: str, job_name: str) -> list[WorkerRow]:
        return self.parse_status(text, {})


def _bin(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-in commands; ``calls`` logs each one's arguments."""
    bindir, calls = tmp_path / "bin", tmp_path / "calls"
    bindir.mkdir()
    _bin(bindir, "toysub", f'echo "toysub $*" >> "{calls}"; echo 41.1-2:1\n')
    _bin(bindir, "toystat", f'echo "toystat $*" >> "{calls}"; echo "41_1 running R"; echo "41_2 pending Q"\n')
    _bin(bindir, "toydel", f'echo "toydel $*" >> "{calls}"\n')
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    # registered for this test only (its settings are read through the registry)
    monkeypatch.setitem(_registry._ENTRIES, "toy", f"{__name__}:ToyBackend")
    monkeypatch.setitem(_registry._LOADED, "toy", ToyBackend())
    return calls


def test_the_base_runs_the_flow_for_a_toy_scheduler(toy: Path, proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    backend = ToyBackend()
    launch = backend.launch(proj_dir, 2, time="10", command=["bg"], worker_args=["--max-jobs", "3"])
    assert launch.job_ids == ["41"] and launch.n_workers == 2
    (path,) = launch.script_paths
    assert path.parent == proj_dir / "toy" and (proj_dir / "toy" / "logs").is_dir()
    assert path.read_text().splitlines()[-1] == (
        f'exec bg work {shlex.quote(str(proj_dir))} --name "toy-$TOY_ID" --max-jobs 3 --restart-crashed "${{benchgrid_until[@]}}"')
    assert f"# bg-{proj_dir.name}" in path.read_text()
    assert backend.recorded_job_ids(proj_dir) == ["41"]
    assert [r.phase for r in backend.workers(proj_dir)] == ["running", "pending"]
    assert backend.worker_counts(proj_dir) == {"pending": 1, "running": 1, "ended": 0}
    assert backend.cancel(proj_dir) == ["41"]
    assert toy.read_text().splitlines() == [f"toysub -q {path}", "toystat 41", "toystat 41", "toystat 41",
                                            "toydel 41"]


def test_a_dry_run_writes_and_submits_nothing(toy: Path, proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    launch = ToyBackend().launch(proj_dir, 3, dry_run=True)
    assert launch.job_ids == [] and len(launch.scripts) == 1 and not (proj_dir / "toy").exists()
    assert not toy.exists()


def test_open_setup_quote_and_missing_command_are_refused_before_anything_is_written(
    toy: Path, proj_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo")
    with pytest.raises(InputError, match="the setup lines .* are not complete shell code: bash -n says"):
        ToyBackend().launch(proj_dir, 1, setup=["echo 'open", "echo 'closed here'"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(InputError, match=r"toysub is not on PATH: run submit on a toy host \(or start a toy\); "
                                         "nothing was submitted"):
        ToyBackend().launch(proj_dir, 1)
    assert not (proj_dir / "toy").exists() and not toy.exists()


def test_slurm_reads_squeue_and_its_verdicts() -> None:
    slurm = get_backend("slurm")
    text = "7_0|7|RUNNING|0:05|vm\n7_1|7|PENDING|0:00|(Resources)\n7_2|7|OUT_OF_MEMORY|0:09|vm\n7_3|7|TIMEOUT|5:00|vm\nbad\n"
    rows = slurm.parse_status(text, {"7": 4})
    assert [(r.job_id, r.phase) for r in rows] == [("7_0", "running"), ("7_1", "pending"), ("7_2", "ended"),
                                                   ("7_3", "ended")]
    assert [slurm.verdict(r) for r in rows] == [None, None, "memory", "time"]
    assert slurm.status_command(["7", "9"])[:7] == ["squeue", "-h", "-t", "all", "-r", "-j", "7,9"]


def test_grid_engine_counts_a_task_qstat_forgot_as_ended() -> None:
    sge = get_backend("sge")
    xml = ("<job_info><queue_info><job_list><JB_job_number>9</JB_job_number><state>r</state>"
           "<tasks>2</tasks></job_list></queue_info></job_info>")
    rows = sge.parse_status(xml, {"9": 3})
    assert [(r.job_id, r.phase, r.state) for r in rows] == [("9.1", "ended", "gone"), ("9.2", "running", "r"),
                                                            ("9.3", "ended", "gone")]
    assert {sge.verdict(r) for r in rows} == {None}
    assert sge.job_name(Path("/x/my grid: a@b")) == "bg-my_grid__a_b"
