"""The daily signal table: one row per SPX trading day, every value point in time.

Definitions (parameters in :class:`SignalParams`, defaults from the methodology):

* Volatility: SPX log return; realised vol = rolling std of ``rvol_window`` log returns
  x sqrt(252); VIX RSI (Wilder, ``rsi_window``) on VIX closes of SPX trading days; front
  VX RSI on the day-to-day settle change of the contract that is M1 that day (roll
  adjusted: a change always compares one contract with itself); VIX/VIX3M ratio.
* Breadth: MACD of an A/D line on breadth days. ``breadth_divergence``: the MACD
  histogram is still positive but lower than ``window`` breadth days ago (positive bars
  narrowing: upside breadth momentum fading; a histogram below zero is a crossover, not
  narrowing) while SPX closed more than ``min_spx_gain`` higher over the same days.
  **Breadth policy** (two universes): the NYSE A/D line (issues, ``core.nyse_breadth``)
  on every day it has a row; on a day it has none, the S&P 500 member A/D line
  (``core.sp500_breadth``: the running sum of advancing less declining members). The
  MACD, its histogram and the divergence are computed on each series alone, over its own
  rows, and the day's row is taken from the series in force: the NYSE line has about 4.5
  times the member line's daily swing (A-D std 1,016 against 225), so one MACD across
  the switch would break, and the two never overlap in the data (NYSE issues end
  2020-02-10, members start 2021-09-22), so no scale between them can be measured. The
  divergence reads only signs and a comparison within one series, so it means the same
  on both. The member MACD
  starts from the member series' own first rows (its EMAs warm up there, as the NYSE
  one did in 1965). Null where neither series has a row (2020-02-11 .. 2021-09-21 in the
  real data); ``breadth_note`` says why and ``breadth_series`` names the series used.
* Term structure: M1..M4 settles and days to expiry; spreads M2-M1, M3-M2; contango % =
  100 (M2/M1 - 1); backwardation = M1 > M2. Annualised roll yield of month m:
  ``ln(F_m / F_{m-1}) x 365 / (d_m - d_{m-1})`` with F_0 = spot VIX and d_0 = 0: the
  rate a long contract loses (positive) or gains if the curve stays where it is.
  30-day constant-maturity VX and its MACD; rolling ``beta_window`` OLS of its log change
  on SPX log returns (beta, R^2).
* Macro: CPI YoY and PPI YoY (``cpi_series``, ``ppi_series``) from each value's first
  recorded vintage, each in force from its own public date (as-of join, never the
  reference month; ``cpi_month``/``ppi_month`` say which month is in force). A month's
  YoY is public when both it and the month a year before are. Spread = CPI YoY - PPI
  YoY, z-score over the last ``z_months`` months with a spread (sample std), divergence =
  |z| > ``z_threshold``,
  in force once both prints of the month are public (``macro_month``).
* Calendar: FOMC announcement day; calendar days to the next scheduled FOMC announcement
  (scheduled dates are published a year ahead, so they count as known); first trading
  day of the ISO week; ISO week id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from transforms.columns import MACRO_SIGNALS, NYSE_ISSUES, SIGNALS_DAILY, SP500_MEMBERS
from transforms.signals.indicators import MacdParams, macd, rsi_from_changes, rsi_wilder
from transforms.signals.regression import rolling_ols


@dataclass(frozen=True)
class BreadthParams:
    window: int = 10
    min_spx_gain: float = 0.0


@dataclass(frozen=True)
class SignalParams:
    start: date = date(1990, 1, 2)
    rvol_window: int = 20
    rsi_window: int = 14
    macd: MacdParams = field(default_factory=MacdParams)
    breadth: BreadthParams = field(default_factory=BreadthParams)
    beta_window: int = 60
    cpi_series: str = "CPIAUCSL"
    ppi_series: str = "PPIACO"
    z_months: int = 36
    z_threshold: float = 2.0


@dataclass(frozen=True)
class SignalInputs:
    """Core tables the signals read (columns as in the warehouse)."""

    spx: pl.DataFrame  # date, close
    vix: pl.DataFrame  # date, close
    vix3m: pl.DataFrame  # date, close
    vvix: pl.DataFrame  # date, close
    breadth: pl.DataFrame  # date, ad_line (NYSE issues)
    vx: pl.DataFrame  # trade_date, contract, settle, suspect_settle
    curve: pl.DataFrame  # trade_date, month, contract, days_to_expiry, settle
    cm: pl.DataFrame  # trade_date, settle (30-day constant maturity)
    macro: pl.DataFrame  # series_id, reference_month, vintage_date, value, public_date
    fomc: pl.DataFrame  # date, scheduled
    members: pl.DataFrame = field(  # date, advancing, declining (S&P 500 members)
        default_factory=lambda: pl.DataFrame(
            schema={"date": pl.Date(), "advancing": pl.Int64(), "declining": pl.Int64()}
        )
    )

    def breadth_lines(self) -> list[tuple[str, pl.DataFrame]]:
        """Each breadth series with its A/D line (date, ad_line), in order of precedence."""
        members = self.members.sort("date").select(
            "date", (pl.col("advancing") - pl.col("declining")).cum_sum().alias("ad_line")
        )
        return [
            (NYSE_ISSUES, self.breadth.select("date", "ad_line")),
            (SP500_MEMBERS, members),
        ]


def _volatility(spx: pl.DataFrame, vix: pl.DataFrame, p: SignalParams) -> pl.DataFrame:
    vix_on_sessions = vix.join(spx.select("date"), on="date", how="semi").sort("date")
    return (
        spx.sort("date")
        .with_columns(pl.col("close").log().diff().alias("spx_log_return"))
        .with_columns(
            (
                pl.col("spx_log_return").rolling_std(p.rvol_window, min_samples=p.rvol_window)
                * math.sqrt(252)
            ).alias("spx_rvol_20")
        )
        .select("date", pl.col("close").alias("spx_close"), "spx_log_return", "spx_rvol_20")
        .join(
            vix_on_sessions.select(
                "date",
                pl.col("close").alias("vix_close"),
                rsi_wilder(pl.col("close"), window=p.rsi_window).alias("vix_rsi_14"),
            ),
            on="date",
            how="left",
        )
    )


def _front_rsi(vx: pl.DataFrame, curve: pl.DataFrame, p: SignalParams) -> pl.DataFrame:
    settles = (
        vx.filter(~pl.col("suspect_settle").fill_null(False) & pl.col("settle").is_not_null())
        .sort("trade_date")
        .with_columns(pl.col("settle").diff().over("contract").alias("change"))
    )
    front = curve.filter(pl.col("month") == 1).select("trade_date", "contract")
    return (
        front.join(
            settles.select("trade_date", "contract", "change"),
            on=["trade_date", "contract"],
            how="left",
        )
        .sort("trade_date")
        .select(
            pl.col("trade_date").alias("date"),
            rsi_from_changes(pl.col("change"), window=p.rsi_window).alias("vx_front_rsi_14"),
        )
    )


def _breadth(inputs: SignalInputs, p: SignalParams) -> pl.DataFrame:
    """The breadth columns of every breadth day under the breadth policy: each series'
    MACD over its own rows, a day's row from the first series that has one."""
    parts, taken = [], pl.DataFrame(schema={"date": pl.Date()})
    for name, line in inputs.breadth_lines():
        rows = _one_breadth(line, inputs.spx, p).join(taken, on="date", how="anti")
        parts.append(rows.with_columns(pl.lit(name).alias("breadth_series")))
        taken = pl.concat([taken, rows.select("date")])
    return pl.concat(parts).sort("date")


