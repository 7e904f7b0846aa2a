"""Deterministic Wikipedia page-view logs, in the format of seed 001 §4.2.

Each line is ``date time language title views bytes``, for example::

    20081113 100000 en Image:Flickr_Obama_Springfield_01.jpg 25 306083

Languages, titles (Zipf-distributed popularity), view counts and sizes come
from fixed distributions driven by one seed, so the same call writes the same
files byte for byte.  A few titles contain ``Obama`` (in several languages, and
decoys spelled ``obama``), and one line in a thousand is malformed (five
fields), so the tutorial's ``find`` has work to do.  While writing, the
generator counts the lines the tutorial's ``find`` accepts; the counts are
kept in ``manifest.json`` next to the ``part-0000N.gz`` files.

    from wikidata import generate
    manifest = generate("/tmp/wiki", nfiles=12, lines_per_file=2000)
    manifest["lines"], manifest["matches"]

Used by ``bench/bench_bag.py`` (about 2 GB uncompressed) and by the tests of
``teem.bag`` (a few thousand lines), which import this file by path.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import re

import numpy as np

__all__ = ["generate", "find", "LANGUAGES", "SUFFIXES"]

LANGUAGES = {"en": 0.36, "de": 0.10, "fr": 0.08, "ja": 0.07, "es": 0.07, "it": 0.05, "pl": 0.05,
             "ru": 0.05, "nl": 0.04, "pt": 0.04, "zh": 0.03, "sv": 0.03, "commons.m": 0.02, "en.b": 0.01}

# Titles mentioning Obama: these (in language 'en') are what the tutorial's find() looks for.
OBAMA_TITLES = [
    "Barack_Obama", "Michelle_Obama", "Image:Flickr_Obama_Springfield_01.jpg",
    "File:Michelle,_Malia_and_Sasha_Obama_at_DNC.jpg", "File:Michelle,_Oprah_Winfrey_and_Barack_Obama.jpg",
    "Special:FilePath/Opinion_polling_for_the_United_States_presidential_election,_2008,_Barack_Obama_Fred_Thompson.png",
    "Obama_(disambiguation)", "Barack_Obama_presidential_campaign,_2008", "Obama_Girl", "Talk:Barack_Obama",
    "Barack_Obama_Sr.", "Obama,_Fukui", "Image:Obama_portrait_crop.jpg", "Public_image_of_Barack_Obama",
]
# Look-alikes the case-sensitive regex must not match.
DECOY_TITLES = ["obama", "Barack_obama", "OBAMA", "Obam", "Osama"]

SUFFIXES = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst", None: ""}

_WORDS = ("Main_Page Special:Search Image:Wiki.png List_of History_of United_States World_War_II "
          "Election 2008 Music Album Film Football Club Station River Mountain Island Village "
          "Album_cover Category:Living_people Template:Infobox Portal:Current_events Physics "
          "Chemistry Biology Mathematics Python Computer Science Economy Paris Berlin Tokyo "
          "California Texas Germany France Japan Novel Painting Church Castle Bridge Airport "
          "Hurricane_Ike Large_Hadron_Collider Financial_crisis Sarah_Palin John_McCain "
          "Joe_Biden Twilight_(novel) The_Dark_Knight Wall-E Beijing_2008 Michael_Phelps").split()


def find(line, regex="Obama", language="en"):
    """The tutorial's predicate (seed 001 §4.2), as written there."""
    vals = line.split(' ')
    if len(vals) < 6:
        return (False)
    tmp = re.search(regex, vals[3])
    if tmp is None or (language != None and vals[2] != language):  # noqa: E711  (as in the seed)
        return (False)
    else:
        return (True)


def _vocabulary(rng: np.random.Generator, size: int) -> list:
    words = np.array(_WORDS)
    titles = set()
    while len(titles) < size:
        n = int(rng.integers(1, 4))
        titles.add("_".join(words[rng.integers(0, len(words), n)]) + (f"_{int(rng.integers(0, 999))}"
                                                                    if rng.random() < 0.5 else ""))
    return sorted(titles)


def _open(path: str, compression: str | None):
    if compression == "gzip":
        try:
            from isal import igzip  # several times faster than zlib
            return igzip.IGzipFile(path, "wb", compresslevel=2, mtime=0)
        except ImportError:
            return gzip.GzipFile(path, "wb", compresslevel=6, mtime=0)
    if compression == "bz2":
        return bz2.open(path, "wb")
    if compression == "xz":
        return lzma.open(path, "wb")
    if compression == "zstd":
        import zstandard
        return zstandard.open(path, "wb")
    if compression is None:
        return open(path, "wb")
    raise ValueError(f"unknown compression {compression!r}; use one of {sorted(map(str, SUFFIXES))}")


def _params(nfiles, lines_per_file, bytes_per_file, seed, compression) -> dict:
    return {"nfiles": nfiles, "lines_per_file": lines_per_file, "bytes_per_file": bytes_per_file,
            "seed": seed, "compression": compression, "version": 1}


