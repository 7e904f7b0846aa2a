"""teem.delayed: building lazy calls, keys, dependencies, and compute/persist on them."""

import operator
import pickle
import threading

import cloudpickle
import pytest

import teem as dask
from teem import Delayed, delayed
from teem.core.task import DataNode, Task


def inc(x):
    return x + 1


def add(x, y):
    return x + y


# --- wrapping calls ---------------------------------------------------------------------------


def test_wrapping_a_call_is_lazy_until_compute():
    calls = []

    def record(x):
        calls.append(x)
        return x * 10

    d = delayed(record)(4)
    assert isinstance(d, Delayed)
    assert calls == []
    assert d.compute() == 40
    assert calls == [4]


def test_decorator_without_arguments():
    @dask.delayed
    def double(x):
        return 2 * x

    assert isinstance(double(3), Delayed)
    assert double(3).compute() == 6
    assert double.__wrapped__(3) == 6  # the plain function is still reachable


def test_decorator_with_pure_true_shares_keys():
    @dask.delayed(pure=True)
    def mul(x, y):
        return x * y

    assert mul(2, 3).key == mul(2, 3).key
    assert mul(2, 3).key != mul(3, 2).key
    assert mul(2, 3).compute() == 6


def test_decorator_on_a_method_binds_the_instance():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @delayed
        def scale(self, x):
            return self.k * x

    assert Scaler(3).scale(delayed(inc)(1)).compute() == 6


def test_chained_calls_build_dependencies():
    x = delayed(inc)(1)
    y = delayed(inc)(2)
    z = delayed(add)(x, y)
    assert z.compute() == 5
    task = z.dask[z.key]
    assert set(task.dependencies) == {x.key, y.key}


def test_delayed_of_data():
    d = delayed([1, 2, 3])
    assert d.compute() == [1, 2, 3]
    assert isinstance(d.dask[d.key], DataNode)
    assert delayed(sum)(d).compute() == 6


def test_delayed_of_delayed_is_the_same_object():
    d = delayed(inc)(1)
    assert delayed(d) is d


def test_calling_a_delayed_value_applies_it():
    f = delayed(inc, pure=True)
    assert f.key == delayed(inc, pure=True).key  # the function itself has a key
    assert delayed(lambda: inc)()(5).compute() == 6  # a Delayed that computes to a function


# --- attributes, methods, indexing ------------------------------------------------------------


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self, scale=1):
        return scale * (abs(self.x) + abs(self.y))


def test_attribute_access():
    p = delayed(Point)(3, -4)
    assert p.x.compute() == 3
    assert p.y.compute() == -4


def test_method_calls():
    p = delayed(Point)(3, -4)
    assert p.norm1().compute() == 7
    assert p.norm1(scale=2).compute() == 14
    assert delayed("teem").upper().compute() == "TEEM"
    assert delayed([1, 2, 2, 3]).count(2).compute() == 2


def test_private_attributes_are_not_lazy():
    p = delayed(Point)(1, 2)
    with pytest.raises(AttributeError):
        p._hidden


def test_indexing():
    d = delayed({"a": [10, 20, 30]})
    assert d["a"].compute() == [10, 20, 30]
    assert d["a"][1].compute() == 20
    assert delayed(list)(range(10))[2:5].compute() == [2, 3, 4]
    i = delayed(inc)(0)
    assert delayed([5, 6, 7])[i].compute() == 6  # the index itself lazy


def test_setitem_is_refused():
    d = delayed([1, 2])
    with pytest.raises(TypeError, match="immutable"):
        d[0] = 5


# --- operators --------------------------------------------------------------------------------

BINARY = [
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
    operator.mod, operator.pow, operator.and_, operator.or_, operator.xor,
    operator.lshift, operator.rshift, divmod,
    operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge,
]


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
def test_binary_operators(op):
    a, b = 13, 3
    da, db = delayed(a), delayed(b)
    assert isinstance(op(da, db), Delayed)
    assert op(da, db).compute() == op(a, b)
    assert op(da, b).compute() == op(a, b)
    assert op(a, db).compute() == op(a, b)  # reflected: int.__op__ gives NotImplemented


def test_reflected_addition_literally():
    d = delayed(inc)(1)
    r = 1 + d
    assert isinstance(r, Delayed)
    assert r.compute() == 3
    assert (10 - d).compute() == 8
    assert (2 ** d).compute() == 4


