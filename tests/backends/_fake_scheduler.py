"""A stand-in scheduler whose state is files, so that processes killed mid-decision leave it as a real one would.

``fsub SCRIPT`` submits: a new id from a counter, one file ``<state>/<id>_<k>``
per task holding the job name (read from the script's ``# name=`` line); the
task is "running" while its file exists (a test deletes it to end the task).
``fstat NAME`` lists the tasks of the jobs named NAME (and fails once, as a
command that times out, when ``<state>/.fail-once`` exists). ``fdel ID...`` ends them.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from benchgrid.backends import SchedulerBackend, WorkerRow, _registry
from benchgrid.backends._config import _string
from benchgrid.backends._scheduler import SCHEDULER_SCHEMA
from benchgrid.backends._template import ArrayJob


class FakeBackend(SchedulerBackend):
    name: ClassVar[str] = "fake"
    title: ClassVar[str] = "Fake"
    config_schema: ClassVar[Mapping[str, Any]] = {**SCHEDULER_SCHEMA, "time": (_string, "a time string")}
    submit_program, submit_flags, id_separator, cancel_program = "fsub", (), ";", "fdel"
    submit_host, local_hint, daemon = "a fake host", "a fake", "fake"

    def arrays(self, n_workers: int, *, job_name: str, **options: Any) -> list[ArrayJob]:
        return [ArrayJob(f"#!/bin/bash\n# name={job_name}\n# n={n_workers}\ntrue\n", n_workers)]

    def status_command(self, ids: Sequence[str]) -> list[str]:
        return ["fstat", "--ids", *ids]

    def parse_status(self, text: str, arrays: Mapping[str, int]) -> list[WorkerRow]:
        return [WorkerRow(r[0], r[0].split("_")[0], "running", "R") for r in (line.split() for line in text.splitlines()) if r]

    def named_command(self, job_name: str) -> list[str]:
        return ["fstat", job_name]

    def parse_named(self, text: str, job_name: str) -> list[WorkerRow]:
        return self.parse_status(text, {})


def register() -> None:
    _registry._ENTRIES["fake"] = f"{__name__}:FakeBackend"


def install(bindir: Path, state: Path) -> None:
    """Write the stand-in commands into ``bindir`` (put it first on PATH); their state lives in ``state``."""
    state.mkdir(parents=True, exist_ok=True)
    scripts = {
        "fsub": f"""n=$(sed -n 's/^# n=//p' "$1"); name=$(sed -n 's/^# name=//p' "$1")
exec 9>"{state}/.counter.lock"; flock 9
id=$(( $(cat "{state}/.counter" 2>/dev/null || echo 100) + 1 )); echo $id > "{state}/.counter"
k=0; while [ $k -lt $n ]; do echo "$name" > "{state}/${{id}}_$k"; k=$((k+1)); done
echo $id
""",
        "fstat": f"""if [ -e "{state}/.fail-once" ]; then rm -f "{state}/.fail-once"; echo "fstat: timed out" >&2; exit 1; fi
if [ "$1" = --ids ]; then shift
  for id in "$@"; do for f in "{state}"/${{id}}_*; do [ -e "$f" ] && basename "$f"; done; done; exit 0
fi
for f in "{state}"/*_*; do [ -e "$f" ] && [ "$(cat "$f")" = "$1" ] && basename "$f"; done; exit 0
""",
        "fdel": f"""for id in "$@"; do rm -f "{state}"/${{id}}_* "{state}/$id"; done
""",
    }
    bindir.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = bindir / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
