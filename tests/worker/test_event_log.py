"""worker/_event_log.py: a worker's records survive a torn write, and its diagnostics a full disk."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import pytest

from benchgrid.store import done_record, read_records
from benchgrid.worker._event_log import EventLog


class _TearsOnce:
    """The real events.log, whose next write stops half way with ENOSPC (a disk that filled up)."""

    def __init__(self, real: Any) -> None:
        self.real, self.armed = real, True

    def write(self, data: memoryview) -> int:
        if self.armed:
            self.armed = False
            self.real.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self.real.write(data))

    def close(self) -> None:
        self.real.close()


def _events(tmp_path: Path, name: str) -> EventLog:
    events = EventLog(tmp_path / "my worker's dir", logging.getLogger(f"benchgrid.test.{name}"))
    events.open()
    return events


def test_a_record_after_a_torn_write_starts_on_its_own_line(tmp_path: Path) -> None:
    events = _events(tmp_path, "torn")
    events.append(done_record(0, 1, 0.0, {"x": 1}))
    events._file = _TearsOnce(events._file)
    with pytest.raises(OSError, match="No space left"):
        events.append(done_record(1, 1, 0.0, {"x": 2}))
    assert events.torn  # the failed write was to the worker's own folder
    events.append(done_record(2, 1, 0.0, {"x": 3}))
    assert not events.torn
    events.close()
    events.detach_log()
    records, _ = read_records(events.folder / "events.log")
    assert [r["job"] for r in records] == [0, 2]  # the torn record is skipped, the next one kept
    assert len((events.folder / "events.log").read_bytes().splitlines()) == 3


def test_worker_log_is_written_then_detached(tmp_path: Path) -> None:
    events = _events(tmp_path, "log")
    events.log.info("job %d started", 7)
    events.close()
    events.detach_log()
    assert events.log.handlers == []
    assert "INFO job 7 started" in (events.folder / "worker.log").read_text()


def test_a_worker_folder_is_never_reused(tmp_path: Path) -> None:
    _events(tmp_path, "once").close()
    with pytest.raises(FileExistsError):
        _events(tmp_path, "twice")


def test_closing_on_a_full_disk_can_be_quiet(tmp_path: Path) -> None:
    events = _events(tmp_path, "quiet")

    class _FailsToClose:
        def close(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    events._file = _FailsToClose()
    with pytest.raises(OSError):
        events.close()
    events.close(quiet=True)
    events.detach_log()
