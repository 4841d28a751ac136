"""The one atomic writer: write a temporary sibling, then rename it over the target.

Readers see the old file or the new one, never a half-written one; a writer
killed midway (or a full disk) leaves the old file and no temp file behind
(a kill -9 can leave a ``.NAME.*.tmp`` sibling, which nothing reads). Every
file benchgrid replaces goes through here: leases and project files, job
inputs and splits, scheduler scripts, and the files the CLI writes for the
user (results tables, plots, the report).

Two kinds of file, two modes:

- ``project=True`` (the default): a file inside a project gets its folder's
  mode (group-shared or private, see :mod:`._safe_io`), never through a link;
- ``project=False``: a file the user asked for (``-o report.html``) gets the
  mode the user's umask gives, like any file a command writes.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "a.json", '{"x": 1}')
>>> (d / "a.json").read_text()
'{"x": 1}'
>>> with atomic_path(d / "b.csv", project=False) as tmp:
...     _ = tmp.write_text("a,b\\n1,2\\n")   # any writer that wants a file name (to_csv, savefig)
>>> (d / "b.csv").read_text().splitlines(), sorted(p.name for p in d.iterdir())
(['a,b', '1,2'], ['a.json', 'b.csv'])
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ._safe_io import adopt_new_file, open_nofollow

__all__ = ["atomic_path", "write_atomic"]


def _temp_sibling(path: Path, project: bool) -> Path:
    """Create (exclusively) an empty temp file ``.NAME.PID-RANDOM.tmp`` beside ``path``."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            if project:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    adopt_new_file(fd, path.parent)
                finally:
                    os.close(fd)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))  # the umask applies
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {str(path)!r}")


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, project: bool = True) -> Iterator[Path]:
    """A new temporary path beside ``path`` to write; renamed over ``path`` when the block succeeds.

    If the block raises, the temporary file is removed and ``path`` is left
    as it was. For writers that want a file name (``DataFrame.to_csv``,
    ``Figure.savefig``; the name ends in ``.tmp``, so give them the format
    explicitly); :func:`write_atomic` writes bytes or text.
    """
    path = Path(path)
    tmp = _temp_sibling(path, project)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, project: bool = True, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step; ``fsync`` makes it durable first."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_path(path, project=project) as tmp:
        fd = open_nofollow(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
