"""Fixtures of the ML layer's tests: small data, a project dir without the core."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def reg_df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 30
    x = rng.uniform(-2, 2, n)
    return pd.DataFrame({
        "x": x,
        "z": rng.normal(size=n),
        "y": x**2 + rng.normal(0, 0.5, n),
        "person": np.repeat(["Alice", "Bob", "Carol"], n // 3),
        "grp": np.arange(n) // 3,
        "fold": np.arange(n) % 3 + 1,
    })


@pytest.fixture
def clf_df(reg_df: pd.DataFrame) -> pd.DataFrame:
    df = reg_df.copy()
    df["label"] = np.where(df["y"] > df["y"].median(), "high", "low")
    return df


@pytest.fixture
def private_ok(monkeypatch):
    """Let the runner work on a bare inputs/ folder (no project.json for the core's check)."""
    import benchgrid.store as store

    monkeypatch.setattr(store, "check_trust_once", lambda project_dir: None)
    from benchgrid.ml import _runner

    _runner.clear_caches()
    yield
    _runner.clear_caches()


@pytest.fixture
def project_dir(tmp_path):
    """A directory with spaces and quotes in its path, as on real clusters."""
    p = tmp_path / "my 'proj' dir"
    p.mkdir()
    p.chmod(0o700)
    return p
