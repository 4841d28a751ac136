"""Each attack on a project directory, run for real: refused with exit 2, and nothing executed.

Every payload writes a marker file when it runs; a refused attack leaves no
marker. Where the payload could be doubted, a control shows it does run
once the check is passed (``--trust-owner``, or the mode repaired), so the
test would fail without the check.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import shutil
import stat
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid.ml._demo import demo_grid

from .conftest import Account, Accounts, benchgrid_as, shell_as

RUNNER = "tests.runners.jobs:echo"


class _Payload:
    """Unpickling this runs a shell command (what a malicious learner file does)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (self.command,))


def payload_bytes(marker: Path) -> bytes:
    return pickle.dumps(_Payload(f"touch {shlex.quote(str(marker))}"))


def ml_project(path: Path) -> bg.Project:
    g = demo_grid(n_rows=40)
    return bg.Project.create(path, g["tasks"], g["learners"], g["cv"], measures=g["measures"])


def a_learner_pickle(proj_dir: Path) -> Path:
    return sorted((proj_dir / "inputs" / "learners").glob("*.pkl"))[0]


def plant_as(user: Account, data: bytes, target: Path, staging: Path) -> None:
    """``user`` overwrites ``target`` with ``data`` (through the file, as an attacker with write access)."""
    staging.write_bytes(data)
    staging.chmod(0o644)
    out = shell_as(user, f"cat {shlex.quote(str(staging))} > {shlex.quote(str(target))}")
    assert out.returncode == 0, out.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("benchgrid: error:")]


