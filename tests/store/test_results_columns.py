"""The column-wise results table equals the row-by-row one it replaced, in every state a job can be in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import benchgrid as bg
from benchgrid._errors import ResultNameWarning
from benchgrid.store.storage._jobs import JobTable
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import append_records, decode_lines, encode
from benchgrid.store.storage._state import ProjectState
from benchgrid.store.views._status import RUN_COLUMNS, results_columns, results_rows


def _both(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    state = ProjectState(root).refresh()
    table = JobTable(Layout(root).jobs_dir)
    return pd.DataFrame(results_rows(state, table)), pd.DataFrame(results_columns(state, table))


def test_columns_equal_rows_for_done_error_pending_queued_and_mixed_params(proj_dir: Path) -> None:
    # "pid" is both a result of the sleep runner and a run column: the run column must win
    jobs = [{"i": i, "seconds": 0.0} for i in range(30)]
    proj = bg.Project.create(proj_dir, jobs, "tests.runners.jobs:fail_some")
    proj.run(n_workers=0, progress=False, max_jobs=20)  # 20 done or error, 10 pending
    proj.add_jobs([{"i": 100, "extra": "x"}])  # a job with other parameters: NaN elsewhere
    assert proj.retry(errors=True) > 0  # errors become queued
    old, new = _both(proj_dir)
    assert set(new["state"]) == {"done", "queued", "pending"}
    assert list(new.columns[-len(RUN_COLUMNS):]) == list(RUN_COLUMNS)
    pd.testing.assert_frame_equal(new, old[new.columns])

    proj.run(n_workers=0, progress=False)
    old, new = _both(proj_dir)
    assert set(new["state"]) == {"done", "error"}
    pd.testing.assert_frame_equal(new, old[new.columns])
    for col in ("claimed_at", "started_at", "ended_at"):  # results() shows them as UTC datetimes
        old[col] = pd.to_datetime(old[col].astype(float), unit="s", utc=True)
    pd.testing.assert_frame_equal(proj.results(), old[new.columns])


def test_result_named_like_a_parameter_is_kept_under_result_prefix(proj_dir: Path) -> None:
    proj = bg.Project.create(proj_dir, [{"i": i, "slept": -1.0} for i in range(6)], "tests.runners.jobs:sleep")
    proj.run(n_workers=0, progress=False, max_jobs=4)
    old, new = _both(proj_dir)
    pd.testing.assert_frame_equal(new, old[new.columns])
    assert list(new["slept"]) == [-1.0] * 6  # the job's input, whatever the runner returned
    assert list(new["result.slept"][:4]) == [0.0] * 4 and new["result.slept"][4:].isna().all()
    assert new["pid"].iloc[0] == new["pid"].iloc[1]  # the lease's pid (a run column); the result's is result.pid
    assert (new["result.pid"][:4] > 0).all()


def test_results_never_overwrite_inputs_with_real_workers(proj_dir: Path) -> None:
    """Issue 23: a runner returning {"x": 99, "job_id": -1, ...} for job {"x": i} used to give job_id -1, x 99."""
    n = 8
    proj = bg.Project.create(proj_dir, [{"x": i} for i in range(n)], "tests.runners.jobs:overwrite")
    assert proj.run(n_workers=2, progress=False).counts["done"] == n
    with pytest.warns(ResultNameWarning,
                      match=r"'attempt' as 'result.attempt', 'job_id' as 'result.job_id', 'state' as "
                            r"'result.state', 'x' as 'result.x'.*rename the keys in the runner") as caught:
        table = proj.results().sort_values("job_id").reset_index(drop=True)
    assert len(caught) == 1  # said once, not once per job
    assert table["job_id"].tolist() == list(range(n)) and table["x"].tolist() == list(range(n))
    assert set(table["state"]) == {"done"} and set(table["attempt"]) == {1}
    assert set(table["result.x"]) == {99} and set(table["result.job_id"]) == {-1}
    assert set(table["result.state"]) == {"hacked"} and table["y"].tolist() == [10 * i for i in range(n)]
    cols = list(table.columns)
    assert cols[:2] == ["job_id", "x"] and cols.index("result.x") < cols.index("state")


def test_decode_lines_reads_what_decode_reads(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    append_records(path, [{"a": i} for i in range(5)])
    with open(path, "ab") as f:
        f.write(b"0badc0de {\"torn\n" + b"zzzzzzzz {}\n" + encode({"b": 1})[:-1] + b"\n" + b"[1]\n")
        f.write(b"%08x %s\n" % (__import__("zlib").crc32(b"[1,2]"), b"[1,2]"))  # valid checksum, not a dict
    append_records(path, [{"c": 2}])
    data = path.read_bytes()
    from benchgrid.store.storage._records import decode

    one_by_one = [r for r in (decode(line) for line in data.splitlines(keepends=True)) if r is not None]
    assert decode_lines(data) == one_by_one == [*({"a": i} for i in range(5)), {"b": 1}, {"c": 2}]


PARAM_KINDS = {
    "plain": [{"i": i, "lr": [0.1, 1, 2.5][i % 3], "name": f"n{i}é", "flag": i % 2 == 0} for i in range(25)],
    "list": [{"i": i, "xs": [i, i + 1]} for i in range(25)],
    "nested": [{"i": i, "opt": {"depth": i % 4}} for i in range(25)],
    "none": [{"i": i, "maybe": None if i % 5 == 0 else i} for i in range(25)],
    "missing": [{"i": i, **({"only_some": "y"} if i % 2 else {})} for i in range(25)],
    "mixed": [{"i": i, "v": "s" if i % 2 else i} for i in range(25)],
    "huge_int": [{"i": i, "big": 2**70 + i} for i in range(25)],
    "job_id_result": [{"i": i, "job_id_": i} for i in range(25)],
}
FAST = {"plain", "job_id_result"}  # where pyarrow parses the parameters; the others take the row path


def test_parameter_columns_from_pyarrow_give_the_row_path_table(tmp_path: Path) -> None:
    """Every kind of parameter: pyarrow's columns where they apply, the same table as the rows in all cases."""
    for kind, jobs in PARAM_KINDS.items():
        root = tmp_path / kind
        proj = bg.Project.create(root, jobs, "tests.runners.jobs:echo")
        proj.run(n_workers=0, progress=False, max_jobs=15)  # 15 done, 10 pending
        table = JobTable(Layout(root).jobs_dir)
        fast = table.param_columns(len(jobs))
        assert (fast is not None) == (kind in FAST), kind
        old, new = _both(root)
        pd.testing.assert_frame_equal(new, old[new.columns], obj=kind)
        assert list(new["value"].iloc[:15]) == [2 * i for i in range(15)]


def test_parameter_columns_ignore_rows_of_an_interrupted_add(tmp_path: Path) -> None:
    """Rows written past the committed count (an add killed before its commit) are not results."""
    root = tmp_path / "p"
    bg.Project.create(root, [{"i": i} for i in range(12)], "tests.runners.jobs:echo")
    part = Layout(root).jobs_dir / "part-00000.jsonl"
    with open(part, "a") as f:
        f.write('{"id":12,"key":"zz","params":{"i":12}}\n')  # complete but never committed
    table = JobTable(Layout(root).jobs_dir)
    fast = table.param_columns(12)
    assert fast is not None and fast[0].tolist() == list(range(12)) and fast[1]["i"].tolist() == list(range(12))
    with open(part, "a") as f:
        f.write('{"id":13,"key":"zz","par')  # torn: the row path reads it (and stops there)
    assert JobTable(Layout(root).jobs_dir).param_columns(12) is None
    old, new = _both(root)
    assert len(new) == 12
    pd.testing.assert_frame_equal(new, old[new.columns])
