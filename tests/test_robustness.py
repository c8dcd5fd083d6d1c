"""Bad-input matrix: every case forecasts correctly or fails with a clear error.

Each case either gives finite forecasts on the right index, or raises a
``ValueError``/``TypeError`` whose message names the problem (in-sample ``fh``:
sktime's own ``NotImplementedError``, which its conformance suite requires of
forecasters without in-sample capability). The user's objects are never mutated.
"""

import copy

import numpy as np
import pandas as pd
import pytest

from sktime_llmforecast import LLMForecaster, PatchTokenizer
from tests.conftest import TINY_GPT2

N = 60


def _values(n=N):
    t = np.arange(n)
    return 50 + 10 * np.sin(2 * np.pi * t / 12) + 0.2 * t


def _series(values=None, index=None, dtype=None):
    values = _values() if values is None else values
    index = pd.period_range("2000-01", periods=len(values), freq="M") if index is None else index
    return pd.Series(values, index=index, dtype=dtype, name="y")


def _with(pos, value=np.nan):
    v = _values()
    v[pos] = value
    return _series(v)


def _panel(nan_at=None, duplicate=False):
    idx = pd.MultiIndex.from_product([["a", "b"], pd.RangeIndex(N)], names=["id", "t"])
    v = np.r_[_values(), 2 * _values()]
    if nan_at is not None:
        v[N + nan_at] = np.nan
    y = pd.DataFrame({"y": v}, index=idx)
    return pd.concat([y, y.iloc[[N + 5]]]).sort_index() if duplicate else y


OK = None  # the case must forecast
IRREGULAR = pd.DatetimeIndex(
    pd.Timestamp("2020-01-01") + pd.to_timedelta(np.cumsum(np.r_[0, np.arange(1, N) % 3 + 1]), "D")
)
SHUFFLED = pd.RangeIndex(N)[np.r_[1, 0, np.arange(2, N)]]
DAYS = pd.date_range("2020-01-01", periods=N, freq="D")
WITH_NAT = DAYS.insert(10, pd.NaT).delete(11)
GAPPED_MONTHS = pd.period_range("2000-01", periods=N + 2, freq="M").delete([30, 31])
GAPPED_DAYS = pd.date_range("2020-01-01", periods=N + 1, freq="D").delete(40)
GAPPED_INTS = pd.Index(list(range(30)) + list(range(33, N + 3)))
EVEN_INTS = pd.Index(range(0, 2 * N, 2))