def _one_breadth(breadth: pl.DataFrame, spx: pl.DataFrame, p: SignalParams) -> pl.DataFrame:
    line, signal, hist = macd(pl.col("ad_line").cast(pl.Float64), params=p.macd)
    w = p.breadth.window
    frame = (
        breadth.sort("date")
        .join(spx.select("date", pl.col("close").alias("_spx")), on="date", how="left")
        .with_columns(
            line.alias("ad_macd"), signal.alias("ad_macd_signal"), hist.alias("ad_macd_hist")
        )
    )
    hist_then = pl.col("ad_macd_hist").shift(w)
    narrowing = (pl.col("ad_macd_hist") >= 0) & (pl.col("ad_macd_hist") < hist_then)
    higher = pl.col("_spx") / pl.col("_spx").shift(w) - 1 > p.breadth.min_spx_gain
    return frame.select(
        "date",
        "ad_line",
        "ad_macd",
        "ad_macd_signal",
        "ad_macd_hist",
        pl.when(pl.col("ad_macd_hist").is_not_null() & hist_then.is_not_null())
        .then(narrowing & higher)
        .alias("breadth_divergence"),
    )


def _term(
    curve: pl.DataFrame, cm: pl.DataFrame, vix: pl.DataFrame, p: SignalParams
) -> pl.DataFrame:
    wide = (
        curve.filter(pl.col("month") <= 4)
        .pivot(on="month", index="trade_date", values=["settle", "days_to_expiry"])
        .rename(lambda c: c.replace("settle_", "vx_m").replace("days_to_expiry_", "dte_m"))
        .join(
            vix.select(pl.col("date").alias("trade_date"), pl.col("close").alias("_vix")),
            on="trade_date",
            how="left",
        )
    )
    for m in range(1, 5):  # months the curve never reached (e.g. no VX data yet)
        for c, dtype in ((f"vx_m{m}", pl.Float64), (f"dte_m{m}", pl.Int32)):
            if c not in wide.columns:
                wide = wide.with_columns(pl.lit(None, dtype=dtype).alias(c))
    roll = []
    for m in range(1, 5):
        prev_f = pl.col("_vix") if m == 1 else pl.col(f"vx_m{m - 1}")
        prev_d = pl.lit(0) if m == 1 else pl.col(f"dte_m{m - 1}")
        roll.append(
            ((pl.col(f"vx_m{m}") / prev_f).log() * 365.0 / (pl.col(f"dte_m{m}") - prev_d)).alias(
                f"roll_yield_m{m}"
            )
        )
    line, signal, hist = macd(pl.col("vx_cm30"), params=p.macd)
    cm_frame = (
        cm.sort("trade_date")
        .select("trade_date", pl.col("settle").alias("vx_cm30"))
        .with_columns(
            line.alias("vx_cm30_macd"),
            signal.alias("vx_cm30_macd_signal"),
            hist.alias("vx_cm30_macd_hist"),
        )
    )
    return (
        wide.with_columns(
            (pl.col("vx_m2") - pl.col("vx_m1")).alias("m1_m2_spread"),
            (pl.col("vx_m3") - pl.col("vx_m2")).alias("m2_m3_spread"),
            (100.0 * (pl.col("vx_m2") / pl.col("vx_m1") - 1)).alias("contango_pct"),
            (pl.col("vx_m1") > pl.col("vx_m2")).alias("backwardation"),
            *roll,
        )
        .join(cm_frame, on="trade_date", how="full", coalesce=True)
        .rename({"trade_date": "date"})
        .drop("_vix")
    )


