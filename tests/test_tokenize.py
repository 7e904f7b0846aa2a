"""Tests for teem.core.tokenize."""

import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import json
import operator
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import types
import uuid
from collections import namedtuple

import numpy as np
import pytest

from teem.core.tokenize import normalize_token, tokenize


def is_token(token):
    return isinstance(token, str) and len(token) == 32 and set(token) <= set("0123456789abcdef")


def all_distinct(*values):
    tokens = [tokenize(v) for v in values]
    return len(set(tokens)) == len(tokens)


# ---------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------


def test_token_is_32_hex_characters():
    assert is_token(tokenize())
    assert is_token(tokenize(1, "a", [2.5], x=None))


@pytest.mark.parametrize(
    "make",
    [
        lambda: 1,
        lambda: "hello",
        lambda: [1, 2.5, "x", None, True, b"raw", 3j],
        lambda: {"a": [1, {2, 3}], "b": (4, frozenset({5}))},
        lambda: {1: "a", "1": "b", (1, 2): "c", None: "d"},
        lambda: range(2, 10, 3),
        lambda: slice(1, None, 2),
        lambda: Ellipsis,
        lambda: bytearray(b"abc"),
        lambda: b"x" * 5000,
    ],
)
def test_equal_values_give_equal_tokens(make):
    assert tokenize(make()) == tokenize(make())


def test_type_is_part_of_the_token():
    assert all_distinct(1, 1.0, "1", True, b"1", 1j, [1], (1,), {1}, frozenset({1}), None, "None")
    assert all_distinct(0, False, 0.0, -0.0, "", b"", (), [], {}, set(), bytearray())
    assert all_distinct(b"abc", bytearray(b"abc"), memoryview(b"abc"))
    assert all_distinct(range(3), (0, 1, 2), [0, 1, 2], slice(0, 3))


def test_different_values_give_different_tokens():
    assert all_distinct("a", "b", "ab", ("a", "b"), ("ab",), ("b", "a"))
    assert all_distinct([1, [2, 3]], [1, [2, 4]], [[1, 2], 3], [1, 2, 3])
    assert all_distinct(b"x" * 5000, b"x" * 4999 + b"y", b"x" * 5001)
    assert tokenize(1, 2) != tokenize((1, 2)) != tokenize(2, 1)


def test_floats():
    assert tokenize(float("nan")) == tokenize(float("nan"))
    assert all_distinct(0.0, -0.0, float("inf"), float("-inf"), float("nan"))
    assert tokenize(0.1 + 0.2) != tokenize(0.3)


def test_kwargs_are_order_independent():
    assert tokenize(1, a=1, b=2) == tokenize(1, b=2, a=1)
    assert tokenize(a=1) != tokenize(b=1)
    assert tokenize(a=1) != tokenize({"a": 1})
    assert tokenize(1, a=2) != tokenize(1, 2)


def test_dict_and_set_order_independence():
    keys = [f"key-{i}" for i in range(50)]
    forward = {k: i for i, k in enumerate(keys)}
    backward = {k: forward[k] for k in reversed(keys)}
    assert list(forward) != list(backward)
    assert tokenize(forward) == tokenize(backward)
    assert tokenize(set(keys)) == tokenize(set(reversed(keys)))
    mixed = [1, "1", 2.5, (1, "a"), None, b"b", frozenset({3})]
    assert tokenize(set(mixed)) == tokenize(set(reversed(mixed)))
    assert tokenize(dict.fromkeys(mixed, 0)) == tokenize(dict.fromkeys(reversed(mixed), 0))
    assert tokenize({"a": 1, "b": 2}) != tokenize({"a": 2, "b": 1})
    assert tokenize({"a": 1}) != tokenize({("a", 1)})


def test_ordered_and_default_dicts():
    from collections import OrderedDict, defaultdict

    assert tokenize(OrderedDict(a=1, b=2)) == tokenize(OrderedDict(a=1, b=2))
    assert all_distinct(OrderedDict(a=1, b=2), OrderedDict(b=2, a=1), {"a": 1, "b": 2})
    assert tokenize(defaultdict(list, a=[1])) == tokenize(defaultdict(list, a=[1]))
    assert all_distinct(defaultdict(list, a=[1]), defaultdict(tuple, a=[1]), {"a": [1]})


