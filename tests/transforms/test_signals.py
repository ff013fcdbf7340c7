"""Signals against independent references, on the real history, and without look-ahead."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from transforms.signals.daily import (
    SignalInputs,
    SignalParams,
    macro_monthly_signals,
    signals_daily,
)
from transforms.signals.indicators import MacdParams, macd, rsi_wilder
from transforms.signals.regression import rolling_ols
from warehouse.load import read_table


@pytest.fixture(scope="module")
def inputs(real_warehouse: Path) -> SignalInputs:
    con = duckdb.connect(str(real_warehouse), read_only=True)
    try:
        t = lambda name: read_table(con, name)  # noqa: E731
        return SignalInputs(
            spx=t("spx_daily"),
            vix=t("vix_daily"),
            vix3m=t("vix3m_daily"),
            vvix=t("vvix_daily"),
            breadth=t("nyse_breadth"),
            vx=t("vx_futures"),
            curve=t("vx_term_structure"),
            cm=t("vx_constant_maturity"),
            macro=t("macro_monthly"),
            fomc=t("fomc_meetings"),
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def signals(inputs: SignalInputs) -> pl.DataFrame:
    return signals_daily(inputs)


# ---------------------------------------------------------------- textbook loops


def _ema_loop(x: list[float], span: int) -> list[float]:
    a, out = 2.0 / (span + 1), []
    for v in x:
        out.append(v if not out else a * v + (1 - a) * out[-1])
    return out


def _macd_loop(x: list[float], p: MacdParams) -> list[tuple[float, float, float] | None]:
    fast, slow = _ema_loop(x, p.fast), _ema_loop(x, p.slow)
    line = [f - s for f, s in zip(fast, slow, strict=True)]
    signal = _ema_loop(line, p.signal)
    return [
        (line[i], signal[i], line[i] - signal[i]) if i + 1 >= p.slow + p.signal - 1 else None
        for i in range(len(x))
    ]


def _rsi_loop(x: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(x)
    changes = [x[i] - x[i - 1] for i in range(1, len(x))]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_g, avg_l = sum(gains[:n]) / n, sum(losses[:n]) / n
    for i in range(n, len(x)):
        if i > n:
            avg_g = (avg_g * (n - 1) + gains[i - 1]) / n
            avg_l = (avg_l * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_l == 0 else 100.0 - 100.0 / (1.0 + avg_g / avg_l)
    return out


def test_macd_of_the_ad_line_equals_the_textbook_loop(inputs: SignalInputs) -> None:
    breadth = inputs.breadth.sort("date").head(600)
    line, signal, hist = macd(pl.col("ad_line").cast(pl.Float64))
    ours = breadth.select(line.alias("l"), signal.alias("s"), hist.alias("h")).rows()
    ref = _macd_loop([float(v) for v in breadth["ad_line"]], MacdParams())
    assert sum(r is None for r in ref) == 33
    for mine, theirs in zip(ours, ref, strict=True):
        if theirs is None:
            assert mine == (None, None, None)
        else:
            assert mine == pytest.approx(theirs, abs=1e-9)


def test_vix_rsi_equals_wilders_loop(inputs: SignalInputs) -> None:
    closes = inputs.vix.sort("date").head(400)["close"].to_list()
    ours = pl.DataFrame({"x": closes}).select(rsi_wilder(pl.col("x"))).to_series().to_list()
    ref = _rsi_loop(closes, 14)
    assert ours[:14] == [None] * 14
    assert ours[14:] == pytest.approx(ref[14:], abs=1e-9)
    assert all(0 <= v <= 100 for v in ours[14:])


def test_rolling_regression_matches_statsmodels_on_sampled_windows(signals: pl.DataFrame) -> None:
    y = signals.select(pl.col("vx_cm30").log().diff()).to_series().to_numpy()
    x = signals["spx_log_return"].to_numpy()
    other = signals.select(pl.col("vix_close").log().diff()).to_series().to_numpy()
    ols = rolling_ols(np.column_stack([y, other]), x, window=60)
    rng = np.random.default_rng(0)
    usable = [
        t
        for t in range(60, len(x))
        if not np.isnan(np.r_[y[t - 59 : t + 1], x[t - 59 : t + 1], other[t - 59 : t + 1]]).any()
    ]
    checked = 0
    for t in rng.choice(usable, size=25, replace=False):
        window = slice(t - 59, t + 1)
        for j, series in enumerate((y, other)):
            fit = sm.OLS(series[window], sm.add_constant(x[window])).fit()
            assert ols.alpha[t, j] == pytest.approx(fit.params[0], abs=1e-9)
            assert ols.beta[t, j] == pytest.approx(fit.params[1], abs=1e-9)
            assert ols.r2[t, j] == pytest.approx(fit.rsquared, abs=1e-9)
            checked += 1
    assert checked == 50
    # The signal table carries the same numbers for the VX constant-maturity series.
    assert np.allclose(signals["vx_cm30_spx_beta_60"].to_numpy(), ols.beta[:, 0], equal_nan=True)
    assert np.allclose(signals["vx_cm30_spx_r2_60"].to_numpy(), ols.r2[:, 0], equal_nan=True)


def test_regression_windows_with_a_gap_are_null() -> None:
    x = np.linspace(-0.01, 0.01, 100)
    y = 2 * x + 0.001
    y[50] = np.nan
    out = rolling_ols(y, x, window=10)
    assert np.isnan(out.beta[50:60, 0]).all() and not np.isnan(out.beta[60, 0])
    assert out.beta[60, 0] == pytest.approx(2.0) and out.alpha[60, 0] == pytest.approx(0.001)
    assert out.r2[60, 0] == pytest.approx(1.0)


def test_realised_vol_and_term_structure_by_hand(
    signals: pl.DataFrame, inputs: SignalInputs
) -> None:
    row = signals.filter(pl.col("date") == date(2020, 3, 16)).row(0, named=True)
    closes = (
        inputs.spx.filter(pl.col("date") <= date(2020, 3, 16))
        .sort("date")["close"]
        .tail(21)
        .to_numpy()
    )
    returns = np.diff(np.log(closes))
    assert row["spx_rvol_20"] == pytest.approx(returns.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert (row["vx_m1"], row["vx_m2"], row["vx_m3"]) == (72.625, 59.15, 44.875)
    assert row["backwardation"] is True
    assert row["m1_m2_spread"] == pytest.approx(59.15 - 72.625)
    assert row["contango_pct"] == pytest.approx(100 * (59.15 / 72.625 - 1))
    # Roll yield of M2: ln(F2 / F1) x 365 / (d2 - d1) = ln(59.15 / 72.625) x 365 / 28.
    assert row["roll_yield_m2"] == pytest.approx(math.log(59.15 / 72.625) * 365 / 28)
    assert row["roll_yield_m1"] == pytest.approx(math.log(72.625 / 82.69) * 365 / 2)
    assert row["vix_vix3m_ratio"] == pytest.approx(82.69 / 67.70)
    assert row["fomc_day"] is True


# ---------------------------------------------------------------- point in time


def _truncate(inputs: SignalInputs, cut: date) -> SignalInputs:
    """Everything public by ``cut``'s close (scheduled FOMC dates are known ahead)."""
    by = lambda frame, col: frame.filter(pl.col(col) <= cut)  # noqa: E731
    return SignalInputs(
        spx=by(inputs.spx, "date"),
        vix=by(inputs.vix, "date"),
        vix3m=by(inputs.vix3m, "date"),
        vvix=by(inputs.vvix, "date"),
        breadth=by(inputs.breadth, "date"),
        vx=by(inputs.vx, "trade_date"),
        curve=by(inputs.curve, "trade_date"),
        cm=by(inputs.cm, "trade_date"),
        macro=inputs.macro.filter((pl.col("public_date") <= cut) & (pl.col("vintage_date") <= cut)),
        fomc=inputs.fomc.filter(pl.col("scheduled") | (pl.col("date") <= cut)),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.integers(min_value=0, max_value=(date(2026, 8, 1) - date(1991, 1, 1)).days))
