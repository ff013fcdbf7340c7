"""What a backtest run writes, as rows: its record (parameters, code version, data
snapshot, times), daily rows, trades and metrics, each carrying the run id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from transforms.backtest.metric_registry import METRICS
from transforms.backtest.params import as_record, config_hash
from transforms.calibration import calibration_id
from transforms.selection.trials import trial_family, trial_rows

if TYPE_CHECKING:
    from transforms.backtest.run import Backtest


@dataclass(frozen=True)
class RunRows:
    """Everything one backtest run writes (each frame carries its run_id)."""

    run: dict[str, Any]
    daily: pl.DataFrame
    trades: pl.DataFrame
    metrics: pl.DataFrame
    trial: pl.DataFrame  # its row of the trial registry (none for a sweep's top re-run)


def run_rows(
    result: Backtest,
    *,
    rid: str,
    code: str,
    started: datetime,
    finished: datetime,
    sweep: str | None,
) -> RunRows:
    """The rows of run ``rid`` of ``result`` (``code``: the code version; ``sweep``: the
    sweep it belongs to, if any)."""
    p = result.params
    dates = result.daily["date"]
    trial = registry_rows(
        result.metrics, snapshot=result.snapshot, code=code, source="backtest", source_id=rid,
        at=finished, families=[trial_family(as_record(p), result.snapshot)],
    )  # fmt: skip
    return RunRows(
        run={
            "run_id": rid,
            "config_hash": config_hash(p),
            "params": json.dumps(as_record(p), sort_keys=True),
            "code_version": code,
            "data_snapshot": result.snapshot,
            "start_date": dates.min(),
            "end_date": dates.max(),
            "status": "succeeded",
            "sweep_id": sweep,
            "started_at": started,
            "finished_at": finished,
            "error": None,
            "calibration_id": calibration_id(as_record(p)),
        },
        daily=result.daily.with_columns(pl.lit(rid).alias("run_id")),
        trades=result.trades.with_columns(pl.lit(rid).alias("run_id")),
        metrics=result.metrics.with_columns(pl.lit(rid).alias("run_id")).select(
            ["run_id", *METRICS, "ruin_date"]
        ),
        trial=trial if sweep is None else trial.clear(),
    )


def registry_rows(
    metrics: pl.DataFrame,
    *,
    snapshot: str,
    code: str,
    source: str,
    source_id: str,
    at: datetime,
    families: Sequence[str],
) -> pl.DataFrame:
    """``results.trials`` rows of metrics rows (a backtest's one, or a sweep's), with
    each row's trial family."""
    family = pl.Series("family", list(families), dtype=pl.String)
    return trial_rows(metrics.with_columns(family)).with_columns(
        pl.lit(snapshot).alias("data_snapshot"),
        pl.lit(code).alias("code_version"),
        pl.lit(source).alias("source"),
        pl.lit(source_id).alias("source_id"),
        pl.lit(at).alias("recorded_at"),
    )
