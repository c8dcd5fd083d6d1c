"""Forecast frames in y's layout: ``assemble`` builds one index for a whole panel,
equal to assembling member by member (the earlier, slower way)."""

import numpy as np
import pandas as pd
import pytest

from sktime_llmforecast.forecasting._layout import assemble


def _member_by_member(values, keys, columns, times, index_names):
    frames = []
    for i, key in enumerate(keys):
        block = values[i * len(columns) : (i + 1) * len(columns)].T
        key = key if isinstance(key, tuple) else (key,)
        mi = pd.MultiIndex.from_tuples([(*key, t) for t in times[i]])
        frames.append(pd.DataFrame(block, index=mi, columns=columns))
    out = pd.concat(frames)
    out.index.names = index_names
    return out


@pytest.mark.parametrize("times", [
    [pd.period_range("2000-01", periods=3, freq="M"),
     pd.period_range("2001-05", periods=3, freq="M")],
    [pd.date_range("2020-01-01", periods=3, freq="D"),
     pd.date_range("2020-02-01", periods=3, freq="D")],
    [pd.Index([10, 11, 12]), pd.Index([3, 4, 5])],
])
@pytest.mark.parametrize("keys, names", [(["a", "b"], ["member", "time"]),
                                         ([(1, "x"), (2, "y")], ["store", "item", None])])
def test_panel_frame_equals_member_by_member(times, keys, names):
    columns = ["sales", "price"]
    values = np.arange(2 * 2 * 3, dtype=float).reshape(4, 3)  # (member, column) x step
    got = assemble(values, keys, columns, times, names)
    pd.testing.assert_frame_equal(got, _member_by_member(values, keys, columns, times,
                                                         names))
    assert got.loc[keys[1]].iloc[0]["price"] == values[3, 0]  # member 2, column 2, step 1


def test_single_series_keeps_its_index():
    times = [pd.period_range("2000-01", periods=2, freq="M")]
    got = assemble(np.array([[1.0, 2.0]]), None, ["y"], times, [None])
    pd.testing.assert_frame_equal(got, pd.DataFrame({"y": [1.0, 2.0]}, index=times[0]))
