"""Checksummed, append-only record files.

One record per line: ``<crc32 as 8 hex digits> <compact JSON>\\n``. A line
that is cut short (a writer killed mid-write) or damaged fails its checksum
and is skipped by readers, so a torn last record is ignored. Writers repair a
torn tail by ending it with ``~torn`` (so it can never pass its checksum)
and a newline, which keeps every later record readable.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.log"
>>> _ = append_records(p, [{"op": "claim", "job": 1}])
>>> with open(p, "ab") as f:
...     _ = f.write(b"0badc0de {\\"torn")
>>> [r["job"] for r in read_records(p)[0]]
[1]
"""

from __future__ import annotations

import errno
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ._atomic import write_atomic
from ._safe_io import open_file, open_nofollow

__all__ = [
    "encode",
    "decode",
    "append_records",
    "read_records",
    "decode_lines",
    "read_last_record",
    "record_at",
    "iter_records",
    "read_json",
    "write_json_atomic",
]

_orjson_loads: Callable[[bytes], Any] | None
try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency; json does the same, slower
    _orjson_loads = None

Record = dict[str, Any]
TORN_TAIL_MARK = b"~torn\n"


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays are common in runner results
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"result values must be JSON-serializable, got {type(value).__name__}")


def compact_json(default: Callable[[Any], Any], *, sort_keys: bool, allow_nan: bool) -> Callable[[Any], str]:
    """A fast ``json.dumps(value, separators=(",", ":"), default=..., sort_keys=..., allow_nan=...)``.

    One C encoder made once: ``json.dumps`` builds a new one per call, which
    is most of its cost per record or job row. Same output. No circular-
    reference markers (the C encoder leaves stale ones after an error, so a
    shared set would later refuse a new object that got an old id): a cycle
    ends in RecursionError and is encoded again by ``json.dumps``, whose
    error names it.

    Examples
    --------
    >>> compact_json(str, sort_keys=True, allow_nan=False)({"b": 1, "a": [2.5]})
    '{"a":[2.5],"b":1}'
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    fast = (
        make(None, default, json.encoder.encode_basestring_ascii, None, ":", ",", sort_keys, False, allow_nan)
        if make is not None
        else None
    )

    def dumps(value: Any) -> str:
        if fast is not None and type(value) is dict:
            try:
                return "".join(fast(value, 0))
            except RecursionError:
                pass  # a cycle (or very deep nesting): json.dumps below says which
        return json.dumps(value, separators=(",", ":"), default=default, sort_keys=sort_keys, allow_nan=allow_nan)

    return dumps


_dumps = compact_json(_json_default, sort_keys=False, allow_nan=True)


def encode(record: Mapping[str, object]) -> bytes:
    r"""Encode one record as a checksummed line.

    Examples
    --------
    >>> encode({"op": "done", "job": 3, "r": {"x": 0.5}})
    b'312956ae {"op":"done","job":3,"r":{"x":0.5}}\n'
    """
    body = _dumps(record).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode(line: bytes) -> Record | None:
    """Decode one line; None when it is torn or damaged."""
    if len(line) < 11 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def append_records(path: Path, records: Iterable[Mapping[str, object]], *, before_write: Any = None) -> int:
    """Append records in one write; return the byte offset where they start.

    For a file shared between workers, call this only while holding the
    project lock: the file is opened afresh (no stale pages on NFS) and closed
    before returning (data reaches the server before the lock is released).
    ``before_write(offset)`` runs after the offset is known and before the
    bytes are written; the claim protocol uses it to publish the offset.
    """
    data = b"".join(encode(r) for r in records)
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            # a torn tail stays a line of its own, and an invalid one: a record
            # cut just before its newline must not become valid by our newline
            os.write(fd, TORN_TAIL_MARK)
            size += len(TORN_TAIL_MARK)
        if before_write is not None:
            before_write(size)
        os.write(fd, data)
    finally:
        os.close(fd)
    return size


def _read_bytes(path: Path, offset: int = 0, size: int = -1, *, create: bool = False) -> bytes:
    """Bytes of ``path`` from ``offset``; a missing file reads as empty.

    ``create`` opens with ``O_CREAT`` (creating an empty file if it is
    really missing): a client's cached "no such file" answers a plain
    ``open()`` on NFS, but never an ``O_CREAT`` one, which goes to the
    server. Shared logs that decide something are read this way, under the lock.
    """
    for attempt in range(20):
        try:
            if create:
                fd = open_nofollow(path, os.O_RDONLY | os.O_CREAT)
                try:
                    return os.pread(fd, os.fstat(fd).st_size if size < 0 else size, offset)
                finally:
                    os.close(fd)
            with open_file(path, "rb") as f:
                f.seek(offset)
                return f.read(size)
        except FileNotFoundError:
            return b""
        except OSError as err:  # ESTALE on NFS while another client replaces a file
            if err.errno != errno.ESTALE or attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
    return b""


def read_records(path: Path, offset: int = 0) -> tuple[list[Record], int]:
    """Read every complete record from ``offset``; return them and the offset after them.

    The returned offset stops before a trailing partial line, so an
    incremental reader picks the line up once it is complete.
    """
    data = _read_bytes(path, offset)
    end = data.rfind(b"\n") + 1
    return decode_lines(data[:end]), offset + end


def decode_lines(data: bytes) -> list[Record]:
    r"""Every valid record of ``data`` (whole lines), as :func:`decode` reads them one by one.

    Checksums are checked line by line; the bodies that pass are parsed as
    one JSON array (one parser call instead of one per record, which is most
    of the cost of reading a million results).

    Examples
    --------
    >>> decode_lines(encode({"a": 1}) + b"0badc0de {}\n" + encode({"b": 2}))
    [{'a': 1}, {'b': 2}]
    """
    bodies = []
    crc32 = zlib.crc32
    for line in data.split(b"\n")[:-1]:
        if len(line) < 10 or line[8:9] != b" ":
            continue
        body = line[9:]
        try:
            if int(line[:8], 16) != crc32(body):
                continue
        except ValueError:
            continue
        bodies.append(body)
    records: list[Any] = []
    for start in range(0, len(bodies), PARSE_CHUNK):
        records += _parse_bodies(bodies[start : start + PARSE_CHUNK])
    return [r for r in records if isinstance(r, dict)]


PARSE_CHUNK = 20_000  # bodies per parser call: a chunk with a NaN is parsed again by json, not the whole file


def _parse_bodies(bodies: list[bytes]) -> list[Any]:
    """Parse record bodies as one JSON array: orjson (about twice as fast), else json (NaN, huge ints)."""
    blob = b"[" + b",".join(bodies) + b"]"
    if _orjson_loads is not None:
        try:
            return _orjson_loads(blob)  # type: ignore[no-any-return]
        except ValueError:  # NaN or Infinity (results may hold them), an integer beyond 64 bits
            pass
    try:
        return json.loads(blob)  # type: ignore[no-any-return]
    except ValueError:  # a body that passed its checksum but is not one JSON value: parse one by one
        out = []
        for body in bodies:
            try:
                out.append(json.loads(body))
            except ValueError:
                pass
        return out


def iter_records(
    path: Path, offset: int, max_bytes: int = 1 << 16, *, create: bool = False
) -> list[tuple[Record | None, int]]:
    """Lines from ``offset`` (at most ``max_bytes``): each decoded record (None if torn) and the offset after it.

    ``create``: see :func:`_read_bytes` (for a deciding log read under the lock).
    """
    data = _read_bytes(path, offset, max_bytes, create=create)
    out: list[tuple[Record | None, int]] = []
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            return out
        out.append((decode(data[pos : end + 1]), offset + end + 1))
        pos = end + 1


def read_last_record(path: Path, window: int = 16384) -> Record | None:
    """The last valid record of a file, reading only its tail (O(1) in its length).

    The tail is sized from ``fstat`` of the file this call opens, never from
    ``stat()`` of the path: an NFS client answers ``stat()`` from its
    attribute cache, while ``open()`` revalidates (close-to-open), so a
    cached size would hide the records other hosts appended and hand out
    their jobs again.
    """
    for attempt in range(20):
        try:
            fd = open_nofollow(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as err:  # ESTALE while another client replaces the file
            if err.errno != errno.ESTALE or attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
            continue
        try:
            return _last_record_of(fd, window)
        finally:
            os.close(fd)
    return None


def _last_record_of(fd: int, window: int) -> Record | None:
    size = os.fstat(fd).st_size
    while True:
        start = max(0, size - window)
        data = os.pread(fd, size - start, start)
        lines = data.splitlines(keepends=True)
        if start > 0:
            lines = lines[1:]  # the first line may begin before the window
        for line in reversed(lines):
            record = decode(line)
            if record is not None:
                return record
        if start == 0:
            return None
        window *= 4


def record_at(path: Path, offset: int, max_len: int = 1 << 20) -> Record | None:
    """The record that starts exactly at ``offset``, or None."""
    data = _read_bytes(path, offset, max_len)
    end = data.find(b"\n")
    return None if end < 0 else decode(data[: end + 1])


def read_json(path: Path) -> Any:
    """Read a JSON file, retrying the transient failures of NFS (ESTALE, torn replace)."""
    last: Exception | None = None
    for attempt in range(20):
        try:
            with open_file(path, "rb") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as err:
            last = err
            time.sleep(0.01 * (attempt + 1))
    assert last is not None
    raise last


def write_json_atomic(path: Path, value: Any) -> None:
    """Replace ``path`` with ``value`` as JSON (see :func:`~._atomic.write_atomic`)."""
    write_atomic(path, json.dumps(value, default=_json_default))
