"""The metric registry: every metric a run reports, its label, unit and SQL column type,
in the column order of the result tables (``results.backtest_metrics`` and
``results.sweep_results``). The metrics code (:mod:`transforms.backtest.metrics`), the
pages' formats (:mod:`transforms.report.formats`) and the warehouse's start-up check of
the result tables' columns (:func:`warehouse.db.check_metric_columns`) all read it here.
No numerical imports: the warehouse reads it on every writer connection."""

from __future__ import annotations

from dataclasses import dataclass

PERCENT = "percent"
RATIO = "ratio"
DOLLARS = "dollars"
COUNT = "count"
INDEX = "index points"


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str
    sql_type: str = "DOUBLE"


REGISTRY: dict[str, Metric] = {
    "cagr": Metric("CAGR", PERCENT),
    "volatility": Metric("volatility (annualised)", PERCENT),
    "sharpe": Metric("Sharpe ratio (excess of T-bills)", RATIO),
    "sortino": Metric("Sortino ratio", RATIO),
    "max_drawdown": Metric("maximum drawdown", PERCENT),
    "calmar": Metric("Calmar ratio", RATIO),
    "ruined": Metric("ruined (equity reached zero)", COUNT, "BOOLEAN"),
    "r2_full": Metric("R² against SPX, whole run", RATIO),
    "beta_full": Metric("beta to SPX, whole run", RATIO),
    "capm_alpha": Metric("CAPM alpha (annualised)", PERCENT),
    "r2_60_mean": Metric("rolling 60-day R², mean", RATIO),
    "beta_60_mean": Metric("rolling 60-day beta, mean", RATIO),
    "time_in_band": Metric("time with R² inside the band", PERCENT),
    "unhedged_r2_full": Metric("unhedged book: R², whole run", RATIO),
    "unhedged_r2_60_mean": Metric("unhedged book: rolling R², mean", RATIO),
    "unhedged_time_in_band": Metric("unhedged book: time in band", PERCENT),
    "hedge_cost_flat": Metric("hedge P&L in flat markets (per year, of equity)", PERCENT),
    "drawdown_offset": Metric("drawdown offset (hedge P&L / condor loss, 3-5 % SPX falls)", RATIO),
    "drawdown_windows": Metric("3-5 % SPX falls with a condor loss", COUNT),
    "break_even_low": Metric("break-even, low (last condor)", INDEX),
    "break_even_high": Metric("break-even, high (last condor)", INDEX),
    "return_on_margin": Metric("condor return on margin (per year)", PERCENT),
    "turnover": Metric("contracts traded per year", COUNT),
    "costs_paid": Metric("costs paid", DOLLARS),
    "pnl_equity": Metric("P&L: equity sleeve", DOLLARS),
    "pnl_condor": Metric("P&L: condor", DOLLARS),
    "pnl_futures": Metric("P&L: VX futures", DOLLARS),
    "pnl_calls": Metric("P&L: VIX calls", DOLLARS),
    "final_equity": Metric("final equity", DOLLARS),
    "hedge_ratio_mean": Metric("hedge ratio, mean", RATIO),
    "liquidity_cuts": Metric("liquidity-reserve cuts", COUNT),
    "sharpe_in_sample": Metric("Sharpe ratio before the hold-out", RATIO),
    "sharpe_out_of_sample": Metric("Sharpe ratio from the hold-out", RATIO),
    "time_in_band_in_sample": Metric("time in band before the hold-out", PERCENT),
    "time_in_band_out_of_sample": Metric("time in band from the hold-out", PERCENT),
    "skewness": Metric("skewness of daily excess returns", RATIO),
    "kurtosis": Metric("kurtosis of daily excess returns", RATIO),
    "stress_hedge_ratio": Metric("stress-calibrated hedge ratio", RATIO),
    "condor_exit_effect": Metric("exit rules against holding to expiry", DOLLARS),
    "overlay_sharpe": Metric("options overlay Sharpe ratio (vs equity sleeve)", RATIO),
    "overlay_skewness": Metric("overlay skewness", RATIO),
    "overlay_kurtosis": Metric("overlay kurtosis", RATIO),
}

METRICS: tuple[str, ...] = tuple(REGISTRY)
"""Every metric a run reports, in the column order of the result tables."""
METRIC_TABLES = ("backtest_metrics", "sweep_results")
"""The result tables with a column per metric."""