# name -> (y, fh, X, expected): expected is OK or (exception types, message regex)
CASES = {
    # patch mode masks missing values (the token and zero-shot modes refuse them:
    # tests/test_missing_values.py)
    "nan_leading": (_with(slice(0, 3)), [1, 2], None, OK),
    "nan_inner": (_with(30), [1, 2], None, OK),
    "nan_trailing": (_with(slice(-2, None)), [1, 2], None, OK),
    "nan_a_fifth": (_with(np.arange(1, N, 5)), [1, 2], None, OK),
    "all_nan": (_series(np.full(N, np.nan)), [1, 2], None, (ValueError, "only missing values")),
    "one_observed_value": (_with(slice(1, None)), [1, 2], None,
                           (ValueError, "1 observed value.*at least 2")),
    "last_context_all_missing": (_with(slice(-30, None)), [1, 2], None,
                                 (ValueError, "0 observed value\\(s\\) among its last 24")),
    "inf": (_with(10, np.inf), [1, 2], None, (ValueError, "infinite values.*replace")),
    "empty": (_series(np.array([], dtype=float)), [1, 2], None, (ValueError, "is empty")),
    "shorter_than_one_patch": (_series(_values(5)), [1, 2], None, OK),
    "single_value": (_series(_values(1)), [1, 2], None, (ValueError, "too short")),
    "constant": (_series(np.full(N, 7.0)), [1, 2, 3], None, OK),
    "all_zeros": (_series(np.zeros(N)), [1, 2, 3], None, OK),
    "huge_scale": (_series(_values() * 1e12), [1, 2, 3], None, OK),
    "tiny_scale": (_series(_values() * 1e-9), [1, 2, 3], None, OK),
    "negative": (_series(-_values()), [1, 2, 3], None, OK),
    "integer_dtype": (_series(np.round(_values()).astype(int)), [1, 2, 3], None, OK),
    "nullable_int": (_series(np.round(_values()).astype(int), dtype="Int64"), [1, 2], None, OK),
    "nullable_float": (_series(_values(), dtype="Float64"), [1, 2], None, OK),
    "nullable_with_na": (
        _series(pd.array([1.0, None] + list(_values(N - 2)), dtype="Float64")),
        [1, 2], None, OK,
    ),
    "strings": (_series(np.array(["a"] * N, dtype=object)), [1, 2], None,
                (TypeError, "must hold numbers.*pd.to_numeric")),
    "numeric_strings": (_series(np.array([str(v) for v in _values()], dtype=object)), [1, 2],
                        None, (TypeError, "must hold numbers.*pd.to_numeric")),
    "non_monotonic_index": (_series(index=SHUFFLED), [1, 2], None,
                            (ValueError, "not sorted.*sort_index")),
    "duplicated_index": (_series(index=pd.Index([0, 0] + list(range(1, N - 1)))), [1, 2], None,
                         (ValueError, "duplicated time points")),
    "irregular_timestamps": (_series(index=IRREGULAR), [1, 2], None,
                             (ValueError, "irregular timestamps.*resample")),
    "nat_in_index": (_series(index=WITH_NAT), [1, 2], None,
                     (ValueError, "missing timestamps \\(NaT\\), the first at position 10")),
    "gap_in_period_index": (_series(index=GAPPED_MONTHS), [1, 2], None,
                            (ValueError, "gap.*2 missing time point\\(s\\) from 2002-07 to 2002-08")),
    "gap_in_datetime_index": (_series(index=GAPPED_DAYS), [1, 2], None,
                              (ValueError, "gap.*1 missing time point\\(s\\) from 2020-02-10")),
    "gap_in_integer_index": (_series(index=GAPPED_INTS), [1, 2], None,
                             (ValueError, "gap.*3 missing time point\\(s\\) from 30 to 32")),
    "gap_near_the_start_of_a_datetime_index": (
        _series(index=pd.date_range("2020-01-01", periods=N + 1, freq="MS").delete(2)),
        [1, 2], None, (ValueError, "gap.*1 missing time point\\(s\\) from 2020-03-01")),
    "gap_in_a_large_integer_index": (
        _series(index=pd.Index(10**9 + np.r_[np.arange(30), np.arange(31, N + 1)])),
        [1, 2], None, (ValueError, "gap.*1 missing time point\\(s\\) from 1000000030")),
    "period_index_off_its_grid": (
        _series(index=pd.PeriodIndex(pd.period_range("2000-01", periods=N, freq="M"), freq="2M")),
        [1, 2], None, (ValueError, "off its own grid.*2M")),
    "integer_index_step_2": (_series(index=EVEN_INTS), [1, 2], None,
                             (ValueError, "gap.*counts steps by 1")),
    "duplicated_columns": (pd.DataFrame(np.c_[_values(), _values()], columns=["a", "a"]),
                           [1, 2], None, (ValueError, "duplicated column names.*unique")),
    "fh_off_grid": (_series(index=DAYS), pd.DatetimeIndex(["2020-03-01 12:00"]), None,
                    (ValueError, "not on the series' time grid")),
    "fh_absolute_on_grid": (_series(index=DAYS), pd.DatetimeIndex(["2020-03-01", "2020-03-03"]),
                            None, OK),
    "context_far_beyond_the_data": (_series(_values(40)), [1, 2], None, OK),
    "fh_beyond_what_the_data_trains": (_series(_values(20)), list(range(1, 31)), None, OK),
    "fh_zero": (_series(), [0], None, (NotImplementedError, "in-sample")),
    "fh_negative": (_series(), [-2, -1], None, (NotImplementedError, "in-sample")),
    "fh_mixed": (_series(), [-1, 1], None, (NotImplementedError, "in-sample")),
    "fh_float": (_series(), [1.5], None, ((ValueError, TypeError), "fh|integer|int")),
    "panel": (_panel(), [1, 2], None, OK),
    "panel_ragged_ends": (_panel().drop(index=[("b", t) for t in range(40, N)]), [1, 2], None, OK),
    "panel_nan_in_one_member": (_panel(nan_at=7), [1, 2], None, OK),
    "panel_member_all_missing": (_panel(nan_at=np.arange(N)), [1, 2], None,
                                 (ValueError, "instance 'b'.*0 observed value")),
    "panel_duplicated_rows": (_panel(duplicate=True), [1, 2], None,
                              (ValueError, "duplicated \\(instance, time\\) rows")),
    "X_given_used": (_series(), [1, 2],
                        pd.DataFrame({"x": np.arange(N + 2.0)},
                                     index=pd.period_range("2000-01", periods=N + 2, freq="M")),
                        OK),
}


