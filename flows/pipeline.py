"""The DAG that schedules run: ingest (validated) -> signals -> a backtest of each saved
book configuration -> the signal ledger of each (today's book) -> (when given a grid) a
sweep -> the reports. One parent flow, ``pipeline``, whose
steps are subflows, so one run tree shows in Prefect's UI.

A step whose inputs failed stops the steps that depend on it, naming the cause: when the
ingest fails (a series, a download, a data contract), the signals and backtests do not
run on the warehouse it left, unless ``allow_stale`` says to use the last good data (the
output then says so). With ``sessions_only`` (the daily schedule) a day that is not an
NYSE session ends at once, Completed, saying so; with ``week_end_only`` (the weekly
review) so does a day that is not the week's last session.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from flows import artifacts, settings
from flows.backtest import BacktestRequest, SweepRequest, backtest_flow, sweep_flow
from flows.ingest import IngestFailed, IngestParams, ingest_flow
from flows.ledger import LedgerRequest, input_status, ledger_flow, stale_lines
from flows.report import ReportRequest, report_flow, report_folder
from flows.runlog import say
from flows.settings import EXCHANGE_TZ
from flows.signals import SignalsParams, signals_flow
from transforms.backtest.params import ParamValues, read_grid, sweep_dimensions
from warehouse.db import WRITER_WAIT, connect_reader


class PipelineParams(BaseModel):
    """Parameters of a pipeline run (validated the same way by Prefect and the CLI)."""

    source: str = Field("synthetic", description="dir:PATH, live, or synthetic[:SEED]")
    db: Path | None = Field(None, description="warehouse (default: by the source's market)")
    seed: int = 4
    as_of: date | None = Field(None, description="date revisions are dated by (today)")
    force: bool = Field(False, description="re-read inputs and recompute signals even if unchanged")
    books: list[ParamValues] = Field(
        default_factory=lambda: [ParamValues()],
        description="the saved book configurations to backtest: parameter overrides each "
        "(an empty one is the methodology's defaults)",
    )
    sweep_grid: Path | None = Field(None, description="a TOML grid to sweep after the backtests")
    allow_stale: bool = Field(False, description="run the later steps even if the ingest failed")
    sessions_only: bool = Field(False, description="do nothing on a day that is no NYSE session")
    week_end_only: bool = Field(False, description="do nothing but on the week's last session")
    reports: bool = Field(
        True,
        description="refresh the HTML reports beside the warehouse (reports/): the latest "
        "book's page, today's book, the weekly market review, the sweep's page",
    )

    @property
    def warehouse(self) -> Path:
        return self.db or settings.db_path(source=self.source)


class PipelineStopped(RuntimeError):
    """A step failed, so the steps that depend on it did not run."""


def _nyse(day: date) -> Any:
    """The XNYS calendar around ``day`` (its default span ends a year from today)."""
    import exchange_calendars as xc

    return xc.get_calendar(
        "XNYS",
        start=date(day.year - 1, 1, 1).isoformat(),
        end=date(day.year + 1, 12, 31).isoformat(),
    )


def is_session(day: date) -> bool:
    """Whether ``day`` is an NYSE session (the exchange calendar, not hard-coded dates)."""
    return bool(_nyse(day).is_session(day.isoformat()))


def is_week_end(day: date) -> bool:
    """Whether ``day`` is the last NYSE session of its week."""
    cal = _nyse(day)
    if not cal.is_session(day.isoformat()):
        return False
    following = cal.next_session(day.isoformat()).date()
    return bool(following.isocalendar()[:2] != day.isocalendar()[:2])


def _idle(params: PipelineParams, day: date) -> str | None:
    if params.sessions_only and not is_session(day):
        return f"{day} is not an NYSE session: nothing to do"
    if params.week_end_only and not is_week_end(day):
        return f"{day} is not the week's last NYSE session: nothing to do"
    return None


@flow(name="pipeline")
def pipeline_flow(params: PipelineParams) -> dict[str, Any]:
    """Ingest, signals and the saved books' backtests, each a subflow of this run."""
    db = params.warehouse
    idle = _idle(params, params.as_of or datetime.now(EXCHANGE_TZ).date())
    if idle:
        say(idle)
        return {
            "seconds": {},
            "db": db,
            "note": idle,
            "ingest": [],
            "signals": [],
            "backtests": [],
            "ledger": None,
            "sweep": None,
            "reports": [],
        }
    stale, seconds, clock = None, {}, time.perf_counter()
    try:
        ingested = ingest_flow(
            IngestParams(
                source=params.source,
                db=db,
                seed=params.seed,
                force=params.force,
                **({"as_of": params.as_of} if params.as_of else {}),
            )
        )
    except IngestFailed as exc:
        if not params.allow_stale:
            raise PipelineStopped(
                f"{exc}\nsignals and backtests not run: the ingest failed "
                "(allow_stale / --allow-stale runs them on the last good data)"
            ) from None
        stale = f"the ingest failed; signals and backtests use the last good data ({exc})"
        say(f"warning: {stale}")
        ingested = []
    seconds["ingest"], clock = time.perf_counter() - clock, time.perf_counter()
    lines = signals_flow(SignalsParams(db=db, force=params.force))
    seconds["signals"], clock = time.perf_counter() - clock, time.perf_counter()
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        day = params.as_of or datetime.now(EXCHANGE_TZ).date()
        status = input_status(con, session=day)
    finally:
        con.close()
    for line in stale_lines(status, session=day):
        say(f"  {line}")
    runs = [backtest_flow(BacktestRequest(db=db, values=book)) for book in params.books]
    seconds["backtests"], clock = time.perf_counter() - clock, time.perf_counter()
    ledger = ledger_flow(LedgerRequest(db=db, books=params.books, session=params.as_of))
    seconds["ledger"], clock = time.perf_counter() - clock, time.perf_counter()
    swept = None
    if params.sweep_grid is not None:
        base, specs = read_grid(params.sweep_grid.read_text(), where=str(params.sweep_grid))
        swept = sweep_flow(SweepRequest(db=db, values=base, dimensions=sweep_dimensions(specs)))
        seconds["sweep"] = time.perf_counter() - clock
    pages: list[Path] = []
    if params.reports:
        clock = time.perf_counter()
        folder = report_folder(db)
        pages = report_flow(ReportRequest(db=db, out=folder, latest=True))
        seconds["reports"] = time.perf_counter() - clock
        artifacts.link(
            "reports",
            (folder / "index.html").resolve().as_uri(),
            f"{len(pages)} report pages, refreshed by this run",
        )
    say("  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return {
        "seconds": seconds,
        "db": db,
        "note": stale,
        "ingest": ingested,
        "signals": lines,
        "backtests": runs,
        "ledger": ledger,
        "sweep": swept,
        "reports": pages,
    }
