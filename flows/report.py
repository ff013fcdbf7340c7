"""The report flow: warehouse -> transforms.report -> report.render -> HTML pages.

Pages go to ``out`` (default :func:`report_folder`: ``reports/<warehouse>/`` beside the
warehouse, so two markets never share a folder) with ``plotly.min.js`` beside them and an
``index.html`` linking every page in the folder. Each page names its market (real or
synthetic), its warehouse and its data snapshot. The flow only reads the warehouse.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows import settings
from flows.backtest import inputs_from
from flows.ledger import input_status
from flows.settings import EXCHANGE_TZ
from report import render
from transforms.backtest.params import BacktestParams, with_values
from transforms.backtest.step import as_of_bound, book_today
from transforms.replicate.run import PERCENT, REPORTED
from transforms.report.backtest import backtest_page
from transforms.report.market import market_page
from transforms.report.sweep import sweep_page
from transforms.report.tables import validation_outcomes
from transforms.report.today import today_page
from transforms.report.track import track_page
from warehouse.db import WRITER_WAIT, connect_reader, require_current_schema
from warehouse.load import read_frame, read_table

KINDS = {
    "backtest": "backtest",
    "sweep": "sweep",
    "today": "today's book",
    "track": "track record",
    "market": "weekly market",
    "replication": "replication",
    "validation": "validation",
}


def report_folder(db: Path) -> Path:
    """Where a warehouse's pages go by default: ``reports/<warehouse name>/`` beside it."""
    return db.parent / "reports" / db.stem


class ReportRequest(BaseModel):
    db: Path = Field(default_factory=settings.db_path)
    out: Path | None = Field(None, description="folder of the pages (report_folder(db))")
    runs: list[str] = Field(default_factory=list)  # backtest run ids
    sweeps: list[str] = Field(default_factory=list)
    latest: bool = (
        True  # the latest saved-book run, sweep, today's book, market, replication, validation
    )


class NotFound(LookupError):
    pass


def _one(frame: pl.DataFrame, what: str) -> dict[str, Any]:
    if frame.is_empty():
        raise NotFound(f"no {what} in the warehouse")
    return frame.row(0, named=True)


@task(name="backtest-page", cache_policy=NO_CACHE)
def write_backtest(con: Any, rid: str, out: Path) -> Path:
    run = _one(read_frame(con, "query/report_run", {"run_id": rid}), f"backtest run {rid}")
    page = backtest_page(
        run=run,
        daily=read_frame(con, "query/report_run_daily", {"run_id": rid}),
        trades=read_frame(con, "query/report_run_trades", {"run_id": rid}),
        metrics=run,
        spx=read_table(con, "spx_daily"),
    )
    return render.write_file(out / f"backtest-{rid}.html", render.backtest_html(page))


@task(name="sweep-page", cache_policy=NO_CACHE)
def write_sweep(con: Any, sid: str, out: Path) -> Path:
    record = _one(read_frame(con, "query/report_sweep", {"sweep_id": sid}), f"sweep {sid}")
    results = read_frame(con, "query/sweep_results", {"sweep_id": sid})
    frontier = read_frame(con, "query/frontier", {"sweep_id": sid})
    page = sweep_page(record=record, results=results, frontier=frontier)
    return render.write_file(out / f"sweep-{sid}.html", render.sweep_html(page))


@task(name="today-page", cache_policy=NO_CACHE)
def write_today(con: Any, db: Path, run: dict[str, Any], out: Path, market: str) -> Path:
    """Today's book of the latest saved book: the engine's book at its as-of close and its
    trades on the next session (:func:`transforms.backtest.step.book_today`)."""
    inputs = inputs_from(con, db)
    params = with_values(BacktestParams(), json.loads(run["params"]))
    sessions = inputs.calendar.filter(pl.col("nyse_open")).sort("date")["date"].to_list()
    fomc = set(read_table(con, "fomc_meetings")["date"].to_list())
    bound = as_of_bound(inputs)
    nxt = next((d for d in sessions if d > bound.as_of), None)
    today = book_today(
        inputs, replace(params, end_date=None), next_session=nxt, fomc_next=nxt in fomc
    )
    session = max(d for d in sessions if d <= max(datetime.now(EXCHANGE_TZ).date(), sessions[0]))
    status = input_status(con, session=session)
    page = today_page(today=today, signals=inputs.signals, market=market, status=status)
    return render.write_file(out / "today.html", render.today_html(page))


