"""What a sweep's best configuration is tested against: distinct trials, their
effective number, and the deflated Sharpe ratio of the best under the stated null.

**The null.** A configuration's options book (condor, futures, calls and their costs)
adds nothing to its equity sleeve: the overlay's daily returns (the book's less the
equity sleeve's part, :func:`transforms.backtest.metrics.observe`) have a true
Sharpe ratio of zero. The increment is tested by the overlay's Sharpe ratio, deflated
for every trial made on the same data snapshot (:mod:`transforms.selection.dsr`).

**Trials counted.** The sweep's configurations with distinct daily return series, their
effective number by :func:`~transforms.selection.dsr.effective_trials` on their monthly
overlay returns, plus every other distinct series the trial registry
(``results.trials``) holds for the snapshot, each counted as independent (conservative:
more trials, a lower DSR). Ruined configurations were tried, so they count; their
Sharpe ratio up to the ruin is not comparable, so the spread of trial Sharpe ratios
is taken over the trials that were never ruined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.selection.blocks import Blocks
from transforms.selection.dsr import deflated_sharpe, effective_trials

NULL = "the equity sleeve alone (the overlay's Sharpe ratio is zero)"


@dataclass(frozen=True)
class TrialStats:
    null_hypothesis: str
    distinct_trials: int
    ruined_trials: int
    effective_trials: float
    registry_trials: int  # other distinct series on the snapshot
    trials_counted: float
    overlay_best_config_hash: str | None
    overlay_best_sharpe: float | None
    overlay_deflated_sharpe: float | None


def trial_stats(
    rows: pl.DataFrame,
    blocks: Blocks | None,
    registry: pl.DataFrame,
    *,
    min_time_in_band: float = 0.0,
    metric: str = "overlay_sharpe",
) -> TrialStats:
    """``rows``: a sweep's configurations (``config_hash``, ``returns_hash``, ``ruined``,
    ``overlay_sharpe``, ``overlay_skewness``, ``overlay_kurtosis``, ``time_in_band``,
    in the order of ``blocks``' rows); ``registry``: earlier trials on the same snapshot
    (``returns_hash``, ``overlay_sharpe``, ``sharpe``, ``ruined``). ``metric``:
    ``overlay_sharpe`` (the stated null) or ``sharpe`` (the book's excess return, null
    zero)."""
    if metric not in ("overlay_sharpe", "sharpe"):
        raise ValueError(f"a deflated Sharpe ratio is of sharpe or overlay_sharpe, not {metric!r}")
    overlay = metric == "overlay_sharpe"
    skew, kurt = ("overlay_skewness", "overlay_kurtosis") if overlay else ("skewness", "kurtosis")
    first = rows.with_row_index("row").unique("returns_hash", keep="first", maintain_order=True)
    distinct = first.height
    if blocks is not None and distinct:
        effective = effective_trials(
            blocks.sums["ov" if overlay else "ex"], first["row"].to_numpy()
        )
    else:
        effective = float(distinct)
    others = registry.filter(~pl.col("returns_hash").is_in(rows["returns_hash"].implode()))
    others = others.unique("returns_hash", keep="first")
    counted = max(effective, 1.0) + others.height
    alive = (
        pl.concat(
            [
                first.filter(~pl.col("ruined")).select(metric),
                others.filter(~pl.col("ruined")).select(metric),
            ],
            how="vertical_relaxed",
        )[metric]
        .fill_null(np.nan)
        .to_numpy()
    )
    eligible = rows.filter(
        ~pl.col("ruined") & (pl.col("time_in_band").fill_nan(0.0) >= min_time_in_band)
    ).filter(pl.col(metric).is_not_nan())
    best_hash = best_sr = dsr = None
    if eligible.height:
        best = eligible.sort(metric, descending=True, maintain_order=True).row(0, named=True)
        best_hash, best_sr = str(best["config_hash"]), float(best[metric])
        row = rows["config_hash"].to_list().index(best_hash)
        sessions = int(blocks.sums["n"][row].sum()) if blocks is not None else 0
        value = deflated_sharpe(
            sharpe=best_sr,
            sharpes=alive,
            skewness=float(best[skew]),
            kurtosis=float(best[kurt]),
            sessions=sessions,
            trials=counted,
        )
        dsr = value if math.isfinite(value) else None
    return TrialStats(
        null_hypothesis=NULL if overlay else "the book's excess return is zero",
        distinct_trials=distinct,
        ruined_trials=int(rows["ruined"].sum()),
        effective_trials=round(float(effective), 3),
        registry_trials=others.height,
        trials_counted=round(float(counted), 3),
        overlay_best_config_hash=best_hash,
        overlay_best_sharpe=best_sr,
        overlay_deflated_sharpe=dsr,
    )


def trial_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The registry's columns of a sweep's or a backtest's metrics rows."""
    return rows.select(
        "config_hash",
        "returns_hash",
        "sharpe",
        "overlay_sharpe",
        "ruined",
    ).with_columns(pl.col("sharpe", "overlay_sharpe").fill_nan(None))