def test_subclasses_of_builtins_are_distinguished():
    class Name(str):
        pass

    Pair = namedtuple("Pair", "x y")
    assert tokenize(Name("a")) == tokenize(Name("a"))
    assert all_distinct(Name("a"), "a")
    assert all_distinct(Pair(1, 2), (1, 2))


def test_enum_members():
    class Color(enum.Enum):
        RED = 1
        BLUE = 2

    class Level(enum.IntEnum):
        LOW = 1

    class Mode(str, enum.Enum):
        READ = "r"

    assert tokenize(Color.RED) == tokenize(Color(1))
    assert all_distinct(Color.RED, Color.BLUE, Level.LOW, 1, Mode.READ, "r")


def test_standard_library_value_types():
    utc = datetime.timezone.utc
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    assert tokenize(datetime.datetime(2020, 1, 2, 3, tzinfo=utc)) == tokenize(
        datetime.datetime(2020, 1, 2, 3, tzinfo=utc)
    )
    assert all_distinct(
        datetime.datetime(2020, 1, 2),
        datetime.datetime(2020, 1, 2, tzinfo=utc),
        datetime.datetime(2020, 1, 2, tzinfo=plus_one),
        datetime.date(2020, 1, 2),
        datetime.time(3),
        datetime.timedelta(days=1),
        datetime.timedelta(seconds=1),
    )
    assert tokenize(decimal.Decimal("1.5")) == tokenize(decimal.Decimal("1.5"))
    assert all_distinct(decimal.Decimal("1.5"), decimal.Decimal("2.5"), 1.5, "1.5")
    assert all_distinct(fractions.Fraction(1, 3), fractions.Fraction(2, 3), 1 / 3)
    assert tokenize(pathlib.Path("/a/b")) == tokenize(pathlib.Path("/a") / "b")
    assert all_distinct(pathlib.Path("/a/b"), pathlib.PurePosixPath("/a/b"), "/a/b", pathlib.Path("/a"))
    u = uuid.UUID(int=12345)
    assert tokenize(u) == tokenize(uuid.UUID(str(u)))
    assert all_distinct(u, uuid.UUID(int=12346), 12345)


def test_types_and_modules():
    assert tokenize(int) == tokenize(int)
    assert all_distinct(int, float, str, json, operator, "int")

    class Local:
        pass

    assert tokenize(Local) == tokenize(Local)
    assert tokenize(Local) != tokenize(int)


# ---------------------------------------------------------------------------
# Callables
# ---------------------------------------------------------------------------


def module_level(x):
    return x + 1


def other_module_level(x):
    return x + 1


def test_importable_functions_by_name():
    assert tokenize(module_level) == tokenize(module_level)
    assert all_distinct(module_level, other_module_level, json.dumps, json.loads)
    assert tokenize(module_level, 1) != tokenize(module_level, 2)


def test_builtins_and_operator_functions():
    assert tokenize(len) == tokenize(len)
    assert all_distinct(len, sum, operator.add, operator.mul, max)
    assert all_distinct(str.upper, str.lower, bytes.upper, "a".upper, "b".upper, (1).__add__)
    assert tokenize("a".upper) == tokenize("a".upper)
    assert tokenize(dict.fromkeys) == tokenize(dict.fromkeys)
    assert tokenize(operator.itemgetter(1)) == tokenize(operator.itemgetter(1))
    assert all_distinct(
        operator.itemgetter(1),
        operator.itemgetter(2),
        operator.attrgetter("a"),
        operator.methodcaller("f", 1),
        operator.methodcaller("f", 2),
        operator.methodcaller("f", k=1),
    )


def test_partials():
    assert tokenize(functools.partial(module_level, 1)) == tokenize(functools.partial(module_level, 1))
    assert all_distinct(
        functools.partial(module_level, 1),
        functools.partial(module_level, 2),
        functools.partial(other_module_level, 1),
        functools.partial(module_level, x=1),
        module_level,
    )
    assert tokenize(functools.partial(max, a=1, b=2)) == tokenize(functools.partial(max, b=2, a=1))


class Counter:
    def __init__(self, start):
        self.start = start

    def step(self, x):
        return self.start + x


def test_bound_methods():
    assert tokenize(Counter(1).step) == tokenize(Counter(1).step)
    assert all_distinct(Counter(1).step, Counter(2).step, Counter.step)