@task(name="track-record-page", cache_policy=NO_CACHE)
def write_track(con: Any, run: dict[str, Any], out: Path) -> Path | None:
    """The signal ledger of the latest saved book against its latest backtest."""
    ledger = read_frame(con, "query/ledger_book", {"config_hash": run["config_hash"]})
    if ledger.is_empty():
        return None
    daily = read_frame(con, "query/report_run_daily", {"run_id": run["run_id"]})
    page = track_page(ledger=ledger, daily=daily, run_id=str(run["run_id"]))
    return render.write_file(out / "track.html", render.track_html(page))


@task(name="market-page", cache_policy=NO_CACHE)
def write_market(con: Any, out: Path, params: dict[str, Any]) -> Path:
    page = market_page(
        signals=read_table(con, "signals_daily", schema="signals"),
        term_structure=read_table(con, "vx_term_structure"),
        macro=read_table(con, "macro_signals", schema="signals"),
        fomc=read_table(con, "fomc_meetings")["date"].to_list(),
        params=params,
    )
    return render.write_file(out / "market.html", render.market_html(page))


@task(name="replication-pages", cache_policy=NO_CACHE)
def write_replication(con: Any, out: Path) -> list[Path]:
    summary = read_frame(con, "query/report_replication")
    if summary.is_empty():
        return []
    rid = summary["run_id"][0]
    daily = read_frame(con, "query/report_replication_daily", {"run_id": rid})
    paths = []
    for name in summary["index_name"].unique(maintain_order=True).to_list():
        rows = summary.filter(pl.col("index_name") == name).select(REPORTED)
        html = render.replication_html(
            name, daily.filter(pl.col("index_name") == name), rows, PERCENT
        )
        paths.append(render.write_file(out / f"replication-{name}.html", html))
    return paths


@task(name="validation-page", cache_policy=NO_CACHE)
def write_validation(con: Any, out: Path) -> Path | None:
    rows = read_frame(con, "query/report_validation")
    if rows.is_empty():
        return None
    html = render.validation_html(str(rows["validation_id"][0]), validation_outcomes(rows))
    return render.write_file(out / "validation.html", html)


def write_index(out: Path) -> Path:
    pages = sorted(p for p in out.glob("*.html") if p.name != "index.html")
    entries = pl.DataFrame(
        {
            "kind": [KINDS.get(p.stem.split("-")[0], p.stem) for p in pages],
            "title": [p.stem for p in pages],
            "file": [p.name for p in pages],
            "written": [
                datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d %H:%M") for p in pages
            ],
        },
        schema={"kind": pl.String, "title": pl.String, "file": pl.String, "written": pl.String},
    )
    return render.write_file(out / "index.html", render.index_html(entries))


@flow(name="report")
def report_flow(request: ReportRequest) -> list[Path]:
    """Write the requested pages and the index; returns the pages written."""
    out = request.out or report_folder(request.db)
    out.mkdir(parents=True, exist_ok=True)
    render.write_assets(out)
    con = connect_reader(request.db, wait_seconds=WRITER_WAIT.seconds)
    try:
        require_current_schema(con, request.db)
        latest = read_frame(con, "query/report_latest").row(0, named=True)
        markets = read_frame(con, "query/warehouse_markets")["market"].to_list()
        market = "/".join(markets) or "no"
        runs, sweeps = list(request.runs), list(request.sweeps)
        if request.latest:
            runs += [latest["run_id"]] if latest["run_id"] and latest["run_id"] not in runs else []
            sweeps += (
                [latest["sweep_id"]]
                if latest["sweep_id"] and latest["sweep_id"] not in sweeps
                else []
            )
        written = [write_backtest(con, rid, out) for rid in runs]
        written += [write_sweep(con, sid, out) for sid in sweeps]
        if request.latest:
            params: dict[str, Any] = {}
            if latest["run_id"]:
                run = _one(read_frame(con, "query/report_run", {"run_id": latest["run_id"]}), "run")
                written.append(write_today(con, request.db, run, out, market))
                track = write_track(con, run, out)
                written += [track] if track else []
                params = json.loads(run["params"])
            written.append(write_market(con, out, params))
            written += write_replication(con, out)
            page = write_validation(con, out)
            written += [page] if page else []
        snapshot = latest["data_snapshot"] or "none (no backtest yet)"
    finally:
        con.close()
    for path in written:
        render.write_file(
            path,
            render.stamp(
                path.read_text(), market=market, warehouse=request.db.name, snapshot=snapshot
            ),
        )
    write_index(out)
    return written
