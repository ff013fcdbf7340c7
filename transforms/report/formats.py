"""Units and display formats of the metrics (``transforms.backtest.metrics.METRICS``)."""

from __future__ import annotations

import math

PERCENT = "percent"
RATIO = "ratio"
DOLLARS = "dollars"
COUNT = "count"
INDEX = "index points"

UNITS: dict[str, tuple[str, str]] = {
    "cagr": ("CAGR", PERCENT),
    "volatility": ("volatility (annualised)", PERCENT),
    "sharpe": ("Sharpe ratio (excess of T-bills)", RATIO),
    "sortino": ("Sortino ratio", RATIO),
    "max_drawdown": ("maximum drawdown", PERCENT),
    "calmar": ("Calmar ratio", RATIO),
    "ruined": ("ruined (equity reached zero)", COUNT),
    "r2_full": ("R² against SPX, whole run", RATIO),
    "beta_full": ("beta to SPX, whole run", RATIO),
    "capm_alpha": ("CAPM alpha (annualised)", PERCENT),
    "r2_60_mean": ("rolling 60-day R², mean", RATIO),
    "beta_60_mean": ("rolling 60-day beta, mean", RATIO),
    "time_in_band": ("time with R² inside the band", PERCENT),
    "unhedged_r2_full": ("unhedged book: R², whole run", RATIO),
    "unhedged_r2_60_mean": ("unhedged book: rolling R², mean", RATIO),
    "unhedged_time_in_band": ("unhedged book: time in band", PERCENT),
    "hedge_cost_flat": ("hedge P&L in flat markets (per year, of equity)", PERCENT),
    "drawdown_offset": ("drawdown offset (hedge P&L / condor loss, 3-5 % SPX falls)", RATIO),
    "drawdown_windows": ("3-5 % SPX falls with a condor loss", COUNT),
    "break_even_low": ("break-even, low (last condor)", INDEX),
    "break_even_high": ("break-even, high (last condor)", INDEX),
    "return_on_margin": ("condor return on margin (per year)", PERCENT),
    "turnover": ("contracts traded per year", COUNT),
    "costs_paid": ("costs paid", DOLLARS),
    "pnl_equity": ("P&L: equity sleeve", DOLLARS),
    "pnl_condor": ("P&L: condor", DOLLARS),
    "pnl_futures": ("P&L: VX futures", DOLLARS),
    "pnl_calls": ("P&L: VIX calls", DOLLARS),
    "final_equity": ("final equity", DOLLARS),
    "hedge_ratio_mean": ("hedge ratio, mean", RATIO),
    "liquidity_cuts": ("liquidity-reserve cuts", COUNT),
    "sharpe_in_sample": ("Sharpe ratio before the hold-out", RATIO),
    "sharpe_out_of_sample": ("Sharpe ratio from the hold-out", RATIO),
    "time_in_band_in_sample": ("time in band before the hold-out", PERCENT),
    "time_in_band_out_of_sample": ("time in band from the hold-out", PERCENT),
    "skewness": ("skewness of daily excess returns", RATIO),
    "kurtosis": ("kurtosis of daily excess returns", RATIO),
    "stress_hedge_ratio": ("stress-calibrated hedge ratio", RATIO),
    "condor_exit_effect": ("exit rules against holding to expiry", DOLLARS),
    "overlay_sharpe": ("options overlay Sharpe ratio (vs equity sleeve)", RATIO),
    "overlay_skewness": ("overlay skewness", RATIO),
    "overlay_kurtosis": ("overlay kurtosis", RATIO),
}
"""Metric -> (label, unit)."""


def fmt(value: object, unit: str) -> str:
    """A value as shown on a page: percent with one decimal, dollars with thousands
    separators, ratios with two decimals or three significant places, 'n/a' for
    missing values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if unit == PERCENT:
        return f"{v * 100:,.1f} %"
    if unit == DOLLARS:
        return f"{v:,.0f}"
    if unit == COUNT:
        return f"{v:,.0f}"
    if unit == INDEX:
        return f"{v:,.1f}"
    return f"{v:,.2f}" if abs(v) >= 0.1 or v == 0 else f"{v:.3g}"
