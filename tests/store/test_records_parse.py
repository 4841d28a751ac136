"""Bulk record parsing: orjson where it can, json where it cannot (NaN, huge ints), the same records either way."""

from __future__ import annotations

import json
import math

from benchgrid.store.storage import _records
from benchgrid.store.storage._records import decode, decode_lines, encode


def _lines(records: list[dict]) -> bytes:
    return b"".join(encode(r) for r in records)


def test_bulk_parse_equals_line_by_line_parse_with_values_orjson_refuses():
    records = [{"op": "done", "job": i, "a": 1, "r": {"x": i / 7, "s": "é"}} for i in range(50)]
    records[10]["r"]["nan"] = float("nan")  # results may hold NaN (a measure that failed)
    records[20]["r"]["inf"] = float("inf")
    records[30]["r"]["big"] = 2**70  # beyond 64 bits
    records[40]["r"]["nested"] = [[1, None], {"k": True}]
    data = _lines(records)
    got = decode_lines(data)
    want = [decode(line + b"\n") for line in data.split(b"\n")[:-1]]
    assert len(got) == 50 and json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    assert math.isnan(got[10]["r"]["nan"]) and got[20]["r"]["inf"] == math.inf and got[30]["r"]["big"] == 2**70


def test_a_chunk_with_nan_does_not_send_other_chunks_to_the_slow_parser(monkeypatch):
    calls = []
    real = json.loads
    monkeypatch.setattr(_records, "PARSE_CHUNK", 10)
    monkeypatch.setattr(_records.json, "loads", lambda b, *a, **k: calls.append(len(b)) or real(b, *a, **k))
    records = [{"job": i, "v": float("nan") if i == 3 else i} for i in range(40)]
    got = decode_lines(_lines(records))
    assert [r["job"] for r in got] == list(range(40))
    assert len(calls) == (1 if _records._orjson_loads is not None else 4)  # only the chunk with the NaN


def test_damaged_and_torn_lines_are_skipped_in_bulk():
    data = _lines([{"job": 1}]) + b"0badc0de {}\n" + b"zzzzzzzz junk\n" + _lines([{"job": 2}]) + b"1234"
    assert [r["job"] for r in decode_lines(data[: data.rfind(b"\n") + 1])] == [1, 2]
