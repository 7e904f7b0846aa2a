"""Run specs: tasks encoded by a client and rebuilt by a worker give the same results."""

import numpy as np
import pytest

from teem import delayed
from teem.core.errors import SerializationError
from teem.core.order import order
from teem.core.task import DataNode, Ref, Task
from teem.distributed.protocol.messages import loads, pack, unpack
from teem.distributed.runspec import FunctionTable, decode_task, encode_task


def add(x, y=0):
    return x + y


def through_the_wire(obj):
    return unpack(pack(obj), allow_pickle=True)


def test_a_graph_survives_the_trip_and_each_function_is_pickled_once():
    total = delayed(sum)([delayed(add)(i, y=1) for i in range(50)])
    graph = total.__teem_graph__().to_dict()
    table = FunctionTable()
    specs = {key: through_the_wire(encode_task(task, table)) for key, task in graph.items()}
    pickles = table.take_unsent()
    assert len(pickles) == 2  # add and sum, whatever the number of tasks
    assert table.take_unsent() == {}
    functions = {fid: loads(list(through_the_wire(frames))) for fid, frames in pickles.items()}
    data = {}
    for key in order(graph, [total.key]):
        data[key] = decode_task(key, specs[key], functions)(data)
    assert data[total.key] == sum(i + 1 for i in range(50))


def test_data_tasks_and_lambdas_from_any_module():
    table = FunctionTable()
    array = np.arange(10)
    node = DataNode("arr", array)
    task = Task("t", lambda a, k: a * k, (Ref("arr"), 3))
    specs = {"arr": encode_task(node, table), "t": encode_task(task, table)}
    functions = {fid: loads(frames) for fid, frames in table.take_unsent().items()}
    data = {"arr": decode_task("arr", specs["arr"], functions)({})}
    assert np.array_equal(decode_task("t", specs["t"], functions)(data), array * 3)


def test_an_unpicklable_function_fails_when_encoded_naming_its_type():
    import threading

    lock = threading.Lock()
    with pytest.raises(SerializationError, match="lock"):
        encode_task(Task("t", lambda: lock.acquire(), ()), FunctionTable())
