"""The DAG that schedules run: ingest (validated) -> signals -> a backtest of each saved
book configuration. One parent flow, ``pipeline``, whose steps are subflows, so one run
tree shows in Prefect's UI.

A step whose inputs failed stops the steps that depend on it, naming the cause: when the
ingest fails (a series, a download, a data contract), the signals and backtests do not
run on the warehouse it left, unless ``allow_stale`` says to use the last good data (the
output then says so). With ``sessions_only`` (the daily schedule) a day that is not an
NYSE session ends at once, Completed, saying so.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from pydantic import BaseModel, Field

from flows import settings
from flows.backtest import BacktestRequest, backtest_flow
from flows.ingest import IngestFailed, IngestParams, ingest_flow
from flows.signals import SignalsParams, signals_flow

EXCHANGE_TZ = ZoneInfo("America/New_York")


class PipelineParams(BaseModel):
    """Parameters of a pipeline run (validated the same way by Prefect and the CLI)."""

    source: str = Field("synthetic", description="dir:PATH, live, or synthetic[:SEED]")
    db: Path | None = Field(None, description="warehouse (default: by the source's market)")
    seed: int = 4
    as_of: date | None = Field(None, description="date revisions are dated by (today)")
    force: bool = Field(False, description="re-read inputs even if unchanged")
    books: list[dict[str, Any]] = Field(
        default_factory=lambda: [{}],
        description="the saved book configurations to backtest: parameter overrides each "
        "(an empty one is the methodology's defaults)",
    )
    allow_stale: bool = Field(False, description="run the later steps even if the ingest failed")
    sessions_only: bool = Field(False, description="do nothing on a day that is no NYSE session")

    @property
    def warehouse(self) -> Path:
        return self.db or settings.db_path(source=self.source)


class PipelineStopped(RuntimeError):
    """A step failed, so the steps that depend on it did not run."""


def is_session(day: date) -> bool:
    """Whether ``day`` is an NYSE session (the exchange calendar, not hard-coded dates)."""
    import exchange_calendars as xc

    return bool(xc.get_calendar("XNYS").is_session(day.isoformat()))


@flow(name="pipeline")
def pipeline_flow(params: PipelineParams) -> dict[str, Any]:
    """Ingest, signals and the saved books' backtests, each a subflow of this run."""
    db = params.warehouse
    today = datetime.now(EXCHANGE_TZ).date()
    if params.sessions_only and not is_session(params.as_of or today):
        note = f"{params.as_of or today} is not an NYSE session: nothing to do"
        print(note, flush=True)
        return {"db": db, "note": note, "ingest": [], "signals": [], "backtests": []}
    stale = None
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
        print(f"warning: {stale}", flush=True)
        ingested = []
    lines = signals_flow(SignalsParams(db=db))
    runs = [backtest_flow(BacktestRequest(db=db, values=book)) for book in params.books]
    return {"db": db, "note": stale, "ingest": ingested, "signals": lines, "backtests": runs}
