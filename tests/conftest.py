"""Shared fixtures: every test starts from, and leaves behind, the same teem.config."""

import copy

import pytest

from teem.core import config as core_config


@pytest.fixture(autouse=True)
def _restore_teem_config():
    """Undo global ``teem.config.set(...)`` calls (the seeds make them) after each test."""
    saved_config = copy.deepcopy(core_config.config)
    saved_defaults = copy.deepcopy(core_config.defaults)
    yield
    core_config.config.clear()
    core_config.config.update(saved_config)
    core_config.defaults.clear()
    core_config.defaults.update(saved_defaults)