def test_lambdas():
    f = lambda x: x + 1  # noqa: E731
    g = lambda x: x + 1  # noqa: E731
    h = lambda x: x + 2  # noqa: E731
    assert tokenize(f) == tokenize(f)
    assert tokenize(f) == tokenize(g)  # same code, same behaviour
    assert tokenize(f) != tokenize(h)
    assert all_distinct(lambda x, y=1: x, lambda x, y=2: x, lambda x, *, y=1: x, lambda y: y)


def test_closures_with_different_cell_values_differ():
    def make(n):
        def add(x):
            return x + n

        return add

    assert tokenize(make(1)) == tokenize(make(1))
    assert tokenize(make(1)) != tokenize(make(2))
    assert tokenize(make({"a", "b"})) == tokenize(make({"b", "a"}))


def test_dynamic_function_depends_on_the_globals_it_uses():
    namespace = {"OFFSET": 1}
    exec("def shifted(x):\n    return x + OFFSET\n", namespace)
    before = tokenize(namespace["shifted"])
    assert tokenize(namespace["shifted"]) == before
    namespace["OFFSET"] = 2
    assert tokenize(namespace["shifted"]) != before


def test_recursive_local_function():
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert tokenize(fact) == tokenize(fact)


def test_decorated_function_sharing_a_name_is_not_tokenized_by_name():
    def make(n):
        @functools.wraps(module_level)
        def wrapper(x):
            return x + n

        return wrapper

    # Both claim to be tests.test_tokenize.module_level but are not it.
    assert all_distinct(make(1), make(2), module_level)


# ---------------------------------------------------------------------------
# Objects, hooks, cycles, the registry
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: object = None


@dataclasses.dataclass
class OtherPoint:
    x: int
    y: object = None


def test_dataclasses():
    assert tokenize(Point(1, {"a", "b"})) == tokenize(Point(1, {"b", "a"}))
    assert all_distinct(Point(1), Point(2), OtherPoint(1), Point(1, 2))


def test_self_referencing_structures():
    a = [1]
    a.append(a)
    b = [1]
    b.append(b)
    assert is_token(tokenize(a))
    assert tokenize(a) == tokenize(b)
    c = [2]
    c.append(c)
    assert tokenize(a) != tokenize(c)

    d = {"k": 1}
    d["self"] = d
    assert is_token(tokenize(d))

    x, y = [1], [2]
    x.append(y)
    y.append(x)
    assert tokenize(x) != tokenize(y)

    p = Point(1)
    p.y = p
    assert is_token(tokenize(p))


def test_shared_references_are_not_cycles():
    inner = [1, 2]
    assert tokenize([inner, inner]) == tokenize([[1, 2], [1, 2]])


def test_unpicklable_object_gets_a_random_token():
    lock = threading.Lock()
    first = tokenize(lock)
    assert is_token(first)
    assert tokenize(lock) != first  # documented: unique, not reproducible
    assert is_token(tokenize([1, lock], key=lock))


class Plain:
    def __init__(self, value):
        self.value = value


def test_picklable_unknown_objects():
    assert tokenize(Plain(1)) == tokenize(Plain(1))
    assert tokenize(Plain(1)) != tokenize(Plain(2))


def test_teem_tokenize_hook():
    calls = []

    class Hooked:
        def __init__(self, key):
            self.key = key
            self.cache = threading.Lock()  # would make pickling impossible

        def __teem_tokenize__(self):
            calls.append(self.key)
            return ("Hooked", self.key)

    assert tokenize(Hooked(1)) == tokenize(Hooked(1))
    assert tokenize(Hooked(1)) != tokenize(Hooked(2))
    assert calls


def test_dask_tokenize_hook_is_honoured():
    class DaskStyle:
        def __dask_tokenize__(self):
            return "fixed"

    assert tokenize(DaskStyle()) == tokenize(DaskStyle())


def test_hook_returning_self_does_not_recurse():
    class Selfish:
        def __teem_tokenize__(self):
            return self

    assert is_token(tokenize(Selfish()))


def test_registry_extension():
    class Celsius:
        def __init__(self, degrees):
            self.degrees = degrees
            self.lock = threading.Lock()

    class Precise(Celsius):
        pass

    @normalize_token.register(Celsius)
    def _(obj):
        return ("Celsius", normalize_token(obj.degrees))

    assert tokenize(Celsius(20)) == tokenize(Celsius(20))
    assert tokenize(Celsius(20)) != tokenize(Celsius(21))
    assert tokenize(Precise(20)) == tokenize(Celsius(20))  # found through the MRO
    assert normalize_token.dispatch(Precise) is _

    class Kelvin(Celsius):
        pass

    @normalize_token.register((Precise, Kelvin))
    def precise(obj):
        return (type(obj).__name__, obj.degrees)

    assert tokenize(Precise(20)) != tokenize(Celsius(20))
    assert tokenize(Kelvin(20)) == tokenize(Kelvin(20))
    assert all_distinct(Celsius(20), Precise(20), Kelvin(20))


