"""The ingest flow: one Prefect task per series, each one transaction.

calendar -> every source series (SPX, VIX, VIX3M, VVIX, VX, breadth, CPI release dates,
CPI/PPI, T-bill, FOMC) -> derived VX curve tables. A series that fails (unreadable file,
download error) is recorded with its reason and does not stop the others; the flow run
then ends failed with a summary naming each failed series and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.states import State
from pydantic import BaseModel, Field

from flows import settings
from flows.sources import Item, Source, make_source, trading_calendar
from transforms.columns import (
    BY_NAME,
    CPI_RELEASE_DATES,
    INGESTED,
    LINE,
    LOCATION,
    MACRO_MONTHLY,
    RAW,
    TRADING_CALENDAR,
    VX_CONSTANT_MATURITY,
    VX_TERM_STRUCTURE,
    Series,
)
from transforms.macro import date_releases
from transforms.parse import ParsedBatch, ParseError
from transforms.quality import concat_rejects, resolve_precedence, split_malformed
from transforms.vx import constant_maturity, term_structure
from warehouse.db import connect_writer, publish_snapshot
from warehouse.load import LoadCounts, RunInfo, load_batch, read_frame, record_failure, record_run

CALENDAR_START = date(1990, 1, 1)


class IngestParams(BaseModel):
    """Parameters of an ingest run (validated the same way by Prefect and the CLI)."""

    source: str = Field("synthetic", description="dir:PATH, live, or synthetic[:SEED]")
    db: Path = Field(default_factory=settings.db_path)
    as_of: date = Field(default_factory=date.today, description="date revisions are dated by")
    seed: int = 7
    synthetic_start: date = date(2004, 1, 2)
    synthetic_end: date = date(2025, 12, 31)


class IngestFailed(RuntimeError):
    pass


def _with_provenance(frame: pl.DataFrame, location: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE),
        pl.lit("").alias(RAW),
        pl.lit(location).alias(LOCATION),
    )


def _load(
    db: Path,
    info: RunInfo,
    series: Series,
    batches: list[ParsedBatch],
    locations: list[str],
) -> LoadCounts:
    goods, rejects = [], [b.rejects for b in batches]
    for b in batches:
        good, bad = split_malformed(b.frame, series)
        goods.append(good)
        rejects.append(bad)
    core = resolve_precedence(goods, series)
    con = connect_writer(db)
    try:
        return load_batch(
            con,
            series=series,
            info=info,
            core=core,
            parsed=pl.concat(goods) if goods else core,
            rejects=concat_rejects(rejects),
            locations=locations,
            rows_read=sum(b.rows_read for b in batches),
            rows_skipped=sum(b.rows_skipped for b in batches),
        )
    finally:
        con.close()


def _record_failure(db: Path, info: RunInfo, error: str, locations: list[str]) -> None:
    con = connect_writer(db)
    try:
        record_failure(con, info, error=error, locations=locations)
    finally:
        con.close()


@task(name="load-calendar")
def load_calendar(db: Path, run_id: str, as_of: date) -> frozenset[date]:
    """Exchange calendar (XNYS, XCBF) into core.trading_calendar; returns NYSE holidays."""
    import exchange_calendars

    end = date(max(as_of.year, 2025) + 1, 12, 31)
    location = f"exchange_calendars {exchange_calendars.__version__} XNYS/XCBF"
    info = RunInfo(run_id, TRADING_CALENDAR.name, location, datetime.now(), as_of)
    frame = _with_provenance(trading_calendar(CALENDAR_START, end), location)
    batch = ParsedBatch(TRADING_CALENDAR, location, frame, concat_rejects([]), frame.height)
    _load(db, info, TRADING_CALENDAR, [batch], [location])
    return frozenset(frame.filter(~pl.col("nyse_open"))["date"].to_list())


@task(name="ingest-series")
def ingest_series(
    db: Path, run_id: str, source: Source, series_name: str, items: list[Item], as_of: date
) -> str:
    """Read, check and load every input of one series; returns a one-line outcome."""
    series = BY_NAME[series_name]
    info = RunInfo(run_id, series.name, source.label, datetime.now(), as_of)
    locations = [i.location for i in items]
    if not items:
        con = connect_writer(db)
        try:
            record_run(con, info, status="absent")
        finally:
            con.close()
        return f"{series.name}: absent from {source.label}"
    try:
        batches = [b for b in (source.read(i) for i in items) if b is not None]
        if series is MACRO_MONTHLY:
            con = connect_writer(db)
            try:
                release_dates = read_frame(con, "query/cpi_release_dates")
            finally:
                con.close()
            batches = [
                ParsedBatch(
                    b.series,
                    b.location,
                    date_releases(b.frame, release_dates),
                    b.rejects,
                    b.rows_read,
                    b.rows_skipped,
                )
                for b in batches
            ]
        counts = _load(db, info, series, batches, locations)
    except (ParseError, OSError, RuntimeError, ValueError) as exc:
        _record_failure(db, info, str(exc), locations)
        raise
    return (
        f"{series.name}: {counts.inserted} inserted, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {counts.quarantined} quarantined"
    )


@task(name="derive-vx-curve")
def derive_vx_curve(db: Path, run_id: str, as_of: date) -> str:
    """Rebuild core.vx_term_structure and core.vx_constant_maturity from core.vx_futures."""
    con = connect_writer(db)
    try:
        vx = read_frame(con, "query/vx_futures")
    finally:
        con.close()
    curve = term_structure(vx)
    cm = constant_maturity(curve)
    location = "derived from core.vx_futures"
    out = []
    for series, frame in ((VX_TERM_STRUCTURE, curve), (VX_CONSTANT_MATURITY, cm)):
        info = RunInfo(run_id, series.name, location, datetime.now(), as_of)
        framed = _with_provenance(frame, location)
        batch = ParsedBatch(series, location, framed, concat_rejects([]), frame.height)
        counts = _load(db, info, series, [batch], [location])
        out.append(f"{series.name}: {counts.inserted} inserted, {counts.updated} updated")
    return "; ".join(out)


def _failure(state: State) -> str:  # type: ignore[type-arg]
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the message is what we report
        return str(exc)
    return "failed"


@flow(name="ingest")
def ingest_flow(params: IngestParams) -> list[str]:
    """Ingest every series the source has into the warehouse; returns one line per series."""
    run_id = f"ingest-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    source = make_source(
        params.source,
        as_of=params.as_of,
        cache=settings.cache_dir(params.db),
        seed=params.seed,
        start=params.synthetic_start,
        end=params.synthetic_end,
    )
    print(f"ingest run {run_id} from {source.label} into {params.db}")
    holidays: Collection[date] = load_calendar(params.db, run_id, params.as_of)
    plan = source.plan(holidays=holidays)
    for location, reason in plan.ignored:
        print(f"  not loaded: {location} ({reason})")
    lines, failures = [], []
    ordered = [s for s in INGESTED if s is not TRADING_CALENDAR]
    # Release dates first: the macro task dates CPI values with them.
    ordered.sort(key=lambda s: s is not CPI_RELEASE_DATES)
    for series in ordered:
        state = ingest_series(
            params.db, run_id, source, series.name, plan.items.get(series.name, []), params.as_of,
            return_state=True,
        )
        if state.is_completed():
            lines.append(state.result())
        else:
            failures.append(f"{series.name}: {_failure(state)}")
        print(f"  {lines[-1] if state.is_completed() else 'FAILED ' + failures[-1]}")
    lines.append(derive_vx_curve(params.db, run_id, params.as_of))
    print(f"  {lines[-1]}")
    publish_snapshot(params.db)
    if failures:
        raise IngestFailed(
            f"ingest run {run_id}: {len(failures)} series failed:\n  " + "\n  ".join(failures)
        )
    return lines
