"""The backtest page: everything it shows, from a run's warehouse rows.

Inputs are ``results.backtest_daily`` / ``_trades`` / ``_metrics`` / ``_runs`` rows of
one run and SPX closes (``core.spx_daily``). Series are daily, one row per session of
the run; nothing is downsampled (22 years of sessions is 5,500 points per series).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from transforms.annual import drawdowns
from transforms.report.formats import UNITS, fmt
from transforms.selection.walk_forward import STRESS_WINDOWS

SLEEVES = ("pnl_equity", "pnl_condor", "pnl_futures", "pnl_calls")
SCALERS = {
    "breadth_divergence": "breadth divergence (A/D MACD)",
    "vix_rsi_low": "VIX RSI below threshold",
    "cpi_ppi_divergence": "CPI-PPI divergence",
}


@dataclass(frozen=True)
class BacktestPage:
    run_id: str
    headline: dict[str, str]  # final equity, Sharpe, time in band, ... as shown
    curves: pl.DataFrame  # date, book, equity_only, spx (each rebased to 1.0)
    drawdown: pl.DataFrame  # date, drawdown (fraction, <= 0)
    sleeves: pl.DataFrame  # date, cumulative P&L per sleeve and costs (dollars)
    r2: pl.DataFrame  # date, hedged, unhedged (rolling 60-day R²)
    band: tuple[float, float]
    hedge: pl.DataFrame  # date, hedge_ratio
    steps: pl.DataFrame  # date, hedge_ratio: the controller's moves
    cuts: pl.DataFrame  # date, hedge_ratio: liquidity cuts
    scalers: pl.DataFrame  # date, one 0/1 column per scaler
    vega: pl.DataFrame  # date, condor_vega, hedge_vega (dollars per point)
    stress: pl.DataFrame  # window, start, end, condor_loss, hedge_pnl, offset
    trades: pl.DataFrame
    metrics: pl.DataFrame  # metric, label, value (formatted)
    lineage: dict[str, str]
    notes: list[str]  # what is missing or unusual (no trades, ruined)


def backtest_page(
    *,
    run: dict[str, Any],
    daily: pl.DataFrame,
    trades: pl.DataFrame,
    metrics: dict[str, Any],
    spx: pl.DataFrame,
) -> BacktestPage:
    """The page of one run (``spx``: date, close)."""
    params = json.loads(run["params"]) if isinstance(run["params"], str) else run["params"]
    d = daily.sort("date").join(
        spx.select("date", pl.col("close").alias("spx")), on="date", how="left"
    )
    initial = float(params["initial_equity"])
    # the equity sleeve alone, as the book earns it (SPX close to close plus the dividend
    # accrual at equity_weight), from the SPX closes: it goes on after a ruin
    days = pl.col("date").diff().dt.total_days().fill_null(0)
    accrual = float(params["div_yield"]) * days / 365.0
    growth = pl.col("spx") / pl.col("spx").shift(1) - 1.0 + accrual
    curves = d.select(
        "date",
        pl.when(pl.col("equity") > 0).then(pl.col("equity") / initial).alias("book"),
        (1.0 + float(params["equity_weight"]) * growth.fill_null(0.0))
        .cum_prod()
        .alias("equity_only"),
        (pl.col("spx") / pl.col("spx").drop_nulls().first()).alias("spx"),
    )
    drawdown = d.select("date").with_columns(
        pl.Series("drawdown", drawdowns(d["equity"].to_numpy(), start=initial))
    )
    sleeves = d.select(
        "date",
        *(pl.col(s).cum_sum().alias(s.removeprefix("pnl_")) for s in SLEEVES),
        (-pl.col("costs")).cum_sum().alias("costs (in the sleeves above)"),
    )
    r2 = d.select(
        "date", pl.col("r2_60").alias("hedged"), pl.col("unhedged_r2_60").alias("unhedged")
    )
    moved = pl.col("hedge_ratio") != pl.col("hedge_ratio").shift(1)
    hedge = d.select("date", "hedge_ratio")
    steps = d.filter(moved & ~pl.col("liquidity_cut")).select("date", "hedge_ratio")
    cuts = d.filter(pl.col("liquidity_cut")).select("date", "hedge_ratio")
    scalers = d.select(
        "date", *(pl.col(c).cast(pl.Int8).alias(label) for c, label in SCALERS.items())
    )
    vega = d.select("date", "condor_vega", "hedge_vega")
    ruin = metrics.get("ruin_date") if metrics.get("ruined") else None
    stress = stress_windows(d, ruin=ruin)
    notes = []
    if trades.is_empty():
        notes.append("no trades: the run never opened a condor or a hedge")
    if ruin is not None:
        notes.append(
            f"ruined: equity reached zero on {ruin!s}; nothing trades after that (the book's "
            "curve ends there; the equity-only benchmark goes on)"
        )
    headline_names = (
        "final_equity",
        "cagr",
        "sharpe",
        "overlay_sharpe",
        "max_drawdown",
        "time_in_band",
        "hedge_cost_flat",
        "drawdown_offset",
    )
    headline = {UNITS[m][0]: fmt(metrics.get(m), UNITS[m][1]) for m in headline_names}
    table = pl.DataFrame(
        {
            "metric": list(UNITS),
            "label": [UNITS[m][0] for m in UNITS],
            "value": [fmt(metrics.get(m), UNITS[m][1]) for m in UNITS],
        }
    )
    lineage = {
        "run id": str(run["run_id"]),
        "configuration": str(run["config_hash"]),
        "code version": str(run["code_version"]),
        "data snapshot": str(run["data_snapshot"]),
        "calibration": str(run.get("calibration_id") or "n/a"),
        "sessions": f"{run['start_date']} .. {run['end_date']}",
        "parameters": json.dumps(params, sort_keys=True),
    }
    return BacktestPage(
        run_id=str(run["run_id"]),
        headline=headline,
        curves=curves,
        drawdown=drawdown,
        sleeves=sleeves,
        r2=r2,
        band=(float(params["band_low"]), float(params["band_high"])),
        hedge=hedge,
        steps=steps,
        cuts=cuts,
        scalers=scalers,
        vega=vega,
        stress=stress,
        trades=trades.sort("seq").drop("run_id", strict=False),
        metrics=table,
        lineage=lineage,
        notes=notes,
    )


def stress_windows(daily: pl.DataFrame, *, ruin: date | None = None) -> pl.DataFrame:
    """Per stress window inside the run: the condor's loss, the second engine's P&L and
    the offset (hedge P&L / condor loss; n/a when the condor did not lose); a window that
    ends after the book's ``ruin`` has no figures and says so."""
    rows = []
    first, last = daily["date"].min(), daily["date"].max()
    for name, (a, b) in STRESS_WINDOWS.items():
        start, end = date.fromisoformat(a), date.fromisoformat(b)
        if not (first <= start and end <= last):  # type: ignore[operator]
            continue
        if ruin is not None and ruin <= end:
            rows.append(
                {
                    "window": name.replace("_", " "),
                    "start": start,
                    "end": end,
                    "note": f"after the ruin on {ruin}",
                }
            )
            continue
        w = daily.filter(pl.col("date").is_between(start, end))
        loss = -float(w["pnl_condor"].sum())
        hedge = float((w["pnl_futures"] + w["pnl_calls"]).sum())
        rows.append(
            {
                "window": name.replace("_", " "),
                "start": start,
                "end": end,
                "condor_loss": loss,
                "hedge_pnl": hedge,
                "offset": hedge / loss if loss > 0 else None,
                "note": "" if loss > 0 else "the condor did not lose: no offset",
            }
        )
    schema = {
        "window": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "condor_loss": pl.Float64,
        "hedge_pnl": pl.Float64,
        "offset": pl.Float64,
        "note": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
