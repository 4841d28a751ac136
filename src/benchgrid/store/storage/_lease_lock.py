"""A lock for shared filesystems whose lease is broken at most once, by one waiter.

The lock is a hard link, ``link(claim file, lock)``: atomic on NFS, Lustre
and GPFS, where ``flock`` excludes nothing. Each taking writes a claim file
of its own (``lock|host|pid|random``, the *token*) that says when it was
written and for how long it holds; the link makes it the lock. A holder
killed inside the critical section leaves the lock behind, so a waiter
breaks it once its lease is over. Breaking is where lease locks go wrong,
and this module exists for it:

- **The lease is read from the lock's content** (opened, so an NFS client
  revalidates it), never from ``stat()``'s mtime, which a caching client
  answers from a stale cache.
- **No clock of another host is read** (invariant 10, issue 25): a waiter
  judges the lease over once it has itself seen the same taking for longer
  than the lease, on its own monotonic clock (:mod:`._observe`), less any
  time it was stalled; the holder's written time is never compared with
  the waiter's. A waiter on the holder's own machine breaks at once a lock
  whose holder's process is gone (pid and start time, :mod:`._process`).
- **The protocol's own races are not errors** (issue 25): the lock vanishes
  between a waiter's open and its ``fstat`` or read (released), a link or a
  rename meets ``ESTALE`` (the name was replaced meanwhile): these are
  retried, and only an error that persists stops the caller, with the file
  named.
- **One waiter breaks a given taking, ever.** Two waiters that both saw the
  same expired lease race to create ``lock.broken.<token>`` with ``O_EXCL``
  (atomic on every shared filesystem); the loser does nothing. flufl.lock
  lets both break: the second one, acting on what it read before the first
  broke and re-took the lock, unlinks the *new* holder's lock, and two
  processes are inside at once (seen in CI: a job handed out twice after a
  lock holder was killed, with workers on two clients).
- **The winner removes exactly what it judged**: it renames ``lock`` to a
  name of its own (server-side, whatever a client caches) and reads what it
  moved; if that is not the expired taking (its holder released it late and
  another took it meanwhile), it links it back.
- **A holder never acts on a lease it may have lost:**
  :meth:`LeaseLock.check_held` refuses once half the lease is gone (the
  other half covers a holder stalled between that check and its write;
  no clock is compared), and a holder releasing that
  late goes through the same ``lock.broken.<token>`` step, so it never
  unlinks a lock a waiter has broken and re-taken.

A ``lock.broken.*`` file is left per broken taking (rare: a holder killed
or frozen past its lease); they are small and harmless.

Examples
--------
>>> import tempfile, pathlib
>>> lock = LeaseLock(pathlib.Path(tempfile.mkdtemp()) / "lock", lifetime_s=5)
>>> with lock:
...     lock.check_held()
"""

from __future__ import annotations

import errno
import json
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..._errors import LockTimeout, ProjectError
from ._faults import error_point, pause_point
from ._observe import LeaseWatch, stalled_since, timed
from ._process import process_gone, process_identity
from ._safe_io import open_nofollow

__all__ = ["LeaseLock", "LockLost"]

LOOK_EVERY_S = 0.25  # how often a waiter reads the holder's lease
PATIENT_AFTER_S = 0.2  # a waiter this long in line naps longer and looks less often (issue 25: the file server's load)
PATIENT_NAP_S = 0.15  # its longest nap between two link attempts
PATIENT_LOOK_S = 1.0  # and how often it then reads the holder's lease (at most; a sixteenth of the lease if shorter)
REWRITE_CLAIM_AFTER = 0.25  # fraction of the lease after which a waiter's claim file is written afresh
LEASE_BYTES = 512  # every lease is written padded to this length
RACES = (errno.ENOENT, errno.ESTALE)  # what a file the protocol removes or renames answers meanwhile
STALE_TRIES = 20


class LockLost(ProjectError):
    """Half of the lock's lease went by while holding it; nothing may be written under it any more."""


