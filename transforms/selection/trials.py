"""What a sweep's best configuration is tested against: distinct trials, their
effective number, and the deflated Sharpe ratio of the best under the stated null.

**The null.** A configuration's options book (condor, futures, calls and their costs)
adds nothing to its equity sleeve: the overlay's daily returns (the book's less the
equity sleeve's part, :func:`transforms.backtest.metrics.observe`) have a true
Sharpe ratio of zero. The increment is tested by the overlay's Sharpe ratio, deflated
for every trial made on the same data snapshot (:mod:`transforms.selection.dsr`).

**Trials counted: the best configuration's family.** A trial's family is its cost
model, fill, calibration id and data snapshot (:func:`trial_family`): trials under other
costs answer another question, and counting them would make the DSR depend on which
sweeps happened to run first. Within the family: the sweep's configurations with
distinct daily return series, their effective number by
:func:`~transforms.selection.dsr.effective_trials` on their monthly overlay returns,
plus every other distinct series the trial registry (``results.trials``) holds for the
family, each counted as independent (conservative: more trials, a lower DSR). The
snapshot-wide count is reported beside it (``snapshot_trials``). Ruined configurations
were tried, so they count; their Sharpe ratio up to the ruin is not comparable, so the
spread of trial Sharpe ratios is taken over the trials that were never ruined.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.calibration import calibration_id
from transforms.selection.blocks import Blocks
from transforms.selection.dsr import deflated_sharpe, effective_trials

NULL = "the equity sleeve alone (the overlay's Sharpe ratio is zero)"

COST_FIELDS = ("spx_commission", "spx_spread_model", "spx_spread_scale", "spx_half_spread")
FILL_FIELD = "spx_fill"
FAMILY_FIELDS = (*COST_FIELDS, FILL_FIELD)
"""The parameters that place a trial in a family, besides its calibration and snapshot."""


def trial_family(values: Mapping[str, object], snapshot: str) -> str:
    """The family of a configuration (its parameter ``values``) on ``snapshot``: a hash
    of its cost model (the flat half-spread only when the fitted model is off), its fill,
    its calibration id and the snapshot."""
    costs = {k: values[k] for k in COST_FIELDS}
    if costs["spx_spread_model"]:
        costs.pop("spx_half_spread")
    text = json.dumps(
        {
            "costs": costs,
            "fill": values[FILL_FIELD],
            "calibration": calibration_id(dict(values)),
            "snapshot": snapshot,
        },
        sort_keys=True,
        default=str,
    )
    return "fam-" + hashlib.sha256(text.encode()).hexdigest()[:12]


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
    trial_family: str | None  # the best configuration's family (None: no best)
    snapshot_trials: int  # distinct series on the snapshot, every family


def trial_stats(
    rows: pl.DataFrame,
    blocks: Blocks | None,
    registry: pl.DataFrame,
    *,
    min_time_in_band: float = 0.0,
    metric: str = "overlay_sharpe",
) -> TrialStats:
    """``rows``: a sweep's configurations (``config_hash``, ``returns_hash``, ``family``,
    ``ruined``, ``overlay_sharpe``, ``overlay_skewness``, ``overlay_kurtosis``,
    ``time_in_band``, in the order of ``blocks``' rows); ``registry``: earlier trials on
    the same snapshot (``returns_hash``, ``family``, ``overlay_sharpe``, ``sharpe``,
    ``ruined``). ``metric``: ``overlay_sharpe`` (the stated null) or ``sharpe`` (the
    book's excess return, null zero). The best configuration is deflated by the trials
    of its own family."""
    if metric not in ("overlay_sharpe", "sharpe"):
        raise ValueError(f"a deflated Sharpe ratio is of sharpe or overlay_sharpe, not {metric!r}")
    overlay = metric == "overlay_sharpe"
    skew, kurt = ("overlay_skewness", "overlay_kurtosis") if overlay else ("skewness", "kurtosis")
    indexed = rows.with_row_index("row")
    others = registry.filter(~pl.col("returns_hash").is_in(rows["returns_hash"].implode()))
    snapshot_trials = indexed["returns_hash"].n_unique() + others["returns_hash"].unique().len()
    eligible = rows.filter(
        ~pl.col("ruined") & (pl.col("time_in_band").fill_nan(0.0) >= min_time_in_band)
    ).filter(pl.col(metric).is_not_nan())
    best = (
        eligible.sort(metric, descending=True, maintain_order=True).row(0, named=True)
        if eligible.height
        else None
    )
    family = None if best is None else str(best["family"])
    if family is not None:
        indexed = indexed.filter(pl.col("family") == family)
        others = others.filter(pl.col("family") == family)
    first = indexed.unique("returns_hash", keep="first", maintain_order=True)
    others = others.unique("returns_hash", keep="first")
    distinct = first.height
    if blocks is not None and distinct:
        effective = effective_trials(
            blocks.sums["ov" if overlay else "ex"], first["row"].to_numpy()
        )
    else:
        effective = float(distinct)
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
    best_hash = best_sr = dsr = None
    if best is not None:
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
        ruined_trials=int(indexed["ruined"].sum()),
        effective_trials=round(float(effective), 3),
        registry_trials=others.height,
        trials_counted=round(float(counted), 3),
        overlay_best_config_hash=best_hash,
        overlay_best_sharpe=best_sr,
        overlay_deflated_sharpe=dsr,
        trial_family=family,
        snapshot_trials=int(snapshot_trials),
    )


def trial_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The registry's columns of a sweep's or a backtest's metrics rows."""
    return rows.select(
        "config_hash",
        "returns_hash",
        "family",
        "sharpe",
        "overlay_sharpe",
        "ruined",
    ).with_columns(pl.col("sharpe", "overlay_sharpe").fill_nan(None))
