"""``alvh replicate``: rebuild published indices with the engine and keep the tracking.

Tasks: read (warehouse market tables and the published files under
``$ALVH_SHARED_DATA/reference``), replicate (transforms.replicate), write
(results.replication_runs / replication_daily, one transaction), chart (one HTML page per
index under ``./data/replication/``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows import settings
from flows.backtest import read_inputs
from flows.runlog import after_commit
from report import render
from transforms.backtest.params import BacktestParams, as_record
from transforms.backtest.run import Inputs
from transforms.parse.common import ParseError
from transforms.parse.reference import (
    CBOE_DAILY,
    CBOE_MONTHLY,
    SP_VIX_FUTURES,
    VXTH,
    ReferenceFile,
    parse_reference,
)
from transforms.replicate.run import (
    INDICES,
    PERCENT,
    REPORTED,
    Reference,
    Replication,
    check_indices,
    replicate,
)
from warehouse.db import publish_snapshot, writer
from warehouse.results import write_replication

SOURCE_FILE = {
    "SPVXSP": SP_VIX_FUTURES,
    "SPVXMP": SP_VIX_FUTURES,
    "VXTH": VXTH,
    "PUT": CBOE_DAILY,
    "CNDR": CBOE_DAILY,
}


class ReplicateRequest(BaseModel):
    db: Path
    reference: Path = Field(default_factory=lambda: settings.shared_data() / "reference")
    indices: list[str] = Field(default_factory=lambda: list(INDICES))
    charts: Path | None = Path("data/replication")


def _file(folder: Path, spec: ReferenceFile) -> Path:
    found = sorted(folder.glob(spec.pattern))
    if not found:
        raise FileNotFoundError(
            f"{folder}: no published file matching {spec.pattern} "
            "(set ALVH_SHARED_DATA or pass --reference)"
        )
    return found[-1]


def unscheduled_closures(start: date, end: date) -> list[date]:
    """NYSE closures that were not on the published holiday schedule (funerals, storms)."""
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS")
    return sorted(d.date() for d in cal.adhoc_holidays if start <= d.date() <= end)


@task(name="read-reference", cache_policy=NO_CACHE)
def read_reference(folder: Path) -> tuple[Reference, dict[str, str]]:
    """The published files, parsed; and each file's name and content hash."""
    frames, files = {}, {}
    for key, spec in (
        ("sp_vix", SP_VIX_FUTURES),
        ("cboe_daily", CBOE_DAILY),
        ("cboe_monthly", CBOE_MONTHLY),
        ("vxth", VXTH),
    ):
        path = _file(folder, spec)
        data = path.read_bytes()
        frames[key] = parse_reference(data, location=str(path), file=spec)
        files[spec.pattern] = f"{path.name}@{hashlib.sha256(data).hexdigest()[:12]}"
    return Reference(**frames), files


@task(name="replicate", cache_policy=NO_CACHE)
def compute(inputs: Inputs, reference: Reference, indices: list[str]) -> Replication:
    calendar = inputs.calendar["date"]
    closures = unscheduled_closures(calendar.min(), calendar.max())  # type: ignore[arg-type]
    return replicate(inputs, reference, indices=indices, unscheduled=closures)


def _rows(result: Replication, files: dict[str, str]) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    code = settings.code_version()
    params = json.dumps(
        {**as_record(BacktestParams()), **result.calibrated}, sort_keys=True, default=str
    )
    key = json.dumps(
        [
            code,
            params,
            sorted(result.snapshots.items()),
            sorted(files.items()),
            sorted(result.summary["index_name"].unique().to_list()),
        ]
    )
    rid = "replicate-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    now = datetime.now()
    runs = result.summary.with_columns(
        pl.lit(rid).alias("run_id"),
        pl.lit(params).alias("params"),
        pl.lit(code).alias("code_version"),
        pl.col("index_name").replace_strict(result.snapshots).alias("data_snapshot"),
        pl.col("index_name")
        .replace_strict({k: files[v.pattern] for k, v in SOURCE_FILE.items()}, default="")
        .alias("reference_file"),
        pl.lit(now).alias("created_at"),
    )
    daily = result.daily.with_columns(pl.lit(rid).alias("run_id"))
    return rid, runs, daily


@task(name="write-replication", cache_policy=NO_CACHE)
def store(db: Path, runs: pl.DataFrame, daily: pl.DataFrame) -> None:
    with writer(db) as con:
        write_replication(con, runs=runs, daily=daily)


@task(name="charts", cache_policy=NO_CACHE)
def write_charts(folder: Path, result: Replication) -> list[Path]:
    render.write_assets(folder)
    out = []
    for name in result.daily["index_name"].unique(maintain_order=True).to_list():
        daily = result.daily.filter(pl.col("index_name") == name)
        summary = result.summary.filter(pl.col("index_name") == name).select(REPORTED)
        path = folder / f"{name}.html"
        render.write_file(path, render.replication_html(name, daily, summary, PERCENT))
        out.append(path)
    return out


@flow(name="replicate")
def replicate_flow(request: ReplicateRequest) -> tuple[str, Replication, list[Path]]:
    """Replicate the requested indices; returns the run id, the result and the charts."""
    check_indices(request.indices)  # before any reading
    try:
        reference, files = read_reference(request.reference)
    except ParseError as exc:
        raise ValueError(f"published reference file unreadable: {exc}") from exc
    inputs = read_inputs(request.db)
    result = compute(inputs, reference, request.indices)
    rid, runs, daily = _rows(result, files)
    store(request.db, runs, daily)
    with after_commit([f"replication run {rid}"], "the snapshot and the charts"):
        publish_snapshot(request.db)
        charts = write_charts(request.charts, result) if request.charts is not None else []
    return rid, result, charts