def test_register_lazy_runs_on_first_object_from_the_module():
    module = types.ModuleType("teem_test_lazy_module")
    Thing = type("Thing", (), {"__module__": "teem_test_lazy_module.sub"})
    module.Thing = Thing
    ran = []

    @normalize_token.register_lazy("teem_test_lazy_module")
    def register():
        ran.append(True)
        normalize_token.register(Thing, lambda t: ("Thing",))

    tokenize(1, [2], "three")
    assert not ran
    assert tokenize(Thing()) == tokenize(Thing())
    assert ran == [True]
    tokenize(Thing())
    assert ran == [True]


def test_normalize_token_output_is_primitive():
    def check(form):
        if isinstance(form, tuple):
            for part in form:
                check(part)
        else:
            assert type(form) in (type(None), bool, int, float, complex, str, bytes)

    check(normalize_token({"a": [1, {2}], "b": (Point(1), np.arange(3), module_level)}))


def test_deep_nesting_does_not_raise():
    nested = []
    for _ in range(100_000):
        nested = [nested]
    assert is_token(tokenize(nested))


def test_thread_safety():
    value = {"a": [1, 2, {3, 4}], "b": np.arange(10)}
    expected = tokenize(value)
    results = []

    def work():
        results.extend(tokenize(value) for _ in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {expected}


# ---------------------------------------------------------------------------
# numpy
# ---------------------------------------------------------------------------


def test_numpy_arrays_equal_values():
    assert tokenize(np.arange(10)) == tokenize(np.arange(10))
    assert tokenize(np.arange(10.0)) != tokenize(np.arange(1, 11.0))


def test_numpy_dtype_and_shape_are_part_of_the_token():
    # All of these are 16 zero bytes.
    assert all_distinct(
        np.zeros(4, "i4"), np.zeros(4, "f4"), np.zeros(4, "u4"), np.zeros(2, "i8"),
        np.zeros((2, 2), "i4"), np.zeros(4, ">i4"), np.zeros(16, "u1"), np.zeros(4, "M8[s]"),
    )


def test_numpy_memory_order_is_recorded():
    c = np.arange(6.0).reshape(2, 3)
    f = np.asfortranarray(c)
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    # Same values in a different layout: order is recorded, so tokens differ.
    assert tokenize(c) != tokenize(f)
    # Same bytes in memory, different values: must differ.
    same_bytes = np.frombuffer(f.tobytes(order="F"), dtype=f.dtype).reshape(2, 3)
    assert same_bytes.flags.c_contiguous and not np.array_equal(same_bytes, f)
    assert tokenize(same_bytes) != tokenize(f)


def test_numpy_non_contiguous_views():
    base = np.arange(100.0).reshape(10, 10)
    view = base[::2, 1::3]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous
    assert tokenize(view) == tokenize(view.copy())
    assert tokenize(view) != tokenize(base[::2, ::3])
    assert tokenize(base[:, 0]) != tokenize(base[:, 1])
    assert tokenize(base[:5]) == tokenize(base[:5].copy())
    assert tokenize(np.broadcast_to(np.arange(3), (4, 3))) == tokenize(np.tile(np.arange(3), (4, 1)))


def test_numpy_special_arrays():
    assert tokenize(np.array(5)) != tokenize(np.array([5]))
    assert tokenize(np.array([])) != tokenize(np.array([], dtype="i8"))
    dates = np.array(["2020-01-01", "2020-01-02"], dtype="M8[D]")
    assert tokenize(dates) == tokenize(dates.copy())
    assert tokenize(dates) != tokenize(dates.astype("M8[s]"))
    structured = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])
    other = np.zeros(3, dtype=[("a", "i4"), ("c", "f8")])
    assert tokenize(structured) != tokenize(other)
    assert tokenize(np.array(["ab", "c"])) != tokenize(np.array(["a", "bc"]))


