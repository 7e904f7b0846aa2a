"""Tests for teem.core.sizeof."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from teem.core.sizeof import FALLBACK_NBYTES, sizeof


def test_numpy_arrays_count_nbytes():
    assert sizeof(np.zeros(1000)) == 8000
    assert sizeof(np.zeros((10, 10), dtype=np.int32)) == 400
    x = np.arange(100.0)
    assert sizeof(x[::2]) == 400  # a view counts its own nbytes
    assert sizeof(np.asfortranarray(np.ones((5, 6)))) == 240


def test_broadcast_arrays_count_the_memory_they_span():
    x = np.broadcast_to(np.arange(10.0), (1_000_000, 10))
    assert sizeof(x) == 80


def test_object_arrays_count_their_elements():
    x = np.array(["x" * 1000 + str(i) for i in range(10_000)], dtype=object)
    expected = x.nbytes + sum(map(sys.getsizeof, x))
    assert 0.9 * expected < sizeof(x) < 1.1 * expected


def test_bytes_like_and_str():
    assert sizeof(b"x" * 10_000) >= 10_000
    assert sizeof(bytearray(10_000)) >= 10_000
    assert sizeof(memoryview(b"x" * 10_000)) == 10_000
    assert sizeof(memoryview(np.zeros(100))) == 800
    assert sizeof("x" * 10_000) >= 10_000


@pytest.mark.parametrize("container", [list, tuple, set, frozenset])
def test_containers_extrapolate_a_sample(container):
    items = container(b"%07d" % i * 100 for i in range(100_000))  # 700-byte items
    exact = sys.getsizeof(items) + sum(map(sys.getsizeof, items))
    assert 0.95 * exact < sizeof(items) < 1.05 * exact


def test_dicts_measure_keys_and_values():
    d = {f"key-{i}": np.zeros(100) for i in range(1000)}
    assert 800 * 1000 < sizeof(d) < 1.2 * 800 * 1000 + sys.getsizeof(d) + 100_000
    assert sizeof({}) == sys.getsizeof({})


def test_nested_containers_are_measured_recursively():
    nested = [[np.zeros(1000)] * 3] * 4
    assert sizeof(nested) >= 12 * 8000


def test_containers_are_measured_quickly():
    big = [str(i) for i in range(1_000_000)]
    start = time.perf_counter()
    sizeof(big)
    assert time.perf_counter() - start < 0.05


def test_self_referencing_containers_terminate():
    x = [1, 2]
    x.append(x)
    d = {}
    d["self"] = d
    assert sizeof(x) > 0
    assert sizeof(d) > 0


def test_shared_structure_is_bounded_in_time():
    x = [0]
    for _ in range(40):
        x = [x] * 10  # 10**40 paths, 40 distinct lists
    start = time.perf_counter()
    assert sizeof(x) > 0
    assert time.perf_counter() - start < 0.5


def test_register_and_subclass_dispatch():
    class Blob:
        def __init__(self, n):
            self.n = n

    class SubBlob(Blob):
        pass

    sizeof.register(Blob)(lambda b: b.n)
    assert sizeof(Blob(12345)) == 12345
    assert sizeof(SubBlob(7)) == 7


def test_never_raises():
    class BadSizeof:
        def __sizeof__(self):
            raise RuntimeError("no")

    class BadRegistered:
        pass

    @sizeof.register(BadRegistered)
    def _(obj):
        raise ValueError("broken measuring function")

    assert sizeof(BadSizeof()) == FALLBACK_NBYTES
    assert sizeof(BadRegistered()) == sys.getsizeof(BadRegistered())

    class Weird(list):
        def __len__(self):
            raise RuntimeError("len")

    assert sizeof(Weird([1, 2])) > 0


def test_results_are_ints():
    class FloatSize:
        pass

    sizeof.register(FloatSize)(lambda obj: 12.7)
    assert sizeof(FloatSize()) == 12 and isinstance(sizeof(FloatSize()), int)


def test_pandas_and_pyarrow_are_not_imported():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from teem.core.sizeof import sizeof
        sizeof(np.zeros(3)); sizeof([1, {"a": (2, 3)}]); sizeof("x")
        assert "pandas" not in sys.modules and "pyarrow" not in sys.modules, "imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------

pd = pytest.importorskip("pandas")


def within(estimate, exact, tolerance=0.15):
    return abs(estimate - exact) <= tolerance * exact + 2000


def test_numeric_dataframe_matches_memory_usage():
    df = pd.DataFrame({"a": np.arange(100_000), "b": np.ones(100_000), "c": np.zeros(100_000, "i1")})
    assert within(sizeof(df), df.memory_usage(deep=True).sum(), 0.01)


def test_object_and_string_columns_are_sampled():
    n = 200_000
    df = pd.DataFrame({
        "o": pd.Series([f"value-{i:08d}" for i in range(n)], dtype=object),
        "s": pd.Series([f"{i:020d}" for i in range(n)], dtype="string[python]"),
        "x": np.arange(n),
    })
    exact = df.memory_usage(deep=True).sum()
    start = time.perf_counter()
    estimate = sizeof(df)
    elapsed = time.perf_counter() - start
    assert within(estimate, exact)
    assert elapsed < 0.1  # memory_usage(deep=True) takes far longer
    assert within(sizeof(df["o"]), df["o"].memory_usage(deep=True))


def test_repeated_objects_are_not_extrapolated():
    words = ["alpha" * 20, "beta" * 20, "gamma" * 20]
    column = pd.Series([words[i % 3] for i in range(300_000)], dtype=object)
    estimate = sizeof(column)
    pointers = column.memory_usage(index=False, deep=False)
    assert pointers < estimate < pointers + 100_000


def test_categorical_and_index_types():
    n = 100_000
    df = pd.DataFrame({"c": pd.Categorical([f"cat-{i % 10}" for i in range(n)]), "v": np.ones(n)})
    assert within(sizeof(df), df.memory_usage(deep=True).sum())
    idx = pd.Index([f"label-{i}" for i in range(n)])
    assert within(sizeof(idx), idx.memory_usage(deep=True))
    multi = pd.MultiIndex.from_arrays([np.arange(n), [f"k{i}" for i in range(n)]])
    assert sizeof(multi) > 16 * n
    assert sizeof(pd.RangeIndex(10**9)) < 1000
    assert sizeof(pd.DataFrame()) > 0


def test_pyarrow_tables():
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"a": np.arange(100_000)})
    assert 800_000 <= sizeof(table) < 900_000
