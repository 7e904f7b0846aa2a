"""teem.io: file helpers the collections share (compression, for now).

Below the collections in the layering: ``teem.bag`` and ``teem.dataframe`` import from here, never
from each other.
"""
