"""Backtest and sweep results: one transaction per run or sweep.

Run and sweep ids are hashes of their inputs (parameters, code version, data snapshot),
so writing the same result twice replaces rows with equal ones and never duplicates.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from transforms.backtest.rows import RunRows
from warehouse.db import run, transaction
from warehouse.load import read_frame

RESULT_TABLES = (
    "backtest_runs",
    "backtest_daily",
    "backtest_trades",
    "backtest_metrics",
    "sweep_runs",
    "sweep_results",
    "trials",
    "walk_forward",
    "walk_forward_daily",
    "replication_runs",
    "replication_daily",
    "signal_ledger",
    "calibrations",
    "frontier",
)


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("incoming", frame)
    run(con, f"load/results_{table}")
    con.unregister("incoming")


def _write_run(con: duckdb.DuckDBPyConnection, rows: RunRows) -> None:
    _write(con, "backtest_runs", pl.DataFrame([rows.run], infer_schema_length=None))
    _write(con, "backtest_daily", rows.daily)
    _write(con, "backtest_trades", rows.trades)
    _write(con, "backtest_metrics", rows.metrics)
    if not rows.trial.is_empty():
        _write(con, "trials", rows.trial)


def write_backtest(con: duckdb.DuckDBPyConnection, rows: RunRows) -> None:
    with transaction(con):
        _write_run(con, rows)


SWEEP_BATCH = 20_000
"""Rows of results.sweep_results compared and written at a time."""


def write_sweep(
    con: duckdb.DuckDBPyConnection,
    *,
    sweep: dict[str, Any],
    results: pl.DataFrame | pl.LazyFrame,
    top: list[RunRows],
    extra: dict[str, pl.DataFrame] | None = None,
) -> tuple[int, int, int]:
    """Write a sweep, its per-configuration rows, its top runs' daily rows and its
    ``extra`` tables (trials, walk-forward: table name -> rows) in one transaction;
    (inserted, changed, unchanged) configuration rows versus what the warehouse held
    for the same sweep id. ``results`` is read in batches of :data:`SWEEP_BATCH` rows
    (a sweep's rows stream from its spill files), each compared with the stored rows
    of the same configurations, then written."""
    inserted = changed = unchanged = 0
    with transaction(con):
        _write(con, "sweep_runs", pl.DataFrame([sweep], infer_schema_length=None))
        for part in results.lazy().collect_batches(chunk_size=SWEEP_BATCH):
            con.register("incoming", part)
            stored = read_frame(
                con, "query/sweep_results_incoming", {"sweep_id": sweep["sweep_id"]}
            )
            con.unregister("incoming")
            same = 0
            if not stored.is_empty():
                old = stored.select(part.columns)
                both = part.join(
                    old, on="config_hash", how="inner", suffix="_old", nulls_equal=True
                )
                equal = pl.all_horizontal(
                    pl.col(c).eq_missing(pl.col(f"{c}_old"))
                    for c in part.columns
                    if c != "config_hash"
                )
                same = int(both.select(equal.sum()).item())
                changed += both.height - same
            unchanged += same
            inserted += part.height - stored.height
            _write(con, "sweep_results", part)
        for rows in top:
            _write_run(con, rows)
        for table, frame in (extra or {}).items():
            if not frame.is_empty():
                _write(con, table, frame)
    return inserted, changed, unchanged


def write_replication(
    con: duckdb.DuckDBPyConnection, *, runs: pl.DataFrame, daily: pl.DataFrame
) -> None:
    """One replication run (its summary rows and daily rows) in one transaction."""
    with transaction(con):
        _write(con, "replication_runs", runs)
        _write(con, "replication_daily", daily)


def write_calibration(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """One calibration's row (replacing an equal one: its id hashes what was fitted)."""
    with transaction(con):
        _write(con, "calibrations", pl.DataFrame([row], infer_schema_length=None))


def append_ledger(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    """Append ledger rows (new versions only: the table is never rewritten), together."""
    with transaction(con):
        _write(con, "signal_ledger", rows)