def macro_monthly_signals(
    macro: pl.DataFrame, *, params: SignalParams = SignalParams()
) -> pl.DataFrame:
    """Monthly CPI/PPI YoY, spread, z-score and divergence, each with its public date."""
    first = (
        macro.sort("vintage_date")
        .group_by("series_id", "reference_month", maintain_order=True)
        .first()
        .sort("reference_month")
    )

    def yoy(series_id: str, name: str) -> pl.DataFrame:
        s = first.filter(pl.col("series_id") == series_id).select(
            "reference_month", "value", "public_date"
        )
        year_before = s.select(
            pl.col("reference_month").dt.offset_by("12mo"),
            pl.col("value").alias("_prev"),
            pl.col("public_date").alias("_prev_public"),
        )
        return s.join(year_before, on="reference_month", how="inner").select(
            "reference_month",
            (pl.col("value") / pl.col("_prev") - 1).alias(name),
            pl.max_horizontal("public_date", "_prev_public").alias(f"{name[:3]}_public_date"),
        )

    p = params
    # Outer: a CPI print must not wait for (or depend on the existence of) the PPI print.
    both = yoy(p.cpi_series, "cpi_yoy").join(
        yoy(p.ppi_series, "ppi_yoy"), on="reference_month", how="full", coalesce=True
    )
    with_spread = both.sort("reference_month").with_columns(
        (pl.col("cpi_yoy") - pl.col("ppi_yoy")).alias("cpi_ppi_spread")
    )
    # The z-score runs over the last ``z_months`` months that have a spread: a print that
    # was never published (CPI Oct-2025) is skipped, not a three-year hole.
    spread = pl.col("cpi_ppi_spread")
    z = (
        with_spread.filter(spread.is_not_null())
        .with_columns(
            (
                (spread - spread.rolling_mean(p.z_months, min_samples=p.z_months))
                / spread.rolling_std(p.z_months, min_samples=p.z_months)
            ).alias("cpi_ppi_z")
        )
        .select("reference_month", "cpi_ppi_z")
    )
    return (
        with_spread.join(z, on="reference_month", how="left")
        .with_columns(
            pl.when(pl.col("cpi_yoy").is_not_null() & pl.col("ppi_yoy").is_not_null())
            .then(pl.max_horizontal("cpi_public_date", "ppi_public_date"))
            .alias("public_date"),
        )
        .with_columns((pl.col("cpi_ppi_z").abs() > p.z_threshold).alias("cpi_ppi_divergence"))
        .select(MACRO_SIGNALS.columns)
    )


