"""Real users and groups for the attack tests: created with useradd/groupadd, removed after.

The tests run as root (CI does). Attackers and group members are throw-away
accounts; their commands run as real processes under their uid and groups.
Shell commands use ``runuser``. benchgrid commands need a Python those
accounts can execute: when the interpreter lives where they cannot reach it
(a pyenv under ``/root``, mode 700), the process runs with ``setpriv`` and
one extra capability, CAP_DAC_READ_SEARCH (it may *read* any file); it still
cannot write anywhere its uid and groups do not allow, which is what these
tests are about (modes of what it creates, being refused).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def _admin(*cmd: str) -> None:
    for attempt in range(20):  # another test run may hold the passwd lock for a moment
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode == 0:
            return
        if "lock" not in (out.stderr + out.stdout).lower() or attempt == 19:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
        time.sleep(0.2)


class Accounts:
    """Create users and groups; remove them all at teardown."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self.groups: list[str] = []
        self.tag = secrets.token_hex(3)

    def group(self, label: str) -> int:
        name = f"bg{label}{self.tag}"
        _admin("groupadd", name)
        self.groups.append(name)
        import grp

        return grp.getgrnam(name).gr_gid

    def user(self, label: str, *, groups: tuple[str, ...] = ()) -> Account:
        """A user with its own private group (useradd's default), in ``groups`` too."""
        name = f"bg{label}{self.tag}"
        cmd = ["useradd", "-M", "-U", "-s", "/bin/sh", "-d", "/nonexistent"]
        if groups:
            cmd += ["-G", ",".join(f"bg{g}{self.tag}" for g in groups)]
        _admin(*cmd, name)
        self.users.append(name)
        import pwd

        pw = pwd.getpwnam(name)
        return Account(name, pw.pw_uid, pw.pw_gid)

    def cleanup(self) -> None:
        for name in reversed(self.users):
            subprocess.run(["userdel", name], capture_output=True)
        for name in reversed(self.groups):
            subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the security tests create users: run them as root (CI does)")
        pytest.skip("the security tests create users and need root")
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.fail("useradd and setpriv are needed (Debian: passwd, util-linux)")
    acc = Accounts()
    try:
        yield acc
    finally:
        acc.cleanup()


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder every test user can enter, with a space and a quote in its name."""
    d = Path(tempfile.mkdtemp(prefix="bg-security-", dir="/tmp")) / "lab's data"
    d.mkdir()
    d.parent.chmod(0o755)
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d.parent, ignore_errors=True)


def _reachable_by_others(path: str | Path) -> bool:
    p = Path(path).resolve()
    return all(os.stat(q).st_mode & stat.S_IXOTH for q in [*reversed(p.parents), p] if q.is_dir())


def _python_reachable_by_others() -> bool:
    """Whether another user can run this interpreter and import benchgrid and the tests' runners."""
    import benchgrid

    needed = [sys.executable, sys.prefix, Path(benchgrid.__file__).parent, ROOT]
    needed += [p for p in sys.path if p and Path(p).is_dir()]
    return all(_reachable_by_others(p) for p in needed)


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(home), MPLCONFIGDIR=str(home / ".mpl"), PYTHONPATH=str(ROOT), COLUMNS="200")
    env.pop("PYTHONSTARTUP", None)
    return env


def shell_as(user: Account, script: str, *, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """Run a shell script as ``user`` (runuser)."""
    return subprocess.run(
        ["runuser", "-u", user.name, "--", "sh", "-c", script], capture_output=True, text=True, umask=umask,
        cwd="/",
    )


def benchgrid_as(user: Account | None, *args: str, umask: int = 0o022, home: Path | None = None,
                 timeout_s: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run ``python -m benchgrid ARGS`` as ``user`` (None: as root, this process's user)."""
    cmd = [sys.executable, "-m", "benchgrid", *args]
    if user is not None:
        if _python_reachable_by_others():
            cmd = ["runuser", "-u", user.name, "--", *cmd]
        else:
            cmd = ["setpriv", "--reuid", str(user.uid), "--regid", str(user.gid), "--init-groups",
                   "--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search", *cmd]  # fmt: skip
    home = home or Path(tempfile.gettempdir())
    return subprocess.run(cmd, capture_output=True, text=True, umask=umask, env=env_for(home), cwd="/",
                          timeout=timeout_s)  # fmt: skip
