"""Fixtures of the teem.bag tests: generated Wikipedia logs (bench/wikidata.py) and pure-Python answers."""

import gzip
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_wikidata():
    """bench/wikidata.py, imported by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("wikidata", ROOT / "bench" / "wikidata.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def wikidata():
    return load_wikidata()


@pytest.fixture(scope="session")
def wiki(tmp_path_factory, wikidata):
    """12 gzipped files of 1,500 lines: the seed's glob part-0000*gz picks the first 10."""
    directory = tmp_path_factory.mktemp("wiki")
    manifest = wikidata.generate(str(directory), nfiles=12, lines_per_file=1500)
    manifest["paths"] = [str(directory / e["name"]) for e in manifest["files"]]
    return manifest


@pytest.fixture(scope="session")
def wiki_lines(wiki):
    """The lines of each file, read with plain Python (the reference answers)."""
    return [gzip.open(p, "rt", encoding="utf-8").readlines() for p in wiki["paths"]]
