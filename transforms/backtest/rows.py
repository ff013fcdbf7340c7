"""What a backtest run writes, as rows: its record (parameters, code version, data
snapshot, times), daily rows, trades and metrics, each carrying the run id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from transforms.backtest.metrics import METRICS
from transforms.backtest.params import as_record, config_hash

if TYPE_CHECKING:
    from transforms.backtest.run import Backtest


@dataclass(frozen=True)
class RunRows:
    """Everything one backtest run writes (each frame carries its run_id)."""

    run: dict[str, Any]
    daily: pl.DataFrame
    trades: pl.DataFrame
    metrics: pl.DataFrame


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
        },
        daily=result.daily.with_columns(pl.lit(rid).alias("run_id")),
        trades=result.trades.with_columns(pl.lit(rid).alias("run_id")),
        metrics=result.metrics.with_columns(pl.lit(rid).alias("run_id")).select(
            ["run_id", *METRICS]
        ),
    )