def test_numpy_object_arrays():
    strings = np.array(["a", "bb", "ccc"], dtype=object)
    assert tokenize(strings) == tokenize(np.array(["a", "bb", "ccc"], dtype=object))
    assert all_distinct(
        strings,
        np.array(["ab", "b", "ccc"], dtype=object),
        np.array(["a", "bb", "cc\0c"], dtype=object),
        np.array(["a\0", "bb", "ccc"], dtype=object),
        np.array(["a", "\0bb", "ccc"], dtype=object),
        np.array(["a", "bb", "ccc"]),
    )
    mixed = np.array([1, "1", None, {"x"}], dtype=object)
    assert tokenize(mixed) == tokenize(np.array([1, "1", None, {"x"}], dtype=object))
    assert tokenize(mixed) != tokenize(np.array([1, 1, None, {"x"}], dtype=object))
    holder = np.empty(1, dtype=object)
    holder[0] = holder
    assert is_token(tokenize(holder))


def test_numpy_memmap_hashes_like_an_array(tmp_path):
    data = np.arange(1000, dtype="f8")
    path = tmp_path / "data.bin"
    data.tofile(path)
    mapped = np.memmap(path, dtype="f8", mode="r", shape=(1000,))
    assert tokenize(mapped) == tokenize(data)
    assert tokenize(mapped[::3]) == tokenize(data[::3])


def test_numpy_scalars_and_dtypes():
    assert tokenize(np.float64(1)) == tokenize(np.float64(1))
    assert all_distinct(np.float64(1), np.float32(1), np.int64(1), np.bool_(True), 1.0, 1, True)
    assert all_distinct(np.str_("a"), "a", np.bytes_(b"a"), b"a")
    assert tokenize(np.datetime64("2020-01-01")) != tokenize(np.datetime64("2020-01-02"))
    assert tokenize(np.dtype("f8")) == tokenize(np.dtype(float))
    assert all_distinct(np.dtype("f8"), np.dtype("f4"), np.dtype(">f8"), np.dtype("O"), "f8")


def test_numpy_random_state():
    assert tokenize(np.random.default_rng(0)) == tokenize(np.random.default_rng(0))
    assert tokenize(np.random.default_rng(0)) != tokenize(np.random.default_rng(1))
    rng = np.random.default_rng(0)
    before = tokenize(rng)
    rng.random()
    assert tokenize(rng) != before
    assert tokenize(np.random.PCG64(3)) == tokenize(np.random.PCG64(3))
    assert tokenize(np.random.PCG64(3)) != tokenize(np.random.MT19937(3))
    assert tokenize(np.random.SeedSequence(5)) == tokenize(np.random.SeedSequence(5))
    assert tokenize(np.random.SeedSequence(5)) != tokenize(np.random.SeedSequence(6))
    assert tokenize(np.random.RandomState(2)) == tokenize(np.random.RandomState(2))
    assert tokenize(np.random.RandomState(2)) != tokenize(np.random.RandomState(3))


def test_numpy_masked_arrays():
    a = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    assert tokenize(a) == tokenize(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]))
    assert all_distinct(a, np.ma.masked_array([1, 2, 3], mask=[0, 0, 0]), np.array([1, 2, 3]))


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------


@pytest.fixture
def pd():
    return pytest.importorskip("pandas")


def make_frame(pd):
    return pd.DataFrame(
        {
            "f": np.arange(5.0),
            "i": np.arange(5),
            "s": pd.array(["a", "b", None, "d", "e"], dtype="string"),
            "o": pd.Series(["x", 1, None, 2.5, "y"], dtype=object),
            "t": pd.date_range("2020", periods=5, tz="UTC"),
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "c": pd.Categorical(["u", "v", "u", "v", "u"]),
        },
        index=pd.Index(list("abcde"), name="key"),
    )


def test_pandas_dataframe(pd):
    df = make_frame(pd)
    assert tokenize(df) == tokenize(make_frame(pd))
    assert tokenize(df) == tokenize(df.copy())
    changed = df.copy()
    changed.loc["c", "f"] = 100.0
    renamed = df.rename(columns={"f": "g"})
    reindexed = df.set_axis(list("vwxyz"))
    assert all_distinct(df, changed, renamed, reindexed, df[["i", "f"]], df.iloc[:4])


