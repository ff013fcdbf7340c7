"""Results computed while the warehouse stayed busy: kept as Parquet files beside it
until :func:`load_staged` writes them (``alvh load-staged``).

A staged result is a folder ``<warehouse folder>/staged/<warehouse name>/<id>/`` holding
the sweep's record and per-configuration rows (for a sweep) and, per backtest run, its
run record, daily rows, trades and metrics. The folder appears whole (written under a
temporary name, then renamed) and is removed once loaded. Ids are content hashes, so
loading a staged result twice writes identical rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from transforms.backtest.rows import RunRows
from warehouse.results import write_backtest, write_sweep

RUN_PARTS = ("run", "daily", "trades", "metrics", "trial")


def staged_root(db: Path) -> Path:
    return db.parent / "staged" / db.stem


def _one_row(record: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([record], infer_schema_length=None)


def stage(
    db: Path,
    name: str,
    *,
    runs: list[RunRows],
    sweep: dict[str, Any] | None = None,
    results: pl.DataFrame | pl.LazyFrame | None = None,
    extra: dict[str, pl.DataFrame] | None = None,
) -> Path:
    """Write a result's rows under :func:`staged_root` and return its folder."""
    folder = staged_root(db) / name
    tmp = folder.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        if sweep is not None and results is not None:
            _one_row(sweep).write_parquet(tmp / "sweep.parquet")
            results.lazy().sink_parquet(tmp / "sweep_results.parquet")
            for table, frame in (extra or {}).items():
                frame.write_parquet(tmp / f"extra-{table}.parquet")
        for i, rows in enumerate(runs):
            part = tmp / f"run-{i:03d}"
            part.mkdir()
            _one_row(rows.run).write_parquet(part / "run.parquet")
            rows.daily.write_parquet(part / "daily.parquet")
            rows.trades.write_parquet(part / "trades.parquet")
            rows.metrics.write_parquet(part / "metrics.parquet")
            rows.trial.write_parquet(part / "trial.parquet")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def staged(db: Path) -> list[Path]:
    """The staged results waiting for ``db``, oldest first."""
    root = staged_root(db)
    if not root.is_dir():
        return []
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )


def _runs(folder: Path) -> list[RunRows]:
    out = []
    for part in sorted(folder.glob("run-*")):
        frames = {name: pl.read_parquet(part / f"{name}.parquet") for name in RUN_PARTS}
        out.append(
            RunRows(
                run=frames["run"].row(0, named=True),
                daily=frames["daily"],
                trades=frames["trades"],
                metrics=frames["metrics"],
                trial=frames["trial"],
            )
        )
    return out


def load_staged(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    """Write one staged result (one transaction per run or sweep), remove its folder,
    and say what was loaded. A staged file that cannot be read raises ValueError naming
    it; the folder is kept."""
    for path in sorted(folder.glob("*.parquet")):
        try:
            pl.read_parquet_schema(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ValueError(
                f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}); nothing "
                f"of {folder.name} was loaded and the folder is kept (delete it to drop "
                "that result)"
            ) from exc
    runs = _runs(folder)
    if (folder / "sweep.parquet").is_file():
        sweep = pl.read_parquet(folder / "sweep.parquet").row(0, named=True)
        results = pl.scan_parquet(folder / "sweep_results.parquet")
        extra = {
            path.stem.removeprefix("extra-"): pl.read_parquet(path)
            for path in sorted(folder.glob("extra-*.parquet"))
        }
        counts = write_sweep(con, sweep=sweep, results=results, top=runs, extra=extra)
        what = f"sweep {sweep['sweep_id']}: {sum(counts)} configurations, {len(runs)} runs"
    else:
        for rows in runs:
            write_backtest(con, rows)
        what = "backtest " + ", ".join(str(r.run["run_id"]) for r in runs)
    shutil.rmtree(folder)
    return what