def refused(out, *matches: str) -> str:  # type: ignore[no-untyped-def]
    """Exit 2 and one error line holding every one of ``matches``; no traceback."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    errors = error_lines(out.stderr)
    assert len(errors) == 1 and all(m in errors[0] for m in matches), out.stderr
    assert "Traceback" not in out.stderr
    return errors[0]


# -- 1. user A's ML project, mode 755, malicious pickled learner, worked on by root --------------


def test_root_refuses_another_users_ml_project_with_a_malicious_learner(accounts: Accounts, base: Path) -> None:
    a = accounts.user("a")
    proj_dir = base / "a's proj"
    ml_project(proj_dir)
    marker = base / "pwned-by-learner"
    shutil.chown(proj_dir, a.name, a.name)
    for p in [proj_dir, *proj_dir.rglob("*")]:
        os.chown(p, a.uid, a.gid)
        p.chmod(0o755 if p.is_dir() else 0o644)  # nobody but A can write: the old check passed this
    plant_as(a, payload_bytes(marker), a_learner_pickle(proj_dir), base / "staging.pkl")
    more = base / "more.py"
    more.write_text("from sklearn.linear_model import Ridge\nlearners = {'ridge': Ridge()}\n")

    for args in (["work", str(proj_dir)], ["run", str(proj_dir), "--workers", "1", "--no-progress"],
                 ["try", str(proj_dir)], ["add", str(proj_dir), "--grid", str(more)],
                 ["submit", str(proj_dir), "--workers", "1", "--dry-run"]):  # fmt: skip
        err = refused(benchgrid_as(None, *args), f"belongs to user {a.name!r}")
        assert "--trust-owner" in err
        assert not marker.exists(), args
    assert not (proj_dir / "workers").exists() or not any((proj_dir / "workers").iterdir())

    # control: root trusting A does run A's code (the payload is live; only the check stopped it)
    out = benchgrid_as(None, "work", str(proj_dir), "--trust-owner", "--max-jobs", "1")
    assert marker.exists(), out.stderr


def test_trust_owner_runs_another_users_project(accounts: Accounts, base: Path) -> None:
    a = accounts.user("a")
    proj_dir = base / "proj"
    bg.Project.create(proj_dir, [{"i": i} for i in range(4)], RUNNER)
    for p in [proj_dir, *proj_dir.rglob("*")]:
        os.chown(p, a.uid, a.gid)
    refused(benchgrid_as(None, "run", str(proj_dir), "--workers", "2", "--no-progress"), "belongs to user")
    out = benchgrid_as(None, "run", str(proj_dir), "--workers", "2", "--no-progress", "--trust-owner")
    assert out.returncode == 0, out.stderr
    assert bg.Project.open(proj_dir).status().counts["done"] == 4
    # what root created there is A's, so A goes on with its project
    assert {(p.lstat().st_uid, p.lstat().st_gid) for p in proj_dir.rglob("*")} == {(a.uid, a.gid)}
    proj_dir.chmod(0o700)
    out = benchgrid_as(a, "retry", str(proj_dir), "--expired")
    assert out.returncode == 0, out.stderr
    out = benchgrid_as(a, "status", str(proj_dir))
    assert out.returncode == 0 and "done 4" in out.stdout, (out.stdout, out.stderr)


# -- 2. world-writable project.json of a generic project, runner changed by another user ---------


def test_world_writable_project_json_with_a_changed_runner(accounts: Accounts, base: Path) -> None:
    b = accounts.user("b")
    marker = base / "pwned-by-runner"
    proj_dir = base / "proj"
    bg.Project.create(proj_dir, [{"cmd": f"touch {shlex.quote(str(marker))}"}], "json:dumps")
    proj_dir.chmod(0o755)
    (proj_dir / "project.json").chmod(0o666)
    info = json.loads((proj_dir / "project.json").read_text())
    info["runner"] = "subprocess:getoutput"  # getoutput(cmd=...) runs the job's cmd in a shell
    plant_as(b, json.dumps(info).encode(), proj_dir / "project.json", base / "staging.json")

    for args in (["work", str(proj_dir)], ["run", str(proj_dir), "--workers", "1", "--no-progress"],
                 ["submit", str(proj_dir), "--workers", "1", "--dry-run"]):  # fmt: skip
        err = refused(benchgrid_as(None, *args), "project.json", "is writable by every user")
        assert "chmod -R go-w" in err
        assert not marker.exists(), args

    # control: with the mode repaired, the changed runner does run the command
    (proj_dir / "project.json").chmod(0o600)
    assert benchgrid_as(None, "work", str(proj_dir)).returncode == 0
    assert marker.exists()


def test_a_file_owned_by_another_user_is_refused(accounts: Accounts, base: Path) -> None:
    b = accounts.user("b")
    proj_dir = base / "proj"
    bg.Project.create(proj_dir, [{"i": 1}], RUNNER)
    os.chown(proj_dir / "jobs" / "part-00000.jsonl", b.uid, b.gid)  # B could chmod it and write it
    refused(benchgrid_as(None, "work", str(proj_dir)), "part-00000.jsonl", f"is owned by {b.name!r}")


# -- 3. world-writable pickle: refused once, not job by job --------------------------------------


def test_world_writable_pickle_is_refused_once(accounts: Accounts, base: Path) -> None:
    b = accounts.user("b")
    proj_dir = base / "proj"
    proj = ml_project(proj_dir)
    marker = base / "pwned-by-pickle"
    target = a_learner_pickle(proj_dir)
    for d in (proj_dir, target.parent.parent, target.parent):
        d.chmod(0o711)  # others may pass through (not write): allowed
    target.chmod(0o666)
    plant_as(b, payload_bytes(marker), target, base / "staging.pkl")

    err = refused(benchgrid_as(None, "run", str(proj_dir), "--workers", "2", "--no-progress"), "writable by every user")
    assert target.name in err
    assert not marker.exists()
    counts = proj.status().counts
    assert counts["error"] == 0 and counts["done"] == 0 and counts["running"] == 0
    assert not any((proj_dir / "workers").iterdir())  # no worker started
    for args in (["work", str(proj_dir)], ["try", str(proj_dir)]):
        refused(benchgrid_as(None, *args), "writable by every user")
    assert not marker.exists()


# -- 4. group-shared: members run retry, add and work; files keep the group's mode ---------------


@pytest.mark.parametrize("lock", ["lease", "flock"])
def test_group_shared_project_works_for_the_group(accounts: Accounts, base: Path, lock: str) -> None:
    accounts.group("lab")
    a = accounts.user("a", groups=("lab",))
    b = accounts.user("b", groups=("lab",))
    outsider = accounts.user("x")
    import grp

    lab_gid = grp.getgrnam(f"bglab{accounts.tag}").gr_gid
    lab = base / "lab"
    lab.mkdir()
    os.chown(lab, a.uid, lab_gid)
    lab.chmod(0o2770)  # the lab's folder: setgid, so projects inside get the lab's group
    jobs = base / "jobs.csv"
    jobs.write_text("i\n" + "".join(f"{i}\n" for i in range(6)))
    more = base / "more.csv"
    more.write_text("i\n" + "".join(f"{i}\n" for i in range(6, 10_006)))  # fills part 0, starts part 1
    for f in (jobs, more):
        f.chmod(0o644)
    proj_dir = lab / "proj"

    out = benchgrid_as(a, "init", str(proj_dir), "--jobs", str(jobs), "--runner", "tests.runners.jobs:fail_some",
                       "--group-shared", "--lock", lock)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "private group" not in out.stderr
    assert f"shared with group 'bglab{accounts.tag}'" in out.stdout
    out = benchgrid_as(a, "work", str(proj_dir))
    assert out.returncode == 0, out.stderr
    assert bg.Project.open(proj_dir).status().counts["error"] == 2  # jobs 0 and 3

    # B, umask 077, puts the errors back and adds jobs: what failed with a PermissionError before
    out = benchgrid_as(b, "retry", str(proj_dir), umask=0o077)
    assert out.returncode == 0, out.stderr
    out = benchgrid_as(b, "add", str(proj_dir), "--jobs", str(more), umask=0o077)
    assert out.returncode == 0, out.stderr
    st = (proj_dir / "jobs" / "part-00001.jsonl").stat()  # a file B created
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (b.uid, lab_gid, 0o660)
    st = (proj_dir / "queue" / "requeue.log").stat()  # created with the project by A, appended to by B
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (a.uid, lab_gid, 0o660)
    assert st.st_size > 0
    # A appends to B's files; B's worker works on A's project; folders are the lab's, setgid
    out = benchgrid_as(a, "retry", str(proj_dir))
    assert out.returncode == 0, out.stderr
    for user, umask in ((b, 0o077), (a, 0o022)):
        out = benchgrid_as(user, "work", str(proj_dir), "--max-jobs", "5", umask=umask)
        assert out.returncode == 0, out.stderr
        done, errors = re.search(r"(\d+) done, (\d+) errors", out.stderr).groups()  # type: ignore[union-attr]
        assert int(done) + int(errors) == 5, out.stderr
    for path in [proj_dir, *proj_dir.rglob("*")]:
        st = path.lstat()
        want = 0o2770 if stat.S_ISDIR(st.st_mode) else 0o660
        assert st.st_gid == lab_gid and stat.S_IMODE(st.st_mode) == want, (path, oct(st.st_mode), st.st_gid)

    # someone outside the group is refused, and so is a file only its owner's own group may write
    refused(benchgrid_as(outsider, "work", str(proj_dir)), f"belongs to user {a.name!r}")
    stray = proj_dir / "inputs" / "stray.pkl"
    stray.write_bytes(b"x")
    os.chown(stray, b.uid, b.gid)
    stray.chmod(0o660)
    refused(benchgrid_as(a, "work", str(proj_dir)), "stray.pkl", f"is writable by group {b.name!r}")


def test_group_shared_in_a_private_group_warns(accounts: Accounts, base: Path) -> None:
    c = accounts.user("c")
    home = base / "c"
    home.mkdir()
    os.chown(home, c.uid, c.gid)
    jobs = base / "jobs.csv"
    jobs.write_text("i\n1\n")
    jobs.chmod(0o644)
    out = benchgrid_as(c, "init", str(home / "proj"), "--jobs", str(jobs), "--runner", RUNNER, "--group-shared")
    assert out.returncode == 0, out.stderr
    assert f"benchgrid: warning: the project's group is {c.name!r}, the private group of user {c.name!r}" in out.stderr
    assert "Traceback" not in out.stderr


# -- 5. symbolic links planted in a project --------------------------------------------------------


@pytest.mark.parametrize("planted", ["queue/claims.log", "workers"])
def test_planted_links_are_refused(base: Path, planted: str, accounts: Accounts) -> None:
    proj_dir = base / "proj"
    bg.Project.create(proj_dir, [{"i": i} for i in range(3)], RUNNER)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    link = proj_dir / planted
    target = elsewhere / link.name
    shutil.move(str(link), str(target))  # the real thing, moved out, still a working file or folder
    link.symlink_to(target)
    before = sorted((p.name, p.stat().st_size) for p in elsewhere.rglob("*"))

    for args in (["work", str(proj_dir)], ["run", str(proj_dir), "--workers", "1", "--no-progress"]):
        err = refused(benchgrid_as(None, *args), planted.split("/")[-1], "is a symbolic link")
        assert f"(to {str(target)!r})" in err and "rm " in err
    assert sorted((p.name, p.stat().st_size) for p in elsewhere.rglob("*")) == before  # nothing written there


def test_writes_never_follow_a_link(tmp_path: Path) -> None:
    """Below the start check: every project file is opened with O_NOFOLLOW."""
    from benchgrid.store.storage._records import append_records, read_records

    target = tmp_path / "target.log"
    append_records(target, [{"op": "x"}])
    link = tmp_path / "claims.log"
    link.symlink_to(target)
    with pytest.raises(bg.ProjectError, match=r"claims.log' is a symbolic link .*benchgrid follows no link"):
        append_records(link, [{"op": "y"}])
    with pytest.raises(bg.ProjectError, match="is a symbolic link"):
        read_records(link)
    assert [r["op"] for r in read_records(target)[0]] == ["x"]


# -- 6. --setup with an open quote; 7. init path with a newline -----------------------------------


def test_setup_with_an_open_quote_is_refused(base: Path) -> None:
    proj_dir = base / "proj"
    bg.Project.create(proj_dir, [{"i": 1}], RUNNER)
    marker = base / "pwned-by-setup"
    setup = f"touch {shlex.quote(str(marker))}; echo 'x"
    out = benchgrid_as(None, "submit", str(proj_dir), "--workers", "1", "--setup", setup, "--dry-run")
    err = refused(out, "not complete shell code")
    assert "bash -n says" in err
    assert not marker.exists() and not (proj_dir / "slurm").exists()
    ok = benchgrid_as(None, "submit", str(proj_dir), "--workers", "1", "--setup", "echo 'x'", "--dry-run")
    assert ok.returncode == 0, ok.stderr
    assert not marker.exists()


def test_init_refuses_a_path_with_a_newline(base: Path) -> None:
    jobs = base / "jobs.csv"
    jobs.write_text("i\n1\n")
    before = sorted(os.listdir(base))
    out = benchgrid_as(None, "init", str(base / "proj\nx"), "--jobs", str(jobs), "--runner", RUNNER)
    refused(out, "must not contain control characters")
    assert sorted(os.listdir(base)) == before
    with pytest.raises(bg.InputError, match="control characters"):
        bg.Project.create(base / "tab\there", [{"i": 1}], RUNNER)
    assert sorted(os.listdir(base)) == before
