"""A fork server for local workers: start a worker in milliseconds instead of seconds.

A worker started as ``python -m benchgrid work DIR`` spends 1–3 s importing
its runner's stack (pandas, pyarrow, scikit-learn) before its first claim.
The fork server is one long-lived helper process per parent that imports
that stack once; every worker after it is an ``os.fork()`` of the server, so
it starts with everything imported.

Why not :mod:`multiprocessing`'s ``forkserver``: its children re-import the
parent's ``__main__`` (a script without an ``if __name__ == "__main__"``
guard would run again in every worker), its server is one per process with
the preload list and environment of whoever started it first, and its
children are not the command every backend launches. Here a forked child
runs exactly ``benchgrid work ...`` (:func:`benchgrid.cli.main.main`), with
the same exit codes.

What a forked worker keeps from a fresh process, so hand-back and crash
detection work as before:

- its signal mask: the child blocks SIGTERM, SIGINT and SIGUSR1 first thing
  after the fork, before any thread can start in it (only the forking thread
  survives a fork), so the worker's signal thread takes them;
- default signal dispositions (the server ignores SIGINT, so Ctrl-C reaches
  the parent and the workers, not the server; the child restores them);
- its exit status: the server reaps each child and reports
  ``os.waitstatus_to_exitcode`` (negative signal numbers, as
  :class:`subprocess.Popen` has them), so a SIGKILLed worker is seen as -9;
- the environment, working directory and interpreter: a server is reused
  only while they are the same as when it started (else a new one starts).

The server is a child subreaper (Linux): when a worker dies without ending
its job's processes (SIGKILL, a segfault), those processes are handed to the
server, even one that left the worker's process group (``setsid``), and it
kills them when it reaps the worker (:func:`benchgrid.worker.kill_orphans`);
the supervisor's ``killpg`` only reaches the worker's group.

The server ends when its parent closes the control socket or dies (EOF),
or after ``IDLE_S`` without a worker or a request.
Workers it forked do not depend on it: if it dies, they run on, and their
handles fall back to watching the pid (exit status then unknown: 255).

Examples
--------
>>> server = ForkServer(preload=("json",))
>>> proc = server.spawn(["--version"])          # `benchgrid --version`, forked
>>> proc.wait(timeout=60)
0
>>> server.close()
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

from ...worker import become_subreaper, kill_orphans

__all__ = ["ForkServer", "ForkedProcess", "prestart", "spawn_worker", "wait_all", "UNKNOWN_EXIT"]

UNKNOWN_EXIT = 255  # a worker whose fork server died before it: its exit status cannot be known
IDLE_S = 600.0  # a server with no worker and no request for this long ends (the next run starts another)
_HANDBACK_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)  # as worker.HANDBACK_SIGNALS
# what every forked worker needs, whatever its runner
BASE_PRELOAD = ("benchgrid.cli.main", "benchgrid.cli._cmd_work", "benchgrid.worker._worker")


class ForkedProcess:
    """A worker forked by a :class:`ForkServer`: the part of :class:`subprocess.Popen` backends use.

    ``returncode`` is None while it runs, then its exit code, or ``-N`` when
    signal N ended it.
    """

    def __init__(self, server: "ForkServer", pid: int):
        self.server = server
        self.pid = pid
        self.returncode: int | None = None
        self.args = ["fork", str(pid)]

    def poll(self) -> int | None:
        if self.returncode is None and self.server._dead:
            self._check_orphan()
        return self.returncode

    def _check_orphan(self) -> None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self.returncode = UNKNOWN_EXIT
        except PermissionError:  # the pid was reused by another user's process: ours is gone
            self.returncode = UNKNOWN_EXIT

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to end; :class:`subprocess.TimeoutExpired` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.server._cond:
            while self.poll() is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
                # an orphan's end is not reported: look again every 50 ms
                self.server._cond.wait(0.05 if self.server._dead else left)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # never signal a pid that may have been reused
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __repr__(self) -> str:
        return f"ForkedProcess(pid={self.pid}, returncode={self.returncode})"


class ForkServer:
    """One helper process that imports ``preload`` once and forks workers from it.

    Parameters
    ----------
    preload : sequence of str
        Modules the server imports before forking anything (a module that
        fails to import is skipped: the worker then imports it and reports
        the error as usual).
    """

    def __init__(self, preload: Sequence[str] = ()):
        self.preload = tuple(dict.fromkeys((*BASE_PRELOAD, *preload)))
        self.key = _environment_key(self.preload)
        ours, theirs = socket.socketpair()
        self._sock = ours
        self._cond = threading.Condition()
        self._replies: list[dict[str, Any]] = []
        self._children: dict[int, ForkedProcess] = {}
        self._exited: dict[int, int] = {}
        self._dead = False
        self._spawned = False  # asked to fork at least once
        self._send_lock = threading.Lock()
        code = "import sys; from benchgrid.backends.local._forkserver import _serve; _serve(int(sys.argv[1]), sys.argv[2:])"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno()), *self.preload],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._reader = threading.Thread(target=self._read, daemon=True, name="benchgrid-forkserver")
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._dead and self.proc.poll() is None

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            with self._cond:
                for line in lines:
                    msg = json.loads(line)
                    if "exit" in msg:
                        pid, rc = int(msg["exit"]), int(msg["rc"])
                        proc = self._children.pop(pid, None)
                        if proc is None:
                            self._exited[pid] = rc  # reported before spawn() registered it
                        else:
                            proc.returncode = rc
                    else:
                        self._replies.append(msg)
                self._cond.notify_all()
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def spawn(
        self,
        argv: Sequence[str],
        timeout_s: float = 120.0,
        *,
        env: dict[str, str] | None = None,
        new_session: bool = False,
    ) -> ForkedProcess:
        """Fork a child that runs ``benchgrid ARGV`` and return its handle.

        ``env`` adds variables to the child's environment; ``new_session``
        makes it lead a new session (and process group), as
        ``subprocess.Popen(start_new_session=True)`` would. The first call
        waits for the server's imports; later calls take milliseconds.
        """
        msg = {"argv": list(argv), "env": dict(env or {}), "setsid": bool(new_session)}
        self._spawned = True
        with self._send_lock:
            try:
                self._sock.sendall(json.dumps(msg).encode() + b"\n")
            except OSError as err:
                raise RuntimeError(f"the benchgrid fork server is gone ({err})") from None
            deadline = time.monotonic() + timeout_s
            with self._cond:
                while not self._replies:
                    if self._dead:
                        raise RuntimeError(f"the benchgrid fork server ended (exit code {self.proc.poll()})")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError(f"the benchgrid fork server did not answer within {timeout_s} s")
                    self._cond.wait(left)
                reply = self._replies.pop(0)
                if "error" in reply:
                    raise OSError(reply["error"])
                proc = ForkedProcess(self, int(reply["pid"]))
                if proc.pid in self._exited:
                    proc.returncode = self._exited.pop(proc.pid)
                else:
                    self._children[proc.pid] = proc
                return proc

    def wait_all(self, procs: Sequence[Any], timeout_s: float) -> None:
        """Return when every one of ``procs`` has ended, or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while any(p.poll() is None for p in procs):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(min(left, 0.05) if self._dead else left)

    def close(self) -> None:
        """End the server (its workers run on); waits for it to exit.

        A server that never forked (started early by ``Project.create``, in a
        process that then ends without a local run) is killed at once rather
        than waited for: it may still be importing, and has nothing to finish.
        """
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if not self._spawned and self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the server side -------------------------------------------------------------------
def _serve(fd: int, preload: list[str]) -> None:
    """Main loop of the server process: import ``preload``, then fork on request and report exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent and the workers
    # a worker that dies (SIGKILL, a segfault) hands what its job started to us, not to init,
    # even a process that left the worker's group (setsid): reap() ends those
    become_subreaper()
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the worker imports it again and reports the error
            pass
    sock = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    buf = b""

    def send(msg: dict[str, Any]) -> None:
        try:
            sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError:
            pass  # the parent is gone; children keep running

    forked: set[int] = set()  # the workers it forked: every other child is an orphan a dead worker left

    def reap() -> int:
        ended: list[tuple[int, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid not in forked:
                continue  # an orphan handed to this subreaper, ended below: not a worker
            forked.discard(pid)
            ended.append((pid, os.waitstatus_to_exitcode(status)))
        if ended:  # what a dead worker's job left behind (a setsid daemon) ends before the worker is reported
            kill_orphans(forked)
        for pid, rc in ended:
            send({"exit": pid, "rc": rc})
        return len(ended)

    n_children = 0
    idle_since = time.monotonic()
    while True:
        try:
            ready, _, _ = select.select([sock.fileno(), wake_r], [], [], IDLE_S / 4)
        except InterruptedError:
            continue
        if not ready and n_children == 0 and time.monotonic() - idle_since > IDLE_S:
            break  # nobody used it for a while (a project created and never run here)
        if wake_r in ready:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
            n_children -= reap()
        if sock.fileno() in ready:
            data = sock.recv(65536)
            if not data:
                break  # the parent closed the socket or died
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                try:
                    pid = os.fork()
                except OSError as err:
                    send({"error": f"fork failed: {err}"})
                    continue
                if pid == 0:
                    sock.close()
                    _child(msg["argv"], (wake_r, wake_w), msg.get("env") or {}, bool(msg.get("setsid")))
                forked.add(pid)
                n_children += 1
                send({"pid": pid})
        n_children -= reap()
        if n_children == 0 and ready:
            idle_since = time.monotonic()
    os._exit(0)


def _child(argv: list[str], server_fds: tuple[int, ...], env: dict[str, str], new_session: bool) -> None:
    """In a forked child: become ``benchgrid ARGV`` as a fresh process would be, then exit."""
    # first, before any thread can start here: the worker's signal thread must take these
    signal.pthread_sigmask(signal.SIG_BLOCK, _HANDBACK_SIGNALS)
    code = 1
    try:
        if new_session:
            os.setsid()
        os.environ.update(env)
        signal.set_wakeup_fd(-1)
        for fd in server_fds:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = ["benchgrid", *argv]
        import runpy

        # exactly what `python -m benchgrid ARGV` runs (the command, not a layer below it); it exits
        runpy.run_module("benchgrid", run_name="__main__", alter_sys=False)
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
    except BaseException:  # noqa: BLE001 - as an interpreter would: print it, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# -- one server per parent, reused while nothing it depends on changed ----------------------
_servers: dict[tuple[Any, ...], ForkServer] = {}
_servers_lock = threading.Lock()


def _environment_key(preload: tuple[str, ...]) -> tuple[Any, ...]:
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    return (sys.executable, preload, cwd, tuple(sorted(os.environ.items())), os.getuid())


def _close_all() -> None:
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for s in servers:
        s.close()


atexit.register(_close_all)


def supported() -> bool:
    """Fork servers are used on Linux only (macOS system frameworks are not fork-safe)."""
    return sys.platform.startswith("linux") and os.environ.get("BENCHGRID_FORKSERVER", "1") != "0"


def server_for(preload: Sequence[str] = ()) -> ForkServer:
    """The running server with this preload list and this environment, started if there is none."""
    preload_t = tuple(dict.fromkeys((*BASE_PRELOAD, *preload)))
    key = _environment_key(preload_t)
    with _servers_lock:
        server = _servers.get(key)
        if server is not None and server.alive:
            return server
        stale = [k for k, s in _servers.items() if k[1] == preload_t or not s.alive]
        old = [_servers.pop(k) for k in stale]
        server = _servers[key] = ForkServer(preload_t)
    for s in old:  # the environment changed under it (or it died): a fresh one replaces it
        s.close()
    return server


def runner_preload(runner: str) -> tuple[str, ...]:
    """Modules worth importing in the server for this runner.

    Only benchgrid's own runners are preloaded: a user's module may do things
    at import (open files, start threads) that must happen once per worker.

    Examples
    --------
    >>> runner_preload("benchgrid.ml._runner:run_ml_job")
    ('benchgrid.ml._runner',)
    >>> runner_preload("mypkg.jobs:run")
    ()
    """
    module = runner.split(":", 1)[0]
    return (module,) if module == "benchgrid" or module.startswith("benchgrid.") else ()


def prestart(runner: str) -> None:
    """Start the server for ``runner`` now, so that its imports overlap with what the caller does next.

    Called when a project is created: its first ``run`` then finds the
    worker's modules (and benchgrid's own runner's stack, e.g. scikit-learn
    for an ML project) imported. A user's runner module is not preloaded
    (:func:`runner_preload`); each worker imports it. A server nobody uses
    ends after ``IDLE_S``, or when this process ends. Does nothing where
    fork servers are not used.
    """
    preload = runner_preload(runner)
    if supported():
        try:
            server_for(preload)
        except OSError:
            pass  # run() will try again, or fall back to new processes


def spawn_worker(
    cmd: Sequence[str], runner: str, *, env: dict[str, str] | None = None, new_session: bool = False
) -> Any:
    """Start a worker command line (``worker_command``): forked from a preloaded server where it can be.

    ``cmd`` is ``[sys.executable, "-m", "benchgrid", ...]``; anything else, or
    a platform without fork servers, gets a new process. ``env`` adds to the
    worker's environment; ``new_session`` gives it a session and process
    group of its own. Returns a :class:`ForkedProcess` or a :class:`subprocess.Popen`.
    """
    cmd = list(cmd)
    if supported() and cmd[:3] == [sys.executable, "-m", "benchgrid"]:
        try:
            return server_for(runner_preload(runner)).spawn(cmd[3:], env=env, new_session=new_session)
        except (OSError, RuntimeError):
            pass  # no fork server here (resources, a broken install): a fresh process works too
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, start_new_session=new_session)


def wait_all(procs: Sequence[Any], timeout_s: float) -> None:
    """Sleep until every one of ``procs`` (forked or Popen) has ended, or ``timeout_s`` passed.

    Forked workers wake the caller the moment the last one ends (the server
    reports each exit); Popen handles are polled every 20 ms.
    """
    servers = {id(p.server): p.server for p in procs if isinstance(p, ForkedProcess)}
    if len(servers) == 1 and all(isinstance(p, ForkedProcess) for p in procs):
        next(iter(servers.values())).wait_all(procs, timeout_s)
        return
    deadline = time.monotonic() + timeout_s
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