def test_matmul():
    np = pytest.importorskip("numpy")
    m = np.arange(4).reshape(2, 2)
    assert (delayed(m) @ delayed(m)).compute().tolist() == (m @ m).tolist()
    assert (delayed(m) @ m).compute().tolist() == (m @ m).tolist()

    class Mat:
        def __init__(self, v):
            self.v = v

    class Vec:  # knows Mat, not Delayed: Python falls back to Delayed.__rmatmul__
        def __matmul__(self, other):
            return f"vec@{other.v}" if isinstance(other, Mat) else NotImplemented

    lazy = Vec() @ delayed(Mat(1))
    assert isinstance(lazy, Delayed)
    assert lazy.compute() == "vec@1"


@pytest.mark.parametrize("op", [operator.neg, operator.pos, operator.abs, operator.invert],
                         ids=lambda op: op.__name__)
def test_unary_operators(op):
    for value in (5, -7):
        assert op(delayed(value)).compute() == op(value)


def test_operator_results_share_keys():
    """Operators are pure: the same expression built twice is one task."""
    d = delayed(inc)(1)
    assert (d + 1).key == (d + 1).key
    assert (d + 1).key != (d + 2).key


def test_delayed_is_hashable_and_usable_in_sets():
    d = delayed(inc)(1)
    assert hash(d) == hash(d.key)
    assert len({d, d}) == 1


def test_bool_raises_type_error():
    d = delayed(inc)(1)
    with pytest.raises(TypeError, match="truth value"):
        bool(d)
    with pytest.raises(TypeError):
        if d:
            pass


# --- nout and iteration -----------------------------------------------------------------------


def test_iteration_with_nout():
    q, r = delayed(divmod, nout=2)(17, 5)
    assert (q.compute(), r.compute()) == (3, 2)
    d = delayed(divmod, nout=2)(17, 5)
    assert len(d) == 2
    assert [x.compute() for x in d] == [3, 2]


def test_nout_as_decorator_argument():
    @delayed(nout=3)
    def three(x):
        return x, x + 1, x + 2

    a, b, c = three(1)
    assert dask.compute(a, b, c) == (1, 2, 3)


def test_iteration_without_nout_raises_type_error():
    d = delayed(divmod)(17, 5)
    with pytest.raises(TypeError, match="nout"):
        a, b = d
    with pytest.raises(TypeError, match="nout"):
        len(d)


# --- keys and names ---------------------------------------------------------------------------


def test_pure_true_gives_equal_keys_for_equal_calls():
    a = delayed(add, pure=True)(1, 2)
    b = delayed(add, pure=True)(1, 2)
    c = delayed(add, pure=True)(1, 3)
    assert a.key == b.key
    assert a.key != c.key
    assert a.key.startswith("add-")


def test_pure_false_is_the_default_and_gives_distinct_keys():
    keys = {delayed(add)(1, 2).key for _ in range(100)}
    assert len(keys) == 100
    keys = {delayed(add, pure=False)(1, 2).key for _ in range(10)}
    assert len(keys) == 10


def test_pure_keyword_at_call_time():
    assert delayed(add)(1, 2, pure=True).key == delayed(add)(1, 2, pure=True).key


def test_pure_call_runs_once_in_one_compute():
    calls = []

    def record(x):
        calls.append(x)
        return x

    f = delayed(record, pure=True)
    total = delayed(add)(f(1), f(1))
    assert total.compute(scheduler="sync") == 2
    assert calls == [1]


def test_dask_key_name():
    d = delayed(add)(1, 2, dask_key_name="my-sum")
    assert d.key == "my-sum"
    assert d.compute() == 3
    assert "dask_key_name" not in str(d.dask["my-sum"].kwargs)


def test_name_of_data():
    d = delayed(41, name="answer")
    assert d.key == "answer"
    assert (d + 1).compute() == 42


def test_name_of_function_keys_the_function_not_its_calls():
    f = delayed(add, name="adder")
    assert f.key == "adder"
    call = f(1, 2)
    assert call.key.startswith("add-")
    assert call.compute() == 3


def test_key_and_dask_attributes():
    x = delayed(inc)(1)
    z = delayed(add)(x, 10)
    assert isinstance(z.key, str)
    graph = z.dask
    assert isinstance(graph, dict)
    assert set(graph) == {x.key, z.key}
    assert isinstance(graph[z.key], Task)
    assert graph[z.key].dependencies == (x.key,)
    assert graph[x.key].dependencies == ()


# --- dependencies inside containers -----------------------------------------------------------


