"""The sweep page: heatmaps over hedge ratio x band, the Pareto front of Sharpe against
time in band, the distribution of trial Sharpe ratios, the R-squared frontier (when the
sweep computed it), and the top configurations with how each differs from the defaults.

Heatmap cells show the best value over the sweep's other dimensions (the grid may vary
more than h and the band). Ruined configurations are never candidates: they are left out
of every figure, front and table of candidates, and listed apart with their ruin dates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from transforms.backtest.params import BacktestParams

HEATMAPS = {
    "sharpe": "Sharpe ratio",
    "time_in_band": "time in band",
    "sharpe_out_of_sample": "out-of-sample Sharpe ratio",
    "hedge_cost_flat": "hedge P&L in flat markets (per year)",
}
SCATTER_POINTS = 4000
"""Above this many configurations the scatter shows the Pareto front and a seeded sample
of the rest (a denser cloud looks the same; the page says so)."""


@dataclass(frozen=True)
class SweepPage:
    sweep_id: str
    record: dict[str, Any]
    heatmaps: dict[str, pl.DataFrame]  # metric -> band (rows) x hedge_ratio (columns)
    scatter: pl.DataFrame  # config_hash, sharpe, time_in_band, pareto
    sharpes: np.ndarray  # every surviving configuration's Sharpe ratio
    best_sharpe: float | None
    top: pl.DataFrame  # rank, config_hash, metric, the differences from the defaults
    ruined: pl.DataFrame  # config_hash, ruin_date, the differences from the defaults
    living: int  # configurations that were never ruined
    notes: list[str]
    frontier: pl.DataFrame  # results.frontier rows (empty without --frontier)


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of points no other point beats on both ``x`` and ``y`` (higher is better)."""
    order = np.lexsort((-y, -x))  # x descending, then y descending
    best_y = -np.inf
    mask = np.zeros(len(x), dtype=bool)
    for k in order:
        if y[k] > best_y:
            mask[k] = True
            best_y = y[k]
    return mask


def _band(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    return pl.format("{}-{}", low.round(2), high.round(2))


def sweep_page(
    *,
    record: dict[str, Any],
    results: pl.DataFrame,
    frontier: pl.DataFrame | None = None,
    seed: int = 0,
    top_n: int = 10,
) -> SweepPage:
    notes = []
    alive = results.filter(~pl.col("ruined"))
    dead = results.filter(pl.col("ruined")).sort("ruin_date", "config_hash")
    if dead.height == results.height:
        notes.append(
            f"every configuration ({dead.height}) was ruined (equity reached zero; the first "
            f"on {dead['ruin_date'][0]}): none is a candidate, so no figure is drawn; they "
            "are listed below with their ruin dates"
        )
    elif dead.height:
        notes.append(
            f"{dead.height} of {results.height} configurations were ruined (the first on "
            f"{dead['ruin_date'][0]}): they are left out of every figure and listed apart"
        )
    if results.height == 1:
        notes.append("a sweep of one configuration: no distribution, front or deflated Sharpe")
    banded = alive.with_columns(_band(pl.col("band_low"), pl.col("band_high")).alias("band"))
    heatmaps = {}
    for metric in HEATMAPS:
        if banded.is_empty():
            heatmaps[metric] = pl.DataFrame()
            continue
        cells = banded.group_by("band", "hedge_ratio").agg(pl.col(metric).fill_nan(None).max())
        heatmaps[metric] = (
            cells.sort("hedge_ratio")
            .pivot(on="hedge_ratio", index="band", values=metric)
            .sort("band")
        )
    x = alive["sharpe"].fill_nan(-np.inf).to_numpy()
    y = alive["time_in_band"].fill_nan(-np.inf).to_numpy()
    front = pareto_front(x, y) & np.isfinite(x) & np.isfinite(y)
    scatter = alive.select("config_hash", "sharpe", "time_in_band").with_columns(
        pl.Series("pareto", front)
    )
    if scatter.height > SCATTER_POINTS:
        rest = scatter.filter(~pl.col("pareto"))
        sample = rest.sample(n=SCATTER_POINTS, seed=seed)
        notes.append(
            f"the scatter shows the {int(front.sum())} configurations on the Pareto front and "
            f"{SCATTER_POINTS:,} of the other {rest.height:,} drawn at random (seed {seed})"
        )
        scatter = pl.concat([scatter.filter(pl.col("pareto")), sample])
    sharpes = alive["sharpe"].fill_nan(None).drop_nulls().to_numpy()
    metric = str(record.get("rank_metric") or "sharpe")
    ranked = (
        alive.with_columns(pl.col(metric).fill_nan(None))
        .sort(metric, descending=True, nulls_last=True)
        .head(top_n)
    )
    return SweepPage(
        sweep_id=str(record["sweep_id"]),
        record=record,
        heatmaps=heatmaps,
        scatter=scatter,
        sharpes=sharpes,
        best_sharpe=float(sharpes.max()) if len(sharpes) else None,
        top=_differences(ranked, metric),
        ruined=_differences(dead, "ruin_date").drop("rank", "time_in_band")
        if dead.height
        else pl.DataFrame(),
        living=alive.height,
        notes=notes,
        frontier=pl.DataFrame() if frontier is None else frontier,
    )


def _differences(ranked: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Each top configuration and its parameters that differ from the defaults."""
    defaults = BacktestParams()
    rows = []
    for k, row in enumerate(ranked.iter_rows(named=True), start=1):
        diff = []
        for f in fields(BacktestParams):
            value, default = row.get(f.name), getattr(defaults, f.name)
            if isinstance(default, date) or default is None:
                continue
            if value is not None and value != default:
                diff.append(
                    f"{f.name}={value:g}" if isinstance(value, float) else f"{f.name}={value}"
                )
        rows.append(
            {
                "rank": k,
                "config_hash": row["config_hash"],
                metric: row[metric],
                "time_in_band": row["time_in_band"],
                "differs_from_defaults": ", ".join(diff) or "(the defaults)",
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)