def _forecaster():
    return LLMForecaster(backbone=TINY_GPT2, pretrained=None,
                         tokenizer=PatchTokenizer(patch_len=8, stride=4),
                         context_length=24, max_epochs=2, random_state=0, device="cpu")


def _fit_predict(y, fh, X):
    f = _forecaster()
    X_fit = None if X is None else X.iloc[: len(y)]
    X_pred = None if X is None else X.iloc[len(y):]
    f.fit(y, X=X_fit, fh=fh)
    return f.predict(X=X_pred), f


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_matrix(case):
    y, fh, X, expected = CASES[case]
    y_before, X_before = copy.deepcopy(y), copy.deepcopy(X)
    if expected is OK:
        pred, f = _fit_predict(y, fh, X)
        assert np.isfinite(pred.to_numpy(dtype=float)).all()
        members = [y] if y.index.nlevels == 1 else [g for _, g in y.groupby(level=0)]
        for i, member in enumerate(members):  # each forecast from its member's own end
            end = member.index.get_level_values(-1)[-1]
            times = (f.fh.to_pandas() if not f.fh.is_relative
                     else [end + k * getattr(y.index, "freq", 1) for k in fh])
            got = pred.index if y.index.nlevels == 1 else pred.xs(member.index[0][0]).index
            assert list(got) == list(times)
        assert len(pred) == len(fh) * len(members)
    else:
        types, match = expected
        with pytest.raises(types, match=match):
            _fit_predict(y, fh, X)
    (pd.testing.assert_series_equal if isinstance(y, pd.Series)
     else pd.testing.assert_frame_equal)(y, y_before)
    if X is not None:
        pd.testing.assert_frame_equal(X, X_before)


def test_scale_is_followed():
    """Huge and tiny series forecast on their own scale (no overflow, no collapse)."""
    for factor in (1e12, 1e-9):
        pred, _ = _fit_predict(_series(_values() * factor), [1, 2, 3], None)
        level = np.abs(_values()).mean() * factor
        assert (np.abs(pred.to_numpy()) < 10 * level).all()
        assert (np.abs(pred.to_numpy()) > 0.1 * level).all()


def test_intermittent_series_with_all_zero_windows_train():
    """A context of only zeros followed by demand: the window has no scale of its own
    (unit scale, not a division by ~0 that overflows the loss)."""
    values = np.zeros(N)
    values[[20, 45, 57, 58]] = [5.0, 2.0, 7.0, 1.0]
    f = _forecaster().set_params(loss="mse").fit(_series(values), fh=[1, 2, 3])
    assert np.isfinite(f.predict().to_numpy()).all()
    assert max(f.history_["train_loss"]) < 1e6  # squared errors of at most ~7 / 1