def test_pandas_series_and_index(pd):
    s = pd.Series([1.0, 2.0], index=[10, 20], name="x")
    assert tokenize(s) == tokenize(pd.Series([1.0, 2.0], index=[10, 20], name="x"))
    assert all_distinct(
        s,
        s.rename("y"),
        pd.Series([1.0, 2.0], index=[10, 21], name="x"),
        pd.Series([1, 2], index=[10, 20], name="x"),
        np.array([1.0, 2.0]),
    )
    assert tokenize(pd.Index([1, 2])) == tokenize(pd.Index([1, 2]))
    assert all_distinct(
        pd.Index([1, 2]),
        pd.Index([1, 2], name="n"),
        pd.Index([1.0, 2.0]),
        pd.Index(["1", "2"]),
        pd.RangeIndex(1, 3),
        pd.RangeIndex(3),
        pd.RangeIndex(0, 6, 2),
    )
    multi = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["l", "n"])
    assert tokenize(multi) == tokenize(pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["l", "n"]))
    assert all_distinct(multi, multi.set_names(["l", "m"]), pd.MultiIndex.from_product([["a", "b"], [1, 3]]))


def test_pandas_extension_arrays(pd):
    assert tokenize(pd.Categorical(["a", "b"])) == tokenize(pd.Categorical(["a", "b"]))
    assert all_distinct(
        pd.Categorical(["a", "b"]),
        pd.Categorical(["a", "b"], ordered=True),
        pd.Categorical(["a", "b"], categories=["b", "a"]),
        pd.Categorical(["a", "a"], categories=["a", "b"]),
    )
    # Values hidden under the NA mask do not matter.
    masked = pd.array([1, 2, 3], dtype="Int64")
    masked[1] = pd.NA
    assert tokenize(pd.Series(masked)) == tokenize(pd.Series([1, None, 3], dtype="Int64"))
    assert tokenize(pd.Series([1, None, 3], dtype="Int64")) != tokenize(pd.Series([1, 0, 3], dtype="Int64"))
    strings = pd.Series(["a", None, "c"], dtype="string")
    assert tokenize(strings) == tokenize(pd.Series(["a", None, "c"], dtype="string"))
    assert all_distinct(strings, pd.Series(["a", "", "c"], dtype="string"), pd.Series(["a", "b", "c"], dtype="string"))
    intervals = pd.Series(pd.interval_range(0, 3))
    assert tokenize(intervals) == tokenize(pd.Series(pd.interval_range(0, 3)))
    assert tokenize(intervals) != tokenize(pd.Series(pd.interval_range(1, 4)))


def test_pandas_scalars_and_dtypes(pd):
    ts = pd.Timestamp("2020-01-01 12:00")
    assert tokenize(ts) == tokenize(pd.Timestamp("2020-01-01 12:00"))
    assert all_distinct(
        ts,
        pd.Timestamp("2020-01-01 12:00", tz="UTC"),
        pd.Timestamp("2020-01-01 12:00:00.000000001"),
        datetime.datetime(2020, 1, 1, 12),
        pd.NaT,
        pd.Timedelta(1, "s"),
        pd.Period("2020-01", freq="M"),
    )
    assert all_distinct(
        pd.CategoricalDtype(["a", "b"]), pd.CategoricalDtype(["a", "c"]), pd.Int64Dtype(), pd.StringDtype()
    )


# ---------------------------------------------------------------------------
# Process boundaries
# ---------------------------------------------------------------------------

CROSS_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from teem.core.tokenize import tokenize

    def script_function(x, options={"b", "a"}):
        return sorted(options) + [x]

    offset = 3
    shift = lambda x: x + offset

    values = {
        "dict": {f"key-{i}": f"value-{i}" for i in range(100)},
        "set": {f"member-{i}" for i in range(100)},
        "array": np.arange(1000).reshape(10, 100)[:, ::3],
        "lambda": shift,
        "function": script_function,
        "everything": ({"x": {"p", "q"}}, shift, script_function, np.ones(3)),
    }
    print(json.dumps({name: tokenize(value) for name, value in values.items()}))
    """
)


def run_isolated(code, hash_seed):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return result.stdout


def test_tokens_are_deterministic_across_processes():
    first = json.loads(run_isolated(CROSS_PROCESS_SCRIPT, 1))
    second = json.loads(run_isolated(CROSS_PROCESS_SCRIPT, 2))
    assert first == second
    assert len(set(first.values())) == len(first)
    assert all(is_token(token) for token in first.values())


def test_import_does_not_import_pandas_or_numpy():
    code = "import sys, teem.core.tokenize; print(sorted({'pandas', 'numpy', 'cloudpickle'} & set(sys.modules)))"
    assert run_isolated(code, 0).strip() == "[]"
