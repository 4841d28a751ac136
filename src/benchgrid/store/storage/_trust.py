"""The project directory is a trust boundary: check it once before running its code.

Whoever can write a project can make its workers run code: the runner named
in ``project.json``, the pickled learners, tasks and cv under ``inputs/``,
the parameters in the job table, the SLURM settings in ``config.toml``. So
before a worker, ``run``, ``try``, ``add`` or ``submit`` starts,
:func:`check_trust` looks at every file and folder that decides what runs
(the project folder, its top-level entries, everything under ``inputs/``,
``jobs/`` and ``queue/``) and refuses, with one message naming the path and
the fix, when one of them

- is a symbolic link (none is followed inside a project);
- is owned by someone the running user does not trust: trusted are the
  running user, root, and, for a ``group_shared`` project, members of the
  project folder's group (or the project's owner, with ``trust_owner``);
- is writable by others, or by a group that is not the project's group
  (for a project that is not ``group_shared``: by the group at all).

Root refuses another user's project unless told ``trust_owner=True``
(``--trust-owner``), since that user could run code as root.

A project checked in a process is remembered (:func:`check_trust_once`), so the
ML runner does not check again for each job.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat
from pathlib import Path

from ..._errors import ProjectError
from ._layout import Layout, read_project_json
from ._safe_io import link_error
from ._settings import ProjectSettings

__all__ = [
    "check_trust", "check_trust_once", "user_name", "group_name", "is_member", "private_group_warning",
    "GroupWarning",
]  # fmt: skip

# folders walked to the bottom: what workers load and run
_DEEP = ("inputs", "jobs", "queue")

_checked: set[Path] = set()


class GroupWarning(UserWarning):
    """A group-shared project whose group shares it with no one."""


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def is_member(uid: int, gid: int) -> bool:
    """Whether user ``uid`` belongs to group ``gid`` (as primary or supplementary group)."""
    if uid == os.geteuid() and (gid == os.getegid() or gid in os.getgroups()):
        return True
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return False
    if user.pw_gid == gid:
        return True
    try:
        return user.pw_name in grp.getgrgid(gid).gr_mem
    except KeyError:
        return False


def private_group_warning(gid: int, uid: int | None = None) -> str | None:
    """A warning when ``gid`` is ``uid``'s own private group (sharing with it shares with no one)."""
    uid = os.geteuid() if uid is None else uid
    try:
        group = grp.getgrgid(gid)
        user = pwd.getpwuid(uid)
    except KeyError:
        return None
    if user.pw_gid == gid and group.gr_name == user.pw_name and not (set(group.gr_mem) - {user.pw_name}):
        return (
            f"the project's group is {group.gr_name!r}, the private group of user {user.pw_name!r}: "
            "group_shared shares it with no one else. Create it inside a folder of the shared group "
            "with the setgid bit (chgrp GROUP DIR && chmod g+ws DIR), or run init under `sg GROUP -c ...`"
        )
    return None


def check_trust_once(root: str | os.PathLike[str]) -> None:
    """Check ``root`` unless this process already did (what code that loads inputs calls)."""
    if Path(os.path.realpath(root)) not in _checked:
        check_trust(root)


def check_trust(root: str | os.PathLike[str], *, trust_owner: bool = False) -> None:
    """Refuse a project whose code-deciding files someone untrusted could have written.

    Parameters
    ----------
    root : path
        The project directory (a link to it is fine; links inside it are not).
    trust_owner : bool, default=False
        Trust the project's owner (and, for a group-shared project, its
        group) even though they are not the running user: what root needs to
        work on another user's project.

    Raises
    ------
    ProjectError
        Naming the first offending path, what is wrong and the fix.

    Examples
    --------
    >>> import tempfile, pathlib, benchgrid as bg
    >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", [{"a": 1}], "math:factorial")
    >>> check_trust(proj.path)
    >>> os.chmod(proj.path / "project.json", 0o666)
    >>> check_trust(proj.path)
    Traceback (most recent call last):
    ...
    benchgrid._errors.ProjectError: ...project.json' is writable by every user...
    """
    real = Path(os.path.realpath(root))
    info = read_project_json(real)
    group_shared = ProjectSettings.of(info.get("settings", {})).group_shared
    me = os.geteuid()
    st_root = os.stat(real)
    owner, gid = st_root.st_uid, st_root.st_gid
    in_group = group_shared and is_member(me, gid)
    if owner not in (me, 0) and not trust_owner and not in_group:
        who = "root" if me == 0 else f"you ({user_name(me)})"
        raise ProjectError(
            f"{str(real)!r} belongs to user {user_name(owner)!r}, and its workers would run code it "
            f"names (the runner, pickled inputs) as {who}; refusing. If you trust "
            f"{user_name(owner)!r}, pass --trust-owner (trust_owner=True); otherwise ask them to run it"
        )
    group_ok = group_shared and (owner == me or trust_owner or in_group)
    trusted = {me, 0} | ({owner} if trust_owner else set())
    fix = (
        f"chmod -R o-w {shlex.quote(str(real))} && chgrp -R {shlex.quote(group_name(gid))} {shlex.quote(str(real))}"
        if group_shared
        else f"chmod -R go-w {shlex.quote(str(real))}"
    )

    def check(path: Path) -> os.stat_result | None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:  # a lock's temp file, gone since the folder was listed
            return None
        if stat.S_ISLNK(st.st_mode):
            raise link_error(path)
        uid = st.st_uid
        if uid not in trusted and not (group_ok and is_member(uid, gid)):
            allowed = f"you ({user_name(me)}), root" + (
                f" or a member of the project's group {group_name(gid)!r}" if group_ok else ""
            )
            raise ProjectError(
                f"{str(path)!r} is owned by {user_name(uid)!r}, not by {allowed}; its owner could make "
                f"workers run code as you. Check it, then chown it, or pass --trust-owner if you trust "
                f"{user_name(uid)!r}"
            )
        mode = st.st_mode
        if mode & stat.S_IWOTH:
            who = "every user"
        elif mode & stat.S_IWGRP and not (group_ok and st.st_gid == gid):
            who = f"group {group_name(st.st_gid)!r}" + ("" if group_shared else " (the project is not group-shared)")
        else:
            return st
        raise ProjectError(
            f"{str(path)!r} is writable by {who} (mode {stat.filemode(mode)}); whoever can write it can make "
            f"workers run code as you. Fix: {fix}"
        )

    check(real)
    layout = Layout(real)
    for entry in sorted(os.scandir(real), key=lambda e: e.name):
        st = check(Path(entry.path))
        if st is not None and entry.name in _DEEP and stat.S_ISDIR(st.st_mode):
            for dirpath, dirnames, filenames in os.walk(entry.path):
                for name in sorted(dirnames) + sorted(filenames):
                    check(Path(dirpath) / name)
    for required in (layout.project_json, layout.queue_dir, layout.workers_dir, layout.jobs_dir):
        if not required.exists():  # not a link (checked above): a folder removed by hand
            raise ProjectError(f"{str(required)!r} is missing; the project is damaged: create it again")
    _checked.add(real)