class LeaseLock:
    """Cross-host lock with a lease, broken at most once per taking (see the module docstring).

    Parameters
    ----------
    path : Path
        The lock file; claim and ``lock.broken.*`` files are made beside it.
    lifetime_s : float
        The lease: a holder that does not release within it is taken to be dead.
    timeout_s : float or None
        Give up (:class:`~benchgrid._errors.LockTimeout`) after waiting this long.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lock"
    >>> with LeaseLock(path, lifetime_s=5):
    ...     path.exists()
    True
    >>> path.exists()
    False
    """

    def __init__(self, path: Path, lifetime_s: float = 15.0, timeout_s: float | None = None):
        self.path = Path(path)
        self.lifetime_s = float(lifetime_s)
        self.timeout_s = timeout_s
        self._claim: Path | None = None  # our claim file while we wait or hold
        self._written = 0.0  # time.monotonic() when the claim file got its lease
        self._watch = LeaseWatch()  # the takings this waiter has seen, and since when
        self._identity: tuple[int, dict[str, object]] | None = None  # (pid, process_identity()) cached per pid
        self._n_writes = 0  # numbers every lease written, so that no two are the same
        self._breaking: dict[str, tuple[int, float | None]] = {}  # token -> (marker generation tried, since when)
        self._patient_look_s = max(LOOK_EVERY_S, min(PATIENT_LOOK_S, self.lifetime_s / 16))

    # -- taking ----------------------------------------------------------------
    def __enter__(self) -> "LeaseLock":
        if self._claim is not None:
            raise ProjectError(f"the project lock {str(self.path)!r} is already held by this object")
        start = time.monotonic()
        token = f"{self.path.name}|{socket.gethostname()}|{os.getpid()}|{random.getrandbits(48):012x}"
        self._claim = self.path.with_name(token)
        try:
            self._write_claim()
            naps = 0
            next_look = start  # look at the holder's lease at once, then every LOOK_EVERY_S
            while not self._try_link():
                now = time.monotonic()
                patient = now - start > PATIENT_AFTER_S
                if now >= next_look:
                    next_look = now + (self._patient_look_s if patient else LOOK_EVERY_S)
                    if self._break_if_expired():
                        break  # the lock is ours
                if self.timeout_s is not None and now - start > self.timeout_s:
                    raise LockTimeout(
                        f"could not take the project lock {str(self.path)!r} within {self.timeout_s} s; "
                        "another process holds it"
                    )
                if now - self._written > REWRITE_CLAIM_AFTER * self.lifetime_s:
                    self._write_claim()  # the lease we take counts from when our claim was written
                # a short exponential back-off capped at 16 ms: longer naps leave the lock idle
                # after its holder is done (measured on NFS: naps up to 128 ms cut 4 workers to
                # a fifth of 2); workers take bigger batches when claims get dear. A waiter still
                # in line after PATIENT_AFTER_S is behind a long holder (a big add, a dead one) or
                # many peers: each attempt is a request to the file server, so it naps up to
                # PATIENT_NAP_S (about 20 requests per second per waiter, however many wait)
                naps = min(naps + 1, 5)
                cap = PATIENT_NAP_S if patient else 0.0005 * 2**naps
                time.sleep(random.uniform(0.0002, cap))
        except BaseException:
            self._unlink(self._claim)
            self._claim = None
            raise
        pause_point("lock.held")
        return self

    def _write_claim(self) -> None:
        """Write our lease into our claim file: whole, fixed length, in place (never truncated)."""
        assert self._claim is not None
        written = time.monotonic()
        pid = os.getpid()
        if self._identity is None or self._identity[0] != pid:
            self._identity = (pid, process_identity(pid))
        # "t" is for people and unique per write; nobody compares it with their own clock
        self._n_writes += 1
        lease = {"token": self._claim.name, **self._identity[1], "t": time.time(), "n": self._n_writes, "lease_s": self.lifetime_s}
        body = json.dumps(lease).encode().ljust(LEASE_BYTES)  # a reader sees the old lease or the new one
        claim = self._claim
        fd = _retry_stale(lambda: open_nofollow(claim, os.O_WRONLY | os.O_CREAT))
        try:
            os.pwrite(fd, body, 0)
        finally:
            os.close(fd)
        self._written = written

    def _try_link(self) -> bool:
        assert self._claim is not None
        try:
            error_point("lock.link", self.path)
            os.link(self._claim, self.path)
            return True
        except FileExistsError:
            return False
        except OSError as err:
            # ENOENT: our claim file removed under us (a cleaner); ESTALE: a name replaced meanwhile
            # (NFS). Either way write our claim again and try once more at the next turn.
            if err.errno in RACES:
                self._write_claim()
                return False
            raise

    # -- breaking ----------------------------------------------------------------
    def _break_if_expired(self) -> bool:
        """Break the lock if its lease is over and no other waiter breaks it; True if it is ours already."""
        assert self._claim is not None
        with timed() as read:
            held = _read_lease(self.path)
        if held is None:
            self._watch.forget()
            return False
        token = held.token
        if token == self._claim.name:  # our link went through though it said otherwise (an NFS retransmission)
            return True
        lease_s = held.lease_s if held.lease else self.lifetime_s
        self._patient_look_s = max(LOOK_EVERY_S, min(PATIENT_LOOK_S, lease_s / 16, self.lifetime_s / 16))
        over = process_gone(held.lease)  # its holder ran on this machine and is gone: no need to wait
        if not over:
            seen_s = self._watch.seen_for("lock", held.content, (read.started, read.ended))
            over = seen_s > lease_s  # a damaged lock: judged by our own lease
        if not over:
            return False
        pause_point("lock.judged_expired")
        marker = self._marker_to_take(token)
        if marker is None or not _create_exclusive(marker):
            return False  # another waiter breaks this taking, or its holder released it late
        marked = time.monotonic()
        self._remove_if(token, self._claim.name, give_up_at=marked + self.lifetime_s / 2)
        self._write_claim()  # our lease counts from now: the link that follows is likely to take the lock
        return False

    def _marker_to_take(self, token: str) -> Path | None:
        """The ``lock.broken.<token>[.<generation>]`` file whose creation makes us this taking's breaker.

        Generation 1 first. A breaker that dies (or errs) between its marker and
        its rename would leave the taking unbreakable; so once we have seen the
        marker of generation g stand for a whole lease beside the same taking,
        generation g + 1 may be taken (a live breaker finishes within half a
        lease or gives up: :meth:`_remove_if`).
        """
        base = f"{self.path.name}.broken.{_safe(token)}"
        gen, since = self._breaking.get(token, (1, None))
        if since is not None and time.monotonic() - since - stalled_since(since) > self.lifetime_s:
            gen, since = gen + 1, None
        if since is None:
            self._breaking = {token: (gen, time.monotonic())}  # seen now; judged again a lease later
            return self.path.with_name(base if gen == 1 else f"{base}.{gen}")
        return None

    def _remove_if(self, token: str, mine: str, give_up_at: float | None = None) -> None:
        """Remove the lock if it is still the taking ``token`` (which nobody else may now remove); ``mine``: our token.

        A breaker past ``give_up_at`` (monotonic; it froze after taking its
        marker) removes nothing: a later generation may be breaking by now.
        """
        moved = self.path.with_name(f"{self.path.name}.gone.{_safe(mine)}")

        def rename() -> bool:
            if give_up_at is not None and time.monotonic() > give_up_at:
                return False
            error_point("lock.rename", self.path)
            os.rename(self.path, moved)  # server-side: whatever is the lock now, not what a cache says
            return True

        try:
            if not _retry_stale(rename):
                return
        except FileNotFoundError:
            return
        held = _read_lease(moved)
        if held is not None and held.token != token:  # a later taking: give it back
            try:
                os.link(moved, self.path)
            except FileExistsError:
                pass  # cannot happen unless a holder overran its lease by half of it and released blindly
        self._unlink(moved)
        if held is not None and held.token == token and _is_token(token, self.path.name):
            self._unlink(self.path.with_name(token))  # the dead holder's claim file

    # -- holding and releasing -------------------------------------------------
    def check_held(self) -> None:
        """Raise :class:`LockLost` once half of the lease went by: another host may judge it over soon."""
        if self._claim is None:
            raise LockLost(f"the project lock {str(self.path)!r} is not held")
        if time.monotonic() - self._written > self.lifetime_s / 2:
            raise LockLost(
                f"held the project lock {str(self.path)!r} longer than half its lease "
                f"({self.lifetime_s / 2:g} s, lock_lease_s); another process may break it, so nothing is written"
            )

    def renew(self) -> None:
        """Start the lease again (a long write under the lock, such as a big ``add``).

        Safe only while :meth:`check_held` passes: no waiter can have judged
        the lease over before half of it went by, so none acts on the old one.
        """
        self.check_held()
        self._write_claim()

    def __exit__(self, *exc: object) -> None:
        claim, self._claim = self._claim, None
        if claim is None:
            return
        if time.monotonic() - self._written <= self.lifetime_s / 2:
            self._unlink(self.path)
        elif _create_exclusive(self.path.with_name(f"{self.path.name}.broken.{_safe(claim.name)}")):
            # late: nobody broke this taking and nobody will now, so the lock is still ours
            self._remove_if(claim.name, claim.name)
        self._unlink(claim)

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            _retry_stale(lambda: os.unlink(path))
        except FileNotFoundError:
            pass


