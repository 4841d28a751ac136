"""The input of :func:`~._compare.compare`: a scores table checked, its direction, folds and SOAK rows.

Every rule here ends in an :class:`InputError` that names the parameter, the
rule, the value and the fix (DESIGN.md, invariant 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INCOMPLETE", "check_input", "direction", "fold_columns", "missing_text", "soak_rows"]

INCOMPLETE = ("drop", "common", "error")


def check_input(scores: Any, measure: str | None, alpha: Any, incomplete: Any) -> tuple[pd.DataFrame, str, str]:
    import pandas as pd

    from ._grid import param_name
    from ._pvalue import find_measure, measure_columns
    from ._soak import META_COLUMNS

    if not isinstance(scores, pd.DataFrame):
        raise InputError(f"scores must be a pandas DataFrame (e.g. proj.scores()), got {type(scores).__name__}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InputError(f"alpha must be a number between 0 and 1 (e.g. 0.05), got {alpha!r}")
    if incomplete not in INCOMPLETE:
        raise InputError(f"incomplete must be one of {INCOMPLETE!r}, got {incomplete!r}")
    # results() spells SOAK's columns with underscores, scores() with dots
    df = scores.rename(columns={param_name(c): c for c in META_COLUMNS
                                if param_name(c) in scores.columns and c not in scores.columns})
    learner_col = "learner_id" if "learner_id" in df.columns else "algorithm"
    missing = [c for c in ("task_id", learner_col) if c not in df.columns]
    if missing:
        raise InputError(f"scores must have columns task_id and learner_id (or algorithm), got no {missing!r}; "
                         f"columns are {list(df.columns)!r}")
    ids = df.drop(columns=[c for c in ("iteration", "seed", "groups", "test.fold", "job_id", "pid", "attempt",
                                       "n.train.groups") if c in df.columns])
    if measure is None:
        measure = find_measure(ids)
    elif measure not in df.columns:
        raise InputError(f"measure must be one of the scores' measures {measure_columns(ids)!r}, got {measure!r}; "
                         "pass one of them (benchgrid compare --measure NAME)")
    if df[measure].dtype.kind not in "fiu":
        raise InputError(f"measure must name a numeric column, got {measure!r} of dtype {df[measure].dtype}; "
                         f"the scores' measures are {measure_columns(ids)!r}")
    if len(df) == 0:
        raise InputError("scores must have at least one row, got an empty table; run the project first "
                         "(benchgrid run DIR)")
    value = df[measure].astype(float)
    done = value.notna() & (df["state"] == "done" if "state" in df.columns else True)
    if not done.any():
        states = df["state"].value_counts().to_dict() if "state" in df.columns else {}
        got = ", ".join(f"{n} {s}" for s, n in states.items()) or f"{len(df)} rows without a value"
        raise InputError(f"scores must have at least one done job with a {measure} value to compare, got none "
                         f"({got}); run the project (benchgrid run DIR) or wait for its jobs")
    return df.assign(_value=value), measure, learner_col


def direction(df: pd.DataFrame, measure: str, given: bool | None) -> bool:
    from ._measures import MEASURE_NAMES, greater_is_better

    if given is not None:
        if not isinstance(given, (bool, np.bool_)):
            raise InputError(f"greater_is_better must be True, False or None, got {given!r}")
        return bool(given)
    known = df.attrs.get("greater_is_better") or {}
    if measure in known:
        return bool(known[measure])
    if measure in MEASURE_NAMES:
        return greater_is_better(measure)
    raise InputError(
        f"greater_is_better must be given for measure {measure!r}, got None: it is not a named measure and the "
        "scores do not record its direction; pass greater_is_better=True if larger is better, else False"
    )


def soak_rows(df: pd.DataFrame, train_subsets: str, notes: list[str]) -> pd.DataFrame:
    if "train.subsets" not in df.columns or df["train.subsets"].isna().all():
        return df
    present = sorted(map(str, df["train.subsets"].dropna().unique()))
    if train_subsets not in present:
        raise InputError(f"train_subsets must be one of the scores' SOAK train subsets {present!r}, got {train_subsets!r}")
    keep = df["train.subsets"].isna() | (df["train.subsets"] == train_subsets)
    if {"groups", "n.train.groups"} <= set(df.columns):
        keep &= df["n.train.groups"].isna() | (df["n.train.groups"] == df["groups"])
    if len(present) > 1 or not keep.all():
        notes.append(f"SOAK rows: train subsets {train_subsets!r} at full size (each test subset and fold is a fold "
                     "here); pass train_subsets= (benchgrid compare --train-subsets) for another")
    return df[keep]


def fold_columns(df: pd.DataFrame) -> list[str]:
    if "iteration" in df.columns:
        return ["iteration"]
    if "test.fold" in df.columns:
        return [c for c in ("test.subset", "test.fold", "seed") if c in df.columns]
    raise InputError(f"scores must have a fold column, iteration or test.fold, to pair learners' folds; got columns "
                     f"{list(df.columns)!r}")


def missing_text(rows: pd.DataFrame, done: pd.Series, without_value: set[str]) -> str:
    """What a cell lacks: states of its rows that are not done, and folds with no row at all."""
    if not without_value:
        return ""
    parts: dict[str, int] = {}
    not_done = rows[~done[rows.index]]
    for _, r in not_done.iterrows():
        state = str(r["state"]) if "state" in rows.columns and r.get("state") != "done" else "no value"
        parts[state] = parts.get(state, 0) + 1
    no_row = len(without_value - set(rows["_fold"]))
    if no_row:
        parts["not in the scores"] = no_row  # a job dropped, or rows filtered out
    return ", ".join(f"{n} {s}" for s, n in parts.items())
