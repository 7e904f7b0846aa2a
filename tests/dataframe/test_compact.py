"""The cache's compact storage is lossless: every dtype and missing value comes back as parsed."""

import numpy as np
import pandas as pd
import pandas.testing as pdt

from teem.dataframe.io.compact import CompactFrame


def test_compact_frames_restore_identically():
    rng = np.random.default_rng(0)
    n = 400
    text = pd.Series(rng.choice(["N123", "N456", "N789"], n), dtype=object)  # object, as dtype='object' parses
    text[::9] = np.nan
    frame = pd.DataFrame({
        "small": rng.integers(0, 100, n),                       # int64 -> int8
        "big": rng.integers(0, 2**40, n),                       # stays int64
        "u": rng.integers(0, 10, n).astype("uint64"),           # unsigned: kept
        "halves": rng.integers(-50, 50, n) / 2.0,               # float64 -> float32 (exact)
        "noisy": rng.normal(size=n),                            # not float32-exact: kept
        "delay": np.where(np.arange(n) % 5 == 0, np.nan, rng.integers(-10, 300, n).astype(float)),  # int16
        "zeros": np.array([0.0, -0.0] * (n // 2)),              # -0.0 must keep its sign: float32
        "huge": np.array([0.0, 1e12] * (n // 2)),               # whole, too big for int32: float32
        "tail": text.to_numpy(),                                # object str + NaN: codes
        "none": pd.Series([None, "a"] * (n // 2), dtype=object).to_numpy(),  # None stays None: kept
        "mixed": pd.Series([1, "1"] * (n // 2), dtype=object).to_numpy(),    # 1 and '1' never merge: kept
        "nan_only": pd.Series([np.nan] * n, dtype=object).to_numpy(),
        "unique": pd.Series([f"id{i}" for i in range(n)], dtype=object).to_numpy(),  # too many values: kept
        "s": pd.array(rng.choice(["EWR", "JFK", None], n), dtype="str"),
        "S": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
        "cat": pd.Categorical(rng.choice(["x", "y"], n)),
        "t": pd.date_range("2013-01-01", periods=n, freq="min"),
        "b": rng.choice([True, False], n),
    }, index=pd.RangeIndex(100, 100 + n))
    for name in ("tail", "none", "mixed", "nan_only", "unique"):  # object columns, as dtype='object' parses
        frame[name] = pd.Series(list(frame[name]) if name != "none" else [None, "a"] * (n // 2),
                                dtype=object, index=frame.index)
    assert frame["none"].iloc[0] is None and frame["tail"].dtype == object
    compact = CompactFrame.of(frame)
    pdt.assert_frame_equal(compact.restore(), frame, check_exact=True)
    for columns in (["delay"], ["tail", "small"], ["none", "mixed", "nan_only", "s"]):
        pdt.assert_frame_equal(compact.restore(columns), frame[columns], check_exact=True)
    restored = compact.restore()
    assert np.signbit(restored["zeros"].to_numpy()[1])
    assert restored["none"].iloc[0] is None and restored["mixed"].tolist()[:2] == [1, "1"]
    shrinkable = frame[["small", "halves", "delay", "tail", "s"]]
    assert CompactFrame.of(shrinkable).nbytes < shrinkable.memory_usage(deep=True).sum() / 3
    restored.iloc[0, 0] = -1  # results are new frames: the stored one never changes
    assert compact.restore(["small"]).iloc[0, 0] == frame.small.iloc[0]


def test_packed_columns_shrink_and_restore_exactly():
    """Numbers and codes are zstd-packed when that pays; a restored frame takes writes, and the
    stored one never sees them."""
    n = 50_000
    frame = pd.DataFrame({
        "month": np.full(n, 7),                                      # constant: packs to almost nothing
        "delay": np.tile(np.arange(-20.0, 180.0), n // 200),         # whole floats, repeating
        "code": pd.Series(np.tile(["UA", "AA", "DL", "B6"], n // 4), dtype=object).to_numpy(),
        "noise": np.random.default_rng(1).integers(-2**31, 2**31 - 1, n),  # random: kept unpacked
    })
    compact = CompactFrame.of(frame)
    regular = CompactFrame.of(frame[["month", "delay", "code"]]).nbytes
    assert regular < n / 4  # narrowed alone they would take 1 + 2 + 1 bytes a row
    assert compact.nbytes - regular >= 4 * n  # random numbers: narrowed to int32, not packed
    back = compact.restore()
    pdt.assert_frame_equal(back, frame)
    for column in back.columns:
        back.loc[1, column] = back.loc[2, column]
    back.loc[0, "delay"] = 1e9  # writing into a restored frame never reaches the stored one
    pdt.assert_frame_equal(compact.restore(["delay"]), frame[["delay"]])