def test_no_look_ahead(inputs: SignalInputs, signals: pl.DataFrame, offset: int) -> None:
    cut = date(1991, 1, 1) + timedelta(days=offset)
    truncated = signals_daily(_truncate(inputs, cut))
    full = signals.filter(pl.col("date") <= cut)
    assert truncated.height == full.height
    assert_frame_equal(truncated, full, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_cpi_changes_on_its_release_day_not_its_month(signals: pl.DataFrame) -> None:
    # March-2024 CPI was released on 2024-04-10 (release calendar).
    before, on = (
        signals.filter(pl.col("date") == d).row(0, named=True)
        for d in (date(2024, 4, 9), date(2024, 4, 10))
    )
    assert before["cpi_month"] == date(2024, 2, 1) and on["cpi_month"] == date(2024, 3, 1)
    assert before["cpi_yoy"] != on["cpi_yoy"]
    # During March 2024 itself, February's print (released 2024-03-12) is in force.
    mid_march = signals.filter(pl.col("date") == date(2024, 3, 28)).row(0, named=True)
    assert mid_march["cpi_month"] == date(2024, 2, 1)


def test_macro_spread_waits_for_both_prints(inputs: SignalInputs) -> None:
    monthly = macro_monthly_signals(inputs.macro)
    assert (monthly["public_date"] >= monthly["cpi_public_date"]).all()
    assert (monthly["public_date"] >= monthly["ppi_public_date"]).all()
    assert (monthly["public_date"] > monthly["reference_month"].dt.month_end()).all()
    # A CPI-only month (PPI not out yet) has YoY but no spread, z or spread public date.
    one_sided = monthly.filter(pl.col("cpi_yoy").is_null() | pl.col("ppi_yoy").is_null())
    assert one_sided["cpi_ppi_spread"].is_null().all() and one_sided["public_date"].is_null().all()
    both = monthly.filter(pl.col("cpi_ppi_spread").is_not_null())
    spread = both["cpi_ppi_spread"].to_numpy()
    window = spread[-36:]
    assert both["cpi_ppi_z"][-1] == pytest.approx((spread[-1] - window.mean()) / window.std(ddof=1))


# ---------------------------------------------------------------- coverage and nulls


def test_a_row_for_every_spx_trading_day(
    signals: pl.DataFrame, inputs: SignalInputs, holidays: frozenset[date]
) -> None:
    spx_days = inputs.spx.filter(pl.col("date") >= date(1990, 1, 2))["date"].sort()
    assert signals["date"].to_list() == spx_days.to_list()
    assert not (set(signals["date"]) & holidays)


def test_nulls_only_where_inputs_are_missing(signals: pl.DataFrame, inputs: SignalInputs) -> None:
    def absent(frame: pl.DataFrame, col: str = "date") -> pl.Expr:
        return ~pl.col("date").is_in(frame[col].implode())

    first_vx = inputs.curve["trade_date"].min()
    why = {  # column -> where a null is expected, and why
        # SPX history starts in 1927: no warm-up is left by 1990.
        "spx_log_return": pl.lit(False),
        "spx_rvol_20": pl.lit(False),
        "vix_close": absent(inputs.vix),  # 4 sessions missing in Cboe's file; VIX ends 2026-07-23
        "vvix_close": absent(inputs.vvix),  # VVIX starts 2006, sparse in 2006
        "vix_vix3m_ratio": absent(inputs.vix3m) | absent(inputs.vix),  # VIX3M starts 2009-09-18
        "ad_line": absent(inputs.breadth),  # breadth ends 2015-11-11; 2 sessions missing
        "vx_m1": absent(inputs.curve, "trade_date"),  # VX starts 2004-03-26, ends 2026-01-07
        "vx_cm30": absent(inputs.cm, "trade_date"),
        "vx_m4": absent(inputs.curve.filter(pl.col("month") == 4), "trade_date"),
        "week_id": pl.lit(False),
        "fomc_day": pl.lit(False),
    }
    for column, expected in why.items():
        got = signals.select(pl.col(column).is_null()).to_series()
        want = signals.select(expected).to_series()
        assert (got == want).all(), (column, signals.filter(got != want)["date"].head(5).to_list())
    # Warm-ups: indicators are null for their first observations only.
    vix_rows = signals.filter(pl.col("vix_close").is_not_null())
    assert (
        vix_rows["vix_rsi_14"].head(14).is_null().all()
        and vix_rows["vix_rsi_14"][14:].is_not_null().all()
    )
    breadth_rows = signals.filter(
        pl.col("ad_line").is_not_null() & (pl.col("date") >= date(1990, 3, 1))
    )
    assert breadth_rows["ad_macd_hist"].is_not_null().all()
    assert breadth_rows["breadth_divergence"].is_not_null().all()
    vx_rows = signals.filter(pl.col("date") >= first_vx + timedelta(days=60))
    assert vx_rows.filter(pl.col("vx_m1").is_not_null())["vx_front_rsi_14"].is_not_null().all()
    # Where breadth is missing, the table says why.
    notes = signals.filter(pl.col("ad_line").is_null())["breadth_note"]
    assert notes.is_not_null().all()
    assert (
        signals.filter(pl.col("date") == date(2020, 1, 2))["breadth_note"][0]
        == "no breadth row (NYSE issues or S&P 500 members): the breadth scaler is off; last row "
        "2015-11-11 (NYSE issues)"
    )


def test_breadth_divergence_definition(signals: pl.DataFrame) -> None:
    p = SignalParams()
    rows = signals.filter(pl.col("ad_line").is_not_null()).sort("date")
    w = p.breadth.window
    hist, spx, flag = (
        rows["ad_macd_hist"].to_list(),
        rows["spx_close"].to_list(),
        rows["breadth_divergence"].to_list(),
    )
    for i in range(len(rows)):
        if hist[i] is None or i < w or hist[i - w] is None:
            continue
        expected = 0 <= hist[i] < hist[i - w] and spx[i] / spx[i - w] - 1 > p.breadth.min_spx_gain
        assert flag[i] == expected
    assert 300 < sum(1 for f in flag if f) < 3000


# ---------------------------------------------------------------- breadth after 2015


@pytest.fixture(scope="module")
def updated(inputs: SignalInputs, shared_data: Path) -> SignalInputs:
    """The history plus the 2026-09 update's breadth files: NYSE issues to 2020-02-10,
    S&P 500 members from 2021-09-22 (parsed by the project's own parsers)."""
    from transforms.parse import normalised

    folder = shared_data.parent / "data-updates" / "2026-09"
    nyse = normalised.parse_nyse_breadth(
        (folder / "nyse_breadth_daily.csv").read_bytes(), location="nyse"
    ).frame
    members = normalised.parse_sp500_breadth(
        (folder / "sp500_member_breadth_daily.csv").read_bytes(), location="members"
    ).frame
    cols = inputs.breadth.columns
    return replace(
        inputs,
        breadth=pl.concat(
            [inputs.breadth, nyse.select(c for c in cols if c in nyse.columns)],
            how="diagonal_relaxed",
        ),
        members=members.select("date", "members", "advancing", "declining"),
    )


def test_the_breadth_policy_switches_series_and_computes_each_alone(
    updated: SignalInputs,
) -> None:
    s = signals_daily(updated).filter(pl.col("date") >= date(2015, 1, 1))
    series = dict(zip(s["date"], s["breadth_series"], strict=True))
    assert series[date(2017, 6, 1)] == "NYSE issues" and series[date(2020, 2, 10)] == "NYSE issues"
    assert series[date(2019, 8, 20)] is None  # the session the NYSE source lacks
    assert series[date(2023, 6, 1)] == "S&P 500 members"
    gap = s.filter(pl.col("date").is_between(date(2020, 2, 11), date(2021, 9, 21)))
    assert gap["breadth_series"].is_null().all() and gap["ad_macd"].is_null().all()
    assert gap["breadth_divergence"].is_null().all()
    assert gap["breadth_note"].str.contains("the breadth scaler is off").all()
    for name, year in (("NYSE issues", 2017), ("S&P 500 members", 2023)):
        rows = s.filter(pl.col("date").dt.year() == year)
        assert (rows["breadth_series"] == name).all() and rows["ad_macd"].is_not_null().all()
    # the member MACD is the textbook loop over the member A/D line alone
    m = updated.members.sort("date")
    line = np.cumsum((m["advancing"] - m["declining"]).to_numpy()).astype(float).tolist()
    ref = dict(zip(m["date"], _macd_loop(line, MacdParams()), strict=True))
    lines = dict(zip(m["date"], line, strict=True))
    ours = s.join(m.select("date"), on="date")  # member days SPX has (to 2026-08-21)
    assert ours.height > 1200
    for day, ad, *mine in ours.select("date", "ad_line", "ad_macd", "ad_macd_signal",
                                       "ad_macd_hist").rows():  # fmt: skip
        theirs = ref[day]
        assert tuple(mine) == ((None,) * 3 if theirs is None else pytest.approx(theirs, abs=1e-9))
        assert ad == lines[day]
    # and the NYSE rows are those of NYSE issues alone, members or not
    alone = signals_daily(replace(updated, members=updated.members.clear()))
    nyse = s.filter(pl.col("breadth_series") == "NYSE issues").select("date", "ad_macd_hist")
    assert nyse.equals(alone.join(nyse.select("date"), on="date").select("date", "ad_macd_hist"))


def test_member_breadth_has_no_look_ahead(updated: SignalInputs) -> None:
    full = signals_daily(updated)
    for cut in (date(2021, 10, 15), date(2024, 3, 1)):
        part = signals_daily(
            replace(_truncate(updated, cut), members=updated.members.filter(pl.col("date") <= cut))
        )
        assert_frame_equal(part, full.filter(pl.col("date") <= cut), rel_tol=1e-12)
