"""The tutorial's ``calc_mean.py`` (seed 001 §3), imported by tests and by worker processes."""

import numpy as np


def calc_mean(i, n):
    import numpy as np
    rng = np.random.default_rng(i)
    data = rng.normal(size=n)
    return [np.mean(data), np.std(data)]


def calc_mean_vargs(inputs):
    import numpy as np
    rng = np.random.default_rng(inputs[0])
    data = rng.normal(size=inputs[1])
    return [np.mean(data), np.std(data)]


def expected(i, n):
    """What ``calc_mean(i, n)`` returns, computed here, for comparisons."""
    data = np.random.default_rng(i).normal(size=n)
    return [np.mean(data), np.std(data)]
