"""A worker's own files: ``events.log`` (its records) and ``worker.log`` (its diagnostics).

``events.log`` is append-only and read by status, results and check: each
line is one checksummed record (:func:`benchgrid.store.encode`). The file is
unbuffered, so a write the disk cannot take (disk full) is seen at once and
leaves at most one torn line; the next record then starts on a fresh line,
so the torn one stays a line of its own and fails its checksum (readers skip
it, invariant 3). ``worker.log`` is for people: a line it cannot take is
dropped, since the worker already reports a full disk once with its exit code.

Only the worker writes its folder; nobody else opens these files for writing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..store import EventRecord, encode, make_dir, open_file, open_nofollow

__all__ = ["EventLog"]


class _QuietFileHandler(logging.FileHandler):
    """A ``FileHandler`` that drops a line it cannot write instead of printing a traceback.

    ``worker.log`` is a diagnostic; when the disk is full the worker already says so
    once on stderr and exits with its own code, so a failed log write must stay quiet.
    """

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Drop the record (the disk is full or gone; the exit code reports it)."""

    def flush(self) -> None:
        """Flush, dropping what cannot be written (also on ``close``)."""
        try:
            super().flush()
        except OSError:
            pass

    def close(self) -> None:
        """Close, dropping what cannot be written."""
        try:
            super().close()
        except OSError:
            pass


class EventLog:
    """The records and the diagnostics of one worker, in its own folder.

    Parameters
    ----------
    folder : Path
        The worker's folder (``workers/<worker id>``); :meth:`open` creates it.
    log : logging.Logger
        The worker's logger; :meth:`open` sends it to ``worker.log``.

    Attributes
    ----------
    torn : bool
        True from the start of a write until it completed: after a failed write
        (disk full) it stays True, the failed write was to this folder, and the
        next record starts on a fresh line.

    Examples
    --------
    >>> import logging, tempfile
    >>> from pathlib import Path
    >>> from benchgrid.store import read_records
    >>> folder = Path(tempfile.mkdtemp()) / "w-1"
    >>> events = EventLog(folder, logging.getLogger("benchgrid.doctest.events"))
    >>> events.open()
    >>> events.append({"op": "done", "job": 0, "a": 1, "t0": 0.0, "t1": 1.0, "r": {}})
    >>> events.close(); events.detach_log()
    >>> records, _ = read_records(folder / "events.log")
    >>> [r["job"] for r in records]
    [0]
    """

    def __init__(self, folder: Path, log: logging.Logger) -> None:
        self.folder = folder
        self.log = log
        self.torn = False
        self._file: Any = None

    def open(self) -> None:
        """Create the folder (it must not exist: a worker id is new), ``worker.log`` and ``events.log``."""
        make_dir(self.folder, exist_ok=False)
        open_file(self.folder / "worker.log", "ab").close()  # created with the project's mode, then appended to
        handler = _QuietFileHandler(self.folder / "worker.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        self._file = os.fdopen(  # unbuffered: a torn write is seen at once (disk full)
            open_nofollow(self.folder / "events.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND), "ab", buffering=0
        )

    def append(self, record: EventRecord | dict[str, Any]) -> None:
        """Encode one record and :meth:`write` it."""
        self.write(encode(record))

    def write(self, data: bytes) -> None:
        """Append one encoded record; after a torn write (disk full) start on a fresh line."""
        if self.torn:
            data = b"\n" + data  # the torn line stays a line of its own and fails its checksum
        self.torn = True
        view = memoryview(data)
        while view:
            view = view[self._file.write(view) :]
        self.torn = False

    def close(self, *, quiet: bool = False) -> None:
        """Close ``events.log`` (``quiet``: drop an error, the disk is full or gone)."""
        if self._file is None:
            return
        try:
            self._file.close()
        except OSError:
            if not quiet:
                raise

    def detach_log(self) -> None:
        """Close ``worker.log`` and take it off the logger (a worker in a notebook leaves no handler behind)."""
        for handler in list(self.log.handlers):
            handler.close()
            self.log.removeHandler(handler)