def test_delayed_in_lists_tuples_sets_dicts_are_dependencies():
    a = delayed(inc)(1)   # 2
    b = delayed(inc)(10)  # 11

    def combine(lst, tup, st, dct):
        return sum(lst) + sum(tup) + sum(st) + sum(dct.values())

    r = delayed(combine)([a, 1], (b, a), {a, 100}, {"x": b, "y": 1})
    assert set(r.dask[r.key].dependencies) == {a.key, b.key}
    assert r.compute() == (2 + 1) + (11 + 2) + (2 + 100) + (11 + 1)


def test_frozenset_argument():
    a = delayed(inc)(1)
    assert delayed(sorted)(frozenset([a, 10])).compute() == [2, 10]


def test_delayed_in_kwargs_are_dependencies():
    a = delayed(inc)(1)

    def f(x, scale=1, extra=None):
        return x * scale + sum((extra or {}).values())

    r = delayed(f)(3, scale=a, extra={"k": a, "j": 5})
    assert set(r.dask[r.key].dependencies) == {a.key}
    assert r.compute() == 3 * 2 + 2 + 5


def test_deeply_nested_containers():
    a = delayed(inc)(1)
    r = delayed(lambda x: x)({"l": [(a, {"deep": [a]})]})
    assert r.compute() == {"l": [(2, {"deep": [2]})]}


def test_delayed_of_containers_holding_delayed():
    a = delayed(inc)(1)
    b = delayed(inc)(2)
    assert delayed([a, b, 7]).compute() == [2, 3, 7]
    assert delayed((a, b)).compute() == (2, 3)
    assert delayed({"a": a, "b": [b]}).compute() == {"a": 2, "b": [3]}
    assert delayed({a, 5}).compute() == {2, 5}
    d = delayed([a, b])
    assert set(d.dask) >= {a.key, b.key}


def test_delayed_of_container_with_traverse_false_keeps_the_objects():
    a = delayed(inc)(1)
    d = delayed([a, 1], traverse=False)
    value = d.compute()
    assert value[0] is a  # not computed: the Delayed object itself is the value
    assert value[1] == 1


# --- pickling ---------------------------------------------------------------------------------


def test_delayed_pickles_with_cloudpickle_and_still_computes():
    x = delayed(inc)(1)
    z = delayed(add)(x, delayed(lambda v: v * 100)(3))
    z2 = cloudpickle.loads(cloudpickle.dumps(z))
    assert z2.key == z.key
    assert z2.compute() == 302
    assert z2.compute(scheduler="processes") == 302


def test_delayed_pickles_with_plain_pickle():
    z = delayed(add)(delayed(inc)(1), 1)
    z2 = pickle.loads(pickle.dumps(z))
    assert z2.key == z.key
    assert z2.compute() == 3


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                           (cloudpickle.dumps, cloudpickle.loads)],
                         ids=["pickle", "cloudpickle"])
def test_long_chain_pickles_without_recursion_error(dumps, loads):
    x = delayed(0)
    for _ in range(5000):
        x = delayed(inc)(x)
    y = loads(dumps(x))
    assert y.key == x.key
    assert y.compute(scheduler="sync") == 5000


def test_graph_of_many_merged_layers_pickles():
    from teem.core.graph import Graph

    g = Graph({"a": DataNode("a", 1)})
    for i in range(5000):
        g = Graph.merge(g, Graph({("b", i): DataNode(("b", i), i)}))
    flat = pickle.loads(pickle.dumps(g)).to_dict()
    assert len(flat) == 5001
    assert flat[("b", 4999)].value == 4999


def test_delayed_function_pickles():
    f = delayed(inc)
    f2 = cloudpickle.loads(cloudpickle.dumps(f))
    assert f2(1).compute() == 2


# --- compute ----------------------------------------------------------------------------------


def test_compute_returns_a_tuple():
    a = delayed(inc)(1)
    b = delayed(inc)(2)
    out = dask.compute(a, b)
    assert type(out) is tuple
    assert out == (2, 3)
    assert dask.compute(a) == (2,)


def test_lists_of_delayed_come_back_as_lists():
    futures = [delayed(inc)(i) for i in range(5)]
    (results,) = dask.compute(futures)
    assert type(results) is list
    assert results == [1, 2, 3, 4, 5]
    nested = dask.compute([[delayed(inc)(1)], (delayed(inc)(2), 3)])
    assert nested == ([[2], (3, 3)],)


