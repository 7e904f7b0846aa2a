"""Fixtures for teem.dataframe tests: a small mixed-dtype pandas frame and the schedulers."""

import numpy as np
import pandas as pd
import pytest

SCHEDULERS = ["sync", "threads", "processes"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture
def pdf():
    rng = np.random.default_rng(0)
    n = 100
    x = rng.normal(size=n)
    x[::7] = np.nan
    return pd.DataFrame({
        "i": rng.integers(0, 10, n),
        "x": x,
        "s": rng.choice(["a", "b", "c", None], n),
        "k": rng.choice(["p", "q"], n),
        "t": pd.date_range("2020-01-01", periods=n, freq="h"),
    }, index=pd.RangeIndex(n))
