"""Local backend: N supervised worker processes on this machine (or, with 0, jobs run in this process)."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from dataclasses import asdict
from types import SimpleNamespace
from typing import Any, Callable, ClassVar, Iterator

from ..._errors import InputError
from ...store import SUPERVISOR_ENV, process_identity
from ...store import ProjectState
from ...store import read_project_json
from ...store import status_of
from .._backend import Backend, Launch, project_dir
from .._base import wait_until_ended
from ._forkserver import spawn_worker, wait_all
from ._run_status import RunStatus
from ._supervisor import Supervisor, exit_code_of

__all__ = ["LocalBackend", "RunStatus", "run_local", "worker_command"]


def worker_command(project_dir: str, name: str | None = None, **options: Any) -> list[str]:
    """The command line of one worker process (what every backend launches).

    Examples
    --------
    >>> worker_command("/p", name="w1", max_jobs=5)[-6:]
    ['work', '/p', '--name', 'w1', '--max-jobs', '5']
    """
    cmd = [sys.executable, "-m", "benchgrid", "work", project_dir]
    if name:
        cmd += ["--name", name]
    for key, value in options.items():
        if value is True:  # a flag (trust_owner)
            cmd.append(f"--{key.replace('_', '-')}")
        elif value is not None and value is not False:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


@contextlib.contextmanager
def _interrupted_by(*signums: int) -> Iterator[None]:
    """While running workers, SIGTERM/SIGHUP to `run` act as Ctrl-C: the workers hand their jobs back.

    The workers lead their own process groups (so a job's processes end with
    it), which takes them out of reach of a closed terminal or a ``kill`` of
    ``run``; this passes those on. Only the main thread can set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _spawn(project_dir: str, runner: str, worker_options: dict[str, Any]) -> Callable[[str], Any]:
    me = process_identity()
    # the workers name this process in their leases: while it lives, it records their deaths (with the signal)
    env = {SUPERVISOR_ENV: f"{me['pid']}:{me['pid_start']}"}

    def spawn(name: str) -> Any:
        # forked from a server that has imported the runner's stack (milliseconds, not seconds);
        # its own session and process group: the job's children end with it, and a dead worker's group is killed
        # quiet: run prints the run's summary, and a worker's own line would land inside the progress bar
        cmd = worker_command(project_dir, name=name, quiet=True, **worker_options)
        return spawn_worker(cmd, runner, env=env, new_session=True)

    return spawn


def run_local(project: Any, n_workers: int, *, progress: bool = True, **worker_options: Any) -> RunStatus:
    """Run ``n_workers`` supervised worker processes until every job is done, error or failed.

    A worker that dies has its job put back at once (a lost run naming the
    signal or exit status) and is replaced while jobs wait (see
    :class:`~benchgrid.backends.local._supervisor.Supervisor`). Ctrl-C hands the
    workers' jobs back and re-raises KeyboardInterrupt.
    """
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 0:
        raise InputError(f"n_workers must be an integer >= 0 (0 runs jobs in this process), got {n_workers!r}")
    hint_path = shlex.quote(str(project.path))
    if n_workers == 0:
        from ..debug import run_in_process

        run_in_process(project, **worker_options)
        st = status_of(ProjectState(project.path).refresh(), root_hint=hint_path)
        return RunStatus(**asdict(st), exit_code=exit_code_of(st.counts))
    # the caller's incremental reader when it has one: its results() afterwards reads only what is new
    state = project.state_reader() if hasattr(project, "state_reader") else ProjectState(project.path)
    # workers that stop by design (a job budget, a deadline) are not replaced when they do
    by_design = any(worker_options.get(k) is not None for k in ("max_jobs", "until"))
    sup = Supervisor(
        project.path, project.settings, n_workers, _spawn(str(project.path), project.runner, worker_options),
        replace_clean_exits=not by_design, state=state,
    )
    with _interrupted_by(signal.SIGTERM, signal.SIGHUP):
        sup.start()
        try:
            # wakes as soon as the last worker ends (the fork server reports exits), not after a fixed sleep
            # summarised once below, after the workers are reaped
            wait_until_ended(state, sup.step, progress=progress, sleep=lambda s: wait_all(list(sup.procs.values()), s))
        except KeyboardInterrupt:
            # the workers lead their own process groups: the terminal's SIGINT reached only us
            sup.stop(signal.SIGINT)
            sup.wait()
            raise
        finally:
            sup.stop(signal.SIGTERM)
            sup.wait()
    st = status_of(state.refresh(), root_hint=hint_path)
    problem = ""
    if sup.disk_full:
        problem = (
            "the disk is full (see above); free space and run again: "
            "no result is lost, unfinished jobs go back to the queue"
        )
    elif sup.gave_up:
        problem = sup.gave_up
    return RunStatus(
        **asdict(st),
        exit_code=sup.exit_code(st.counts),
        worker_ends=[e.message() for e in sup.ends],
        problem=problem,
    )


class LocalBackend(Backend):
    """``n_workers`` supervised worker processes on this machine; :meth:`launch` waits for them.

    Ctrl-C hands their jobs back. ``n_workers=0`` runs the jobs in this
    process (the debug backend). No walltime: the workers run until the
    queue is empty.

    Examples
    --------
    >>> LocalBackend().waits, LocalBackend().warning_signal
    (True, None)
    """

    name: ClassVar[str] = "local"
    title: ClassVar[str] = "local processes"
    waits: ClassVar[bool] = True

    def launch(self, project: Any, n_workers: int, *, progress: bool = True, **worker_options: Any) -> Launch:
        root = project_dir(project)
        info = read_project_json(root)
        target = SimpleNamespace(path=root, settings=info["settings"], runner=info["runner"])
        if hasattr(project, "state_reader"):  # a Project: share its incremental log reader
            target.state_reader = project.state_reader
        status = run_local(target, n_workers, progress=progress, **worker_options)
        return Launch(backend=self.name, n_workers=n_workers, status=status)
