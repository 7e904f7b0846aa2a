"""The collector settings teem changes, and that it changes them back."""

import gc

import pytest

from teem.core.gcfreeze import DEFAULT_YOUNG_THRESHOLD, graph_frozen, raise_young_threshold


@pytest.fixture(autouse=True)
def default_collector():
    saved = gc.get_threshold()
    gc.set_threshold(DEFAULT_YOUNG_THRESHOLD, *saved[1:])
    yield
    gc.set_threshold(*saved)


def test_raise_young_threshold_nests_and_restores():
    first = raise_young_threshold(5000)
    assert gc.get_threshold()[0] == 5000
    second = raise_young_threshold(5000)
    first()
    first()  # a second call of the same undo does nothing
    assert gc.get_threshold()[0] == 5000  # the second holder still wants it
    second()
    assert gc.get_threshold()[0] == DEFAULT_YOUNG_THRESHOLD


def test_a_program_that_tuned_its_collector_keeps_its_settings():
    gc.set_threshold(1234, 5, 5)
    undo = raise_young_threshold(5000)
    assert gc.get_threshold() == (1234, 5, 5)
    undo()
    assert gc.get_threshold() == (1234, 5, 5)


def test_graph_frozen_freezes_and_unfreezes():
    assert gc.get_freeze_count() == 0
    with graph_frozen():
        assert gc.get_freeze_count() > 0
        with graph_frozen():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