def test_dicts_with_delayed_values():
    out = dask.compute({"a": delayed(inc)(1), "b": [delayed(inc)(2), 0], "c": "plain"})
    assert out == ({"a": 2, "b": [3, 0], "c": "plain"},)


def test_non_collection_arguments_pass_through():
    marker = object()
    out = dask.compute(1, "two", marker, delayed(inc)(2))
    assert out[:2] == (1, "two")
    assert out[2] is marker
    assert out[3] == 3
    assert dask.compute(5, None) == (5, None)


def test_traverse_false_leaves_containers_alone():
    a = delayed(inc)(1)
    (out,) = dask.compute([a], traverse=False)
    assert isinstance(out, list) and out[0] is a
    (out,) = dask.compute([a], traverse=True)
    assert out == [2]


def test_compute_shares_common_work():
    calls = []

    def record(x):
        calls.append(x)
        return x

    shared = delayed(record)(1)
    a = delayed(inc)(shared)
    b = delayed(add)(shared, 5)
    assert dask.compute(a, b, scheduler="threads") == (2, 6)
    assert calls == [1]


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_compute_scheduler_argument(scheduler):
    assert delayed(add)(delayed(inc)(1), 2).compute(scheduler=scheduler) == 4


def test_is_dask_collection():
    assert dask.is_dask_collection(delayed(inc)(1))
    assert not dask.is_dask_collection(1)
    assert not dask.is_dask_collection(Delayed)


# --- persist ----------------------------------------------------------------------------------


def test_persist_computes_once_and_later_computes_reuse_it():
    calls = []
    lock = threading.Lock()

    def expensive(x):
        with lock:
            calls.append(x)
        return x * 2

    a = delayed(expensive)(21)
    (p,) = dask.persist(a, scheduler="threads")
    assert calls == [21]
    assert isinstance(p, Delayed)
    assert p.key == a.key
    assert p.compute(scheduler="threads") == 42
    assert (p + 1).compute(scheduler="threads") == 43
    assert delayed(add)(p, p).compute(scheduler="threads") == 84
    assert calls == [21]  # never rerun
    assert a.compute(scheduler="threads") == 42  # the original still holds its task
    assert calls == [21, 21]


def test_persist_method_and_structure():
    a = delayed(inc)(1)
    p = a.persist()
    assert p.compute() == 2
    assert isinstance(p.dask[p.key], DataNode)
    out = dask.persist([a, delayed(inc)(2)], {"k": (a,)}, 7)
    assert isinstance(out[0], list) and all(isinstance(d, Delayed) for d in out[0])
    assert isinstance(out[1]["k"], tuple) and isinstance(out[1]["k"][0], Delayed)
    assert out[2] == 7
    assert dask.compute(out[0], out[1]) == ([2, 3], {"k": (2,)})


def test_persist_keeps_nout():
    q, r = delayed(divmod, nout=2)(17, 5).persist()
    assert (q.compute(), r.compute()) == (3, 2)


# --- long chains ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_100k():
    x = delayed(0)
    step = delayed(inc)
    for _ in range(100_000):
        x = step(x)
    return x


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_chain_of_100000_dependent_tasks(chain_100k, scheduler):
    assert chain_100k.compute(scheduler=scheduler) == 100_000


def test_delayed_inside_namedtuple_slice_and_dataclass_are_dependencies():
    import collections
    import dataclasses

    Point = collections.namedtuple("Point", "x y")

    @dataclasses.dataclass
    class Box:
        width: int
        height: int

    two = dask.delayed(2)
    assert dask.delayed(lambda p: p)(Point(two, 3)).compute() == Point(2, 3)
    assert dask.delayed(lambda s: s)(slice(None, two)).compute() == slice(None, 2)
    assert dask.delayed(lambda b: b.width * b.height)(Box(two, 5)).compute() == 10
    assert dask.compute(Point(two, 1), scheduler="sync")[0] == Point(2, 1)


def test_keys_made_after_fork_differ_from_the_parents():
    import os

    def inc(x):
        return x + 1

    wrapper = delayed(inc)  # made before the fork: caches the key prefix
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: send 1,000 keys and leave at once
        keys = "\n".join(wrapper(i).key for i in range(1000))
        os.write(write, keys.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    child_keys = set(b"".join(chunks).decode().split("\n"))
    parent_keys = {wrapper(i).key for i in range(1000)}
    assert len(child_keys) == 1000 and not child_keys & parent_keys
