"""read_text and to_textfiles against Python's own file reading, on every local scheduler."""

import bz2
import gzip
import io
import lzma

import fsspec
import pytest
import zstandard

import teem
import teem.bag as db
from teem.bag import text

SCHEDULERS = ["sync", "threads", "processes"]

LINES = [f"line {i} {'é' * (i % 3)} {'x' * (i % 17)}\n" for i in range(500)]
OPENERS = {"": open, ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".zst": zstandard.open}


def write(path, data: bytes, suffix: str = ""):
    with OPENERS[suffix](str(path), "wb") as f:
        f.write(data)
    return str(path)


def python_lines(path, **kwargs):
    with open(path, encoding=kwargs.pop("encoding", "utf-8"), **kwargs) as f:
        return f.readlines()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_wiki_files_as_python_reads_them(wiki, wiki_lines, scheduler):
    directory = wiki["paths"][0].rsplit("/", 1)[0]
    b = db.read_text(directory + "/part-*.gz")
    assert b.npartitions == 12
    flat = [line for lines in wiki_lines for line in lines]
    assert b.compute(scheduler=scheduler) == flat
    assert b.count().compute(scheduler=scheduler) == len(flat) == wiki["lines"]
    assert b.map(len).sum().compute(scheduler=scheduler) == wiki["bytes"]
    listed = db.read_text(wiki["paths"][3:5])
    assert listed.npartitions == 2
    assert listed.compute(scheduler=scheduler) == wiki_lines[3] + wiki_lines[4]