def generate(directory: str, nfiles: int = 4, lines_per_file: int | None = 5000,
             bytes_per_file: int | None = None, seed: int = 2008, compression: str | None = "gzip") -> dict:
    """Write ``nfiles`` files ``part-0000N.gz`` of page-view lines into ``directory``.

    Parameters
    ----------
    directory:
        Created if missing.  If it already holds a manifest written with the
        same parameters, nothing is written again (the files are a cache).
    nfiles:
        Number of files.
    lines_per_file, bytes_per_file:
        Size of each file: a number of lines, or (if given) a number of
        uncompressed bytes (the file ends at the first line past it).
    seed:
        The seed of every random choice.
    compression:
        ``'gzip'`` (default), ``'bz2'``, ``'xz'``, ``'zstd'`` or None.

    Returns
    -------
    dict
        The manifest: ``files`` (name, lines, matches, bytes per file), total
        ``lines``, total ``matches`` of :func:`find` and total uncompressed ``bytes``.
    """
    params = _params(nfiles, lines_per_file, bytes_per_file, seed, compression)
    manifest_path = os.path.join(directory, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if manifest.get("params") == params and all(
                os.path.exists(os.path.join(directory, e["name"])) for e in manifest["files"]):
            manifest["directory"] = directory
            return manifest
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    common = _vocabulary(rng, 20000)
    titles = OBAMA_TITLES + DECOY_TITLES + common
    ranks = np.arange(1, len(titles) + 1, dtype=float)
    weights = 1.0 / ranks ** 1.05
    weights[:len(OBAMA_TITLES) + len(DECOY_TITLES)] = 0.0
    weights /= weights.sum()
    weights *= 0.995  # half a percent of lines: Obama titles and decoys
    weights[:len(OBAMA_TITLES) + len(DECOY_TITLES)] = 0.005 / (len(OBAMA_TITLES) + len(DECOY_TITLES))
    obama = np.zeros(len(titles), dtype=bool)
    obama[:len(OBAMA_TITLES)] = True
    langs = list(LANGUAGES)
    lang_p = np.array(list(LANGUAGES.values()))
    lang_p /= lang_p.sum()
    en = langs.index("en")
    sizes = rng.integers(200, 400000, len(titles))
    hours = [f"{h:02d}0000" for h in range(24)]
    entries = []
    for i in range(nfiles):
        name = f"part-{i:05d}{SUFFIXES[compression]}"
        file_rng = np.random.default_rng([seed, i])
        date = f"2008{11 + i // 30 % 2:02d}{i % 30 + 1:02d}"
        nlines = nmatch = nbytes = 0
        with _open(os.path.join(directory, name), compression) as out:
            while True:
                n = 100_000
                if lines_per_file is not None and bytes_per_file is None:
                    n = min(n, lines_per_file - nlines)
                if n <= 0:
                    break
                t = file_rng.choice(len(titles), n, p=weights)
                lang = file_rng.choice(len(langs), n, p=lang_p)
                hour = file_rng.integers(0, 24, n)
                views = np.minimum(file_rng.zipf(1.8, n), 100000)
                broken = file_rng.random(n) < 0.001
                nbytes_field = views * sizes[t] // 4
                lines = [f"{date} {hours[h]} {langs[g]} {titles[k]} {v}\n" if b else
                         f"{date} {hours[h]} {langs[g]} {titles[k]} {v} {s}\n"
                         for h, g, k, v, s, b in zip(hour.tolist(), lang.tolist(), t.tolist(),
                                                     views.tolist(), nbytes_field.tolist(), broken.tolist())]
                data = "".join(lines).encode()
                if bytes_per_file is not None and nbytes + len(data) >= bytes_per_file:
                    # stop at the first line past the target size
                    lengths = np.cumsum([len(x) for x in lines]) + nbytes
                    keep = int(np.searchsorted(lengths, bytes_per_file)) + 1
                    lines, t, lang, broken = lines[:keep], t[:keep], lang[:keep], broken[:keep]
                    data = "".join(lines).encode()
                    n = keep
                out.write(data)
                nlines += n
                nbytes += len(data)
                nmatch += int(np.count_nonzero(obama[t] & (lang == en) & ~broken))
                if bytes_per_file is not None and nbytes >= bytes_per_file:
                    break
        entries.append({"name": name, "lines": nlines, "matches": nmatch, "bytes": nbytes})
    manifest = {"params": params, "files": entries, "lines": sum(e["lines"] for e in entries),
                "matches": sum(e["matches"] for e in entries), "bytes": sum(e["bytes"] for e in entries)}
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(manifest_path + ".tmp", manifest_path)
    manifest["directory"] = directory
    return manifest


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="write deterministic Wikipedia page-view logs")
    parser.add_argument("directory")
    parser.add_argument("--nfiles", type=int, default=4)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--bytes", type=int, default=None)
    args = parser.parse_args()
    m = generate(args.directory, args.nfiles, args.lines, args.bytes)
    print(json.dumps({k: m[k] for k in ("lines", "matches", "bytes")}))
