"""Public face of teem's configuration; see :mod:`teem.core.config` for how values are layered.

Use it as ``dask.config`` is used::

    import teem
    teem.config.set(scheduler='processes', num_workers=4)
    with teem.config.set(scheduler='threads'):
        ...
    teem.config.get('num_workers', default=None)
"""

from teem.core.config import config, defaults, get, merge, refresh, set, update, update_defaults

__all__ = ["config", "defaults", "get", "merge", "refresh", "set", "update", "update_defaults"]