@pytest.mark.parametrize("suffix", list(OPENERS))
def test_every_compression(tmp_path, suffix):
    data = "".join(LINES).encode()
    paths = [write(tmp_path / f"f{i}.txt{suffix}", data, suffix) for i in range(2)]
    b = db.read_text(str(tmp_path / f"f*.txt{suffix}"))
    assert b.compute(scheduler="processes") == LINES * 2
    assert b.count().compute(scheduler="threads") == 2 * len(LINES)
    explicit = {"": None, ".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}[suffix]
    renamed = write(tmp_path / "plain-name", open(paths[0], "rb").read())
    assert db.read_text(renamed, compression=explicit).compute(scheduler="sync") == LINES


def test_lines_keep_their_line_ends_and_universal_newlines(tmp_path):
    cases = {
        "last-without-end": b"a\nb\nc",
        "crlf": b"a\r\nb\r\n\r\nc\r\n",
        "cr": b"a\rb\rc",
        "mixed": b"a\r\nb\rc\n\rd",
        "empty": b"",
        "odd-separators": "a\x0bb\x0c\x1c\u2028c\nd\x85e\n".encode(),
    }
    for name, data in cases.items():
        path = write(tmp_path / name, data)
        b = db.read_text(path)
        expected = python_lines(path)
        assert b.compute(scheduler="sync") == expected, name
        assert b.count().compute(scheduler="sync") == len(expected), name
        for delimiter in ("", "\n", "\r", "\r\n"):
            expected = python_lines(path, newline=delimiter)
            got = db.read_text(path, linedelimiter=delimiter)
            assert got.compute(scheduler="sync") == expected, (name, delimiter)
            assert got.count().compute(scheduler="sync") == len(expected), (name, delimiter)


def test_custom_line_delimiter(tmp_path):
    path = write(tmp_path / "semi", b"a;b;;c;")
    assert db.read_text(path, linedelimiter=";").compute(scheduler="sync") == ["a;", "b;", ";", "c;"]
    assert db.read_text(path, linedelimiter=";").count().compute(scheduler="sync") == 4


def test_chunk_boundaries_inside_characters_and_line_ends(tmp_path, monkeypatch):
    data = ("é\r\n" * 40 + "ab\r" * 30 + "€x;y;\n" * 20).encode()
    path = write(tmp_path / "chunks.gz", data, ".gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        expected = f.readlines()
    for size in (1, 2, 3, 5, 64):
        monkeypatch.setattr(text, "CHUNK_BYTES", size)  # the sync scheduler runs in this process
        b = db.read_text(path)
        assert b.compute(scheduler="sync") == expected, size
        assert b.count().compute(scheduler="sync") == len(expected), size
        assert db.read_text(path, linedelimiter=";").compute(scheduler="sync") == data.decode().replace(
            ";", ";\x00").split("\x00")


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_blocksize_splits_uncompressed_files_at_line_starts(tmp_path, scheduler):
    for blocksize in (1, 7, 100, 4096, "1KiB", 10**9):
        lines = LINES[:20] if blocksize in (1, 7) else LINES  # a partition per byte: keep them few
        data = "".join(lines).encode()
        paths = [write(tmp_path / "a.txt", data), write(tmp_path / "b.txt", b"\n\n" + data + b"tail without end")]
        expected = python_lines(paths[0]) + python_lines(paths[1])
        b = db.read_text(str(tmp_path / "*.txt"), blocksize=blocksize)
        size = teem.core.sizes.parse_bytes(blocksize)
        assert b.npartitions == sum(-(-len(open(p, "rb").read()) // size) for p in paths)
        assert b.compute(scheduler=scheduler) == expected, blocksize
        assert b.count().compute(scheduler=scheduler) == len(expected), blocksize


def test_blocksize_errors(tmp_path):
    gz = write(tmp_path / "x.gz", b"a\n", ".gz")
    with pytest.raises(ValueError, match="cannot split compressed"):
        db.read_text(gz, blocksize=10)
    utf16 = tmp_path / "u16.txt"
    utf16.write_text("a\nb\n", encoding="utf-16")
    with pytest.raises(ValueError, match="utf-16"):
        db.read_text(str(utf16), blocksize=10, encoding="utf-16")
    with pytest.raises(ValueError, match="not both"):
        db.read_text(gz, blocksize=10, files_per_partition=2)
    with pytest.raises(ValueError, match="no files match"):
        db.read_text(str(tmp_path / "nothing-*.txt"))


def test_encodings(tmp_path):
    for encoding in ("latin-1", "utf-16", "cp1252", "utf-8-sig"):
        path = tmp_path / f"{encoding}.txt"
        path.write_text("".join(LINES).replace("é", "é") + "fin", encoding=encoding)
        expected = python_lines(str(path), encoding=encoding)
        assert db.read_text(str(path), encoding=encoding).compute(scheduler="sync") == expected, encoding
        assert db.read_text(str(path), encoding=encoding).count().compute(scheduler="sync") == len(expected)
    latin = tmp_path / "latin-1.txt"
    assert db.read_text(str(latin), encoding="latin-1", blocksize=333).compute(scheduler="sync") == python_lines(
        str(latin), encoding="latin-1")
    with pytest.raises(UnicodeDecodeError):
        db.read_text(str(latin), encoding="utf-8").compute(scheduler="sync")
    assert "\ufffd" in "".join(db.read_text(str(latin), errors="replace").compute(scheduler="sync"))


def test_include_path_and_files_per_partition(wiki, wiki_lines):
    paths = wiki["paths"][:3]
    b = db.read_text(paths, include_path=True)
    assert b.compute(scheduler="processes") == [(line, p) for p, lines in zip(paths, wiki_lines) for line in lines]
    grouped = db.read_text(wiki["paths"], files_per_partition=5, include_path=True)
    assert grouped.npartitions == 3
    pairs = grouped.compute(scheduler="threads")
    assert [p for _, p in pairs] == [p for p, lines in zip(wiki["paths"], wiki_lines) for _ in lines]
    assert grouped.count().compute(scheduler="sync") == wiki["lines"]


def test_paths_through_fsspec_memory_filesystem():
    fs = fsspec.filesystem("memory")
    for i in range(3):
        with fs.open(f"/bagtest/log-{i}.txt.gz", "wb") as f:
            f.write(gzip.compress("".join(LINES[i::3]).encode()))
    b = db.read_text("memory://bagtest/log-*.txt.gz")
    assert b.npartitions == 3
    # the memory filesystem lives in this process: use threads
    assert b.compute(scheduler="threads") == LINES[0::3] + LINES[1::3] + LINES[2::3]
    assert b.count().compute(scheduler="sync") == len(LINES)


def test_collection_false_gives_delayed_lists(wiki, wiki_lines):
    parts = db.read_text(wiki["paths"][:2], collection=False)
    assert len(parts) == 2 and isinstance(parts[0], teem.Delayed)
    assert teem.compute(*parts, scheduler="sync") == tuple(wiki_lines[:2])


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_to_textfiles_roundtrip_with_compression(tmp_path, scheduler):
    b = db.from_sequence([line.rstrip("\n") for line in LINES], npartitions=3)
    out = b.to_textfiles(str(tmp_path / "out" / "*.txt.gz"), scheduler=scheduler)
    assert out == [str(tmp_path / "out" / f"{i}.txt.gz") for i in range(3)]
    texts = [gzip.open(p, "rt", encoding="utf-8").read() for p in out]
    assert "\n".join(texts) == "".join(LINES)[:-1]  # as in Dask: joined with '\n', none at the end
    back = db.read_text(str(tmp_path / "out" / "*.txt.gz"))
    assert back.map(str.rstrip, "\n").compute(scheduler=scheduler) == [line.rstrip("\n") for line in LINES]


def test_to_textfiles_options(tmp_path):
    b = db.from_sequence(["a", "b", "c"], npartitions=2)
    paths = db.to_textfiles(b, str(tmp_path / "n-*.bz2"), name_function=lambda i: f"{i:03d}", last_endline=True,
                            scheduler="sync")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["n-000.bz2", "n-001.bz2"]
    assert [bz2.open(p).read() for p in paths] == [b"a\nb\n", b"c\n"]
    plain = b.to_textfiles(str(tmp_path / "dir"), compression=None, scheduler="sync")
    assert [open(p).read() for p in plain] == ["a\nb", "c"]
    lazy = b.to_textfiles(str(tmp_path / "lazy-*.txt"), compute=False)
    assert len(lazy) == 2 and not (tmp_path / "lazy-0.txt").exists()
    teem.compute(*lazy, scheduler="sync")
    assert (tmp_path / "lazy-1.txt").read_text() == "c"
    with pytest.raises(TypeError, match="map\\(str\\)"):
        db.from_sequence([1, 2]).to_textfiles(str(tmp_path / "ints"), scheduler="sync")


def test_line_stream_counts_without_making_lines(tmp_path):
    path = write(tmp_path / "count.gz", "".join(LINES).encode(), ".gz")
    stream = text.LineStream([text.TextSource(fsspec.filesystem("file"), path, "gzip")])
    assert stream.count_lines() == len(LINES)
    assert list(stream) == LINES
    assert list(io.StringIO("".join(LINES))) == LINES