def _calendar(days: pl.DataFrame, fomc: pl.DataFrame) -> pl.DataFrame:
    scheduled = (
        fomc.filter(pl.col("scheduled")).select(pl.col("date").alias("next_fomc")).sort("next_fomc")
    )
    iso = (
        pl.col("date").dt.iso_year().cast(pl.String)
        + "-W"
        + pl.col("date").dt.week().cast(pl.String).str.zfill(2)
    )
    return (
        days.sort("date")
        .join_asof(scheduled, left_on="date", right_on="next_fomc", strategy="forward")
        .with_columns(
            pl.col("date").is_in(fomc["date"].implode()).alias("fomc_day"),
            (pl.col("next_fomc") - pl.col("date"))
            .dt.total_days()
            .cast(pl.Int32)
            .alias("days_to_next_fomc"),
            iso.alias("week_id"),
        )
        .with_columns(
            (pl.col("week_id") != pl.col("week_id").shift(1)).fill_null(True).alias("week_start")
        )
        .select("date", "fomc_day", "days_to_next_fomc", "week_start", "week_id")
    )


def signals_daily(inputs: SignalInputs, *, params: SignalParams = SignalParams()) -> pl.DataFrame:
    """One row per SPX trading day from ``params.start``; see the module docstring."""
    p = params
    spx = inputs.spx.filter(pl.col("date") >= p.start).sort("date")
    days = spx.select("date")
    breadth = _breadth(inputs, p)
    breadth_days = breadth.select(
        pl.col("date").alias("_last_breadth"), pl.col("breadth_series").alias("_last_series")
    )
    term = _term(inputs.curve, inputs.cm, inputs.vix, p)
    monthly = macro_monthly_signals(inputs.macro, params=p)

    def in_force(frame: pl.DataFrame, columns: list[str], public: str, month: str) -> pl.DataFrame:
        """``frame`` with the monthly values public on each day (backward as-of join)."""
        published = (
            monthly.select(
                pl.col("reference_month").alias(month), pl.col(public).alias("_p"), *columns
            )
            .drop_nulls("_p")
            .sort("_p")
        )
        return frame.join_asof(published, left_on="date", right_on="_p", strategy="backward").drop(
            "_p"
        )

    frame = (
        _volatility(inputs.spx, inputs.vix, p)
        .join(days, on="date", how="semi")
        .join(_front_rsi(inputs.vx, inputs.curve, p), on="date", how="left")
        .join(
            inputs.vvix.select("date", pl.col("close").alias("vvix_close")), on="date", how="left"
        )
        .join(inputs.vix3m.select("date", pl.col("close").alias("_vix3m")), on="date", how="left")
        .with_columns((pl.col("vix_close") / pl.col("_vix3m")).alias("vix_vix3m_ratio"))
        .drop("_vix3m")
        .join(breadth, on="date", how="left")
        .sort("date")
        .join_asof(breadth_days, left_on="date", right_on="_last_breadth", strategy="backward")
        .with_columns(
            pl.when(pl.col("ad_line").is_not_null())
            .then(None)
            .when(pl.col("_last_breadth").is_null())
            .then(pl.lit("no breadth data yet"))
            .otherwise(
                pl.format(
                    "no breadth row (NYSE issues or S&P 500 members): the breadth scaler is "
                    "off; last row {} ({})",
                    pl.col("_last_breadth"),
                    pl.col("_last_series"),
                )
            )
            .alias("breadth_note")
        )
        .join(term, on="date", how="left")
        .join(_calendar(days, inputs.fomc), on="date", how="left")
    )
    frame = in_force(frame, ["cpi_yoy"], "cpi_public_date", "cpi_month")
    frame = in_force(frame, ["ppi_yoy"], "ppi_public_date", "ppi_month")
    frame = in_force(
        frame, ["cpi_ppi_spread", "cpi_ppi_z", "cpi_ppi_divergence"], "public_date", "macro_month"
    )
    ret_x = frame["spx_log_return"].to_numpy().astype(np.float64)
    cm_change = (
        frame.select(pl.col("vx_cm30").log().diff()).to_series().to_numpy().astype(np.float64)
    )
    ols = rolling_ols(cm_change, np.nan_to_num(ret_x, nan=np.nan), window=p.beta_window)
    return frame.with_columns(
        pl.Series("vx_cm30_spx_beta_60", ols.beta[:, 0]).fill_nan(None),
        pl.Series("vx_cm30_spx_r2_60", ols.r2[:, 0]).fill_nan(None),
    ).select(pl.col(c).cast(t) for c, t in SIGNALS_DAILY.schema.items())