@dataclass(frozen=True)
class _Held:
    """A lock as read from its content: the taking's token, the content itself, its lease and writer."""

    token: str
    content: bytes
    lease_s: float
    lease: dict[str, Any]


def _read_lease(path: Path) -> _Held | None:
    """The taking that is the lock at ``path``, read from its content; None if there is none.

    A lock that vanishes while it is read (its holder released it between our
    open and our ``fstat`` or read: ``ENOENT`` or ``ESTALE``) is no lock. A
    lock whose content is not a lease (damaged) is a taking named after its
    inode, judged by the waiter's own lease (``lease_s`` 0 here).
    """
    for attempt in range(STALE_TRIES):
        try:
            error_point("lock.open", path)
            fd = open_nofollow(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno != errno.ESTALE or attempt == STALE_TRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
            continue
        try:
            error_point("lock.fstat", path)
            st = os.fstat(fd)
            error_point("lock.read", path)
            data = os.pread(fd, 4096, 0)
        except OSError as err:
            if err.errno in RACES:
                return None  # released (and perhaps taken again) while we read: look again later
            raise OSError(err.errno, err.strerror, str(path)) from err  # name the file: fstat and pread do not
        finally:
            os.close(fd)
        try:
            lease = json.loads(data)
            return _Held(str(lease["token"]), data, float(lease["lease_s"]), lease)
        except (ValueError, KeyError, TypeError):
            return _Held(f"damaged-{st.st_ino}", data, 0.0, {})
    return None


T = TypeVar("T")


def _retry_stale(step: Callable[[], T]) -> T:
    """Run ``step`` again when the file server says ``ESTALE`` (a name replaced meanwhile), up to 20 times."""
    for attempt in range(STALE_TRIES):
        try:
            return step()
        except OSError as err:
            if err.errno != errno.ESTALE or attempt == STALE_TRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _create_exclusive(path: Path) -> bool:
    """Create ``path`` with ``O_EXCL`` (atomic on shared filesystems); False if it exists."""
    try:
        os.close(open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def _safe(token: str) -> str:
    return token.replace("/", "_")[:200]


def _is_token(token: str, lock_name: str) -> bool:
    """A claim file name this module makes (so a damaged lock cannot make a breaker delete another file)."""
    return token.startswith(lock_name + "|") and "/" not in token and token.count("|") == 3
