"""The R-squared frontier: what it takes to hold the book's rolling R-squared in a band,
and what it costs, per hedge sizing rule.

For each R-squared band of a sweep and each sizing rule among its configurations
(:func:`rule`: unhedged; the hedge sized to the condor's vega; sized to the portfolio,
``hedge_on_equity``; each without a controller, with the weekly step controller on the
rolling R-squared, or with the daily controller on the R-squared of exponentially
weighted moments, ``controller_halflife``), the configuration
with the most time in band *before* the hold-out (``time_in_band_in_sample``) is chosen,
re-run, and measured *after* it:

* time in band with the 60-session R-squared the band is defined on, and, as a
  diagnostic, with 120- and 250-session windows (a longer window swings less);
* the hedge's P&L per year as a share of equity, over all days (what holding the band
  costs);
* why the other days are out of band (:func:`decompose`): **level** (the R-squared's
  trailing one-year mean is itself outside the band: more or less hedge would move it)
  or **variability** (the mean is inside, the 60-session R-squared swings across the
  band's edge: sampling noise and regime changes no sizing of this kind removes);
* the R-squared's mean and standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from transforms.annual import SESSIONS_PER_YEAR
from transforms.backtest.book import r_squared
from transforms.backtest.params import BacktestParams

F64 = NDArray[np.float64]
LONG_WINDOW = 252  # sessions of the trailing mean that tells level from variability
DIAGNOSTIC_WINDOWS = (120, 250)  # R-squared windows besides the band's own 60 sessions


def rule(p: BacktestParams) -> str:
    """The hedge sizing rule of a configuration."""
    if p.hedge_ratio == 0 and not p.controller:
        return "unhedged"
    basis = "portfolio" if p.hedge_on_equity else "condor vega"
    if not p.controller:
        return basis
    return (
        f"{basis}, daily EWMA controller"
        if p.controller_halflife > 0
        else f"{basis}, weekly controller"
    )


@dataclass(frozen=True)
class Decomposition:
    days: int  # days with an R-squared and its trailing mean
    in_band: float
    out_level: float  # share of days out of band with the trailing mean out of band too
    out_variability: float  # out of band with the trailing mean inside
    r2_mean: float
    r2_std: float


def trailing_mean(x: F64, window: int) -> F64:
    """Mean of the finite values among the last ``window`` (NaN below a quarter of it)."""
    ok = np.isfinite(x)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    count = np.concatenate([[0.0], np.cumsum(ok)])
    lo = np.maximum(np.arange(1, len(x) + 1) - window, 0)
    n = count[1:] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (total[1:] - total[lo]) / n
    return np.asarray(np.where(n >= window // 4, out, np.nan), dtype=np.float64)


def decompose(r2: F64, low: float, high: float, *, long_window: int = LONG_WINDOW) -> Decomposition:
    """Days in band, and out of band by level or by variability (module docstring)."""
    mean = trailing_mean(r2, long_window)
    ok = np.isfinite(r2) & np.isfinite(mean)
    inside = (r2 >= low) & (r2 <= high)
    mean_inside = (mean >= low) & (mean <= high)
    days = int(ok.sum())
    if days == 0:
        return Decomposition(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    values = r2[ok]
    return Decomposition(
        days=days,
        in_band=float((ok & inside).sum() / days),
        out_level=float((ok & ~inside & ~mean_inside).sum() / days),
        out_variability=float((ok & ~inside & mean_inside).sum() / days),
        r2_mean=float(values.mean()),
        r2_std=float(values.std(ddof=1)) if days > 1 else math.nan,
    )


def rolling_r2(book: F64, spx: F64, window: int) -> F64:
    """R-squared of the book's daily returns on SPX's over the trailing ``window``
    sessions (NaN before a full window, or where either return is missing)."""
    out = np.full(len(book), np.nan)
    if len(book) >= window:
        out[window - 1 :] = r_squared(
            sliding_window_view(book, window), sliding_window_view(spx, window)
        )
    return out


def measured(daily: pl.DataFrame, low: float, high: float, holdout: date) -> dict[str, float]:
    """Out-of-sample figures of one run: ``daily`` holds ``date``, ``equity``,
    ``pnl_futures``, ``pnl_calls``, ``r2_60`` and ``spx_return`` per session."""
    equity = daily["equity"].to_numpy()
    previous = np.concatenate([[np.nan], equity[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        book = equity / previous - 1.0
        hedge = (daily["pnl_futures"] + daily["pnl_calls"]).to_numpy() / previous
    spx = daily["spx_return"].to_numpy()
    oos = (daily["date"] >= holdout).to_numpy() & np.isfinite(previous) & (previous > 0)
    r2 = daily["r2_60"].to_numpy().astype(np.float64)
    parts = decompose(np.where(oos, r2, np.nan), low, high)
    out = {
        "oos_days": float(oos.sum()),
        "time_in_band": parts.in_band,
        "out_level": parts.out_level,
        "out_variability": parts.out_variability,
        "r2_mean": parts.r2_mean,
        "r2_std": parts.r2_std,
        "hedge_pnl_per_year": float(np.nanmean(hedge[oos]) * SESSIONS_PER_YEAR)
        if oos.any()
        else math.nan,
    }
    for window in DIAGNOSTIC_WINDOWS:
        longer = rolling_r2(np.nan_to_num(book), np.nan_to_num(spx), window)[oos]
        longer = longer[np.isfinite(longer)]
        out[f"time_in_band_{window}"] = (
            float(((longer >= low) & (longer <= high)).mean()) if len(longer) else math.nan
        )
    return out


FRONTIER_COLUMNS = (
    "band_low", "band_high", "rule", "configurations", "config_hash", "hedge_ratio",
    "in_sample_time_in_band", "oos_days", "time_in_band", "out_level", "out_variability",
    "r2_mean", "r2_std", "hedge_pnl_per_year", "time_in_band_120", "time_in_band_250",
)  # fmt: skip


def frontier(
    rows: pl.DataFrame,
    configs: Sequence[BacktestParams],
    run: Callable[[BacktestParams], pl.DataFrame],
    *,
    holdout: date,
) -> pl.DataFrame:
    """One row per band and sizing rule (:data:`FRONTIER_COLUMNS`). ``rows``: the
    sweep's ``config_hash``, ``ruined`` and ``time_in_band_in_sample`` in the order of
    ``configs``; ``run``: a configuration's daily rows (:func:`measured`)."""
    frame = rows.select("config_hash", "ruined", "time_in_band_in_sample").with_columns(
        pl.Series("band_low", [c.band_low for c in configs]),
        pl.Series("band_high", [c.band_high for c in configs]),
        pl.Series("rule", [rule(c) for c in configs]),
        pl.int_range(pl.len()).alias("position"),
    )
    out = []
    for (low, high, name), part in frame.group_by(
        ["band_low", "band_high", "rule"], maintain_order=True
    ):
        alive = part.filter(~pl.col("ruined") & pl.col("time_in_band_in_sample").is_not_nan())
        row: dict[str, object] = {
            "band_low": low,
            "band_high": high,
            "rule": name,
            "configurations": part.height,
        }
        if alive.height:
            best = alive.sort("time_in_band_in_sample", descending=True, maintain_order=True).row(
                0, named=True
            )
            p = configs[int(best["position"])]
            row |= {
                "config_hash": best["config_hash"],
                "hedge_ratio": p.hedge_ratio,
                "in_sample_time_in_band": best["time_in_band_in_sample"],
                **measured(run(p), float(low), float(high), holdout),
            }
        out.append(row)
    result = pl.DataFrame(out, infer_schema_length=None)
    missing = [c for c in FRONTIER_COLUMNS if c not in result.columns]
    result = result.with_columns(
        pl.lit(None, dtype=pl.String if c == "config_hash" else pl.Float64).alias(c)
        for c in missing
    )
    return result.select(FRONTIER_COLUMNS).sort("band_low", "rule", maintain_order=True)
