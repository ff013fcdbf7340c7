"""The daily signal ledger: each saved book's day (positions, the next session's actions
from the engine, R^2 now), appended to ``results.signal_ledger`` and never rewritten.

Each run adds, per book, one row for every session from the day after the book's last
ledger day to the last session every required input holds (each as of its own date, at
most ``catch_up`` of them per run, oldest first), and checks that last session again: a
day whose inputs and content are unchanged adds nothing; a late revision adds a new
version of that day and keeps the old one. The rows of a run are written in one
transaction, so a run killed before it leaves nothing half-written and the next run
writes them once.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow
from pydantic import BaseModel, Field

from flows import artifacts, settings
from flows.backtest import inputs_from
from flows.runlog import after_commit, say
from flows.settings import EXCHANGE_TZ
from transforms.backtest.params import BacktestParams, ParamValues, config_hash, with_values
from transforms.backtest.run import Inputs
from transforms.backtest.step import as_of_bound, book_today, inputs_digest, ledger_row
from transforms.staleness import input_staleness
from warehouse.db import WRITER_WAIT, connect_reader, publish_snapshot, writer
from warehouse.load import read_frame, read_table
from warehouse.results import append_ledger


class LedgerRequest(BaseModel):
    db: Path = Field(default_factory=settings.db_path)
    books: list[ParamValues] = Field(default_factory=lambda: [ParamValues()])
    session: date | None = Field(None, description="the session the run is for (today)")
    catch_up: int = Field(60, ge=1, description="missed sessions caught up per run, at most")


def input_status(con: Any, *, session: date) -> pl.DataFrame:
    """Each input's last date, what it should reach for ``session`` and whether it is
    stale (:func:`transforms.staleness.input_staleness`), through an open connection."""
    last = dict(read_frame(con, "query/input_last_dates").rows())
    calendar = read_table(con, "trading_calendar").filter(pl.col("nyse_open")).sort("date")
    return input_staleness(
        last,
        session=session,
        sessions=calendar["date"].to_list(),
        release_dates=read_table(con, "release_dates"),
    )


def stale_lines(status: pl.DataFrame, *, session: date) -> list[str]:
    """One line per stale input: its last date, what it should reach, what that means."""
    return [
        f"stale for the session of {session}: {r['input']} ends {r['last']} "
        f"(expected {r['expected']}{', required' if r['required'] else ''}): {r['effect']}"
        for r in status.filter(pl.col("stale")).iter_rows(named=True)
    ]


def _sessions(inputs: Inputs) -> list[date]:
    cal = inputs.calendar.filter(pl.col("nyse_open")).sort("date")
    return [d for d in cal["date"].to_list() if isinstance(d, date)]


def _after(sessions: list[date], day: date) -> date | None:
    return next((d for d in sessions if d > day), None)


@flow(name="ledger")
def ledger_flow(request: LedgerRequest) -> pl.DataFrame:
    """Append each book's missing and revised ledger days; returns the rows appended."""
    con = connect_reader(request.db, wait_seconds=WRITER_WAIT.seconds)
    try:
        inputs = inputs_from(con, request.db)
        fomc = set(read_table(con, "fomc_meetings")["date"].to_list())
        books = [with_values(BacktestParams(), b.given()) for b in request.books]
        stored = {
            h: read_frame(con, "query/ledger_latest", {"config_hash": h})
            for h in {config_hash(p) for p in books}
        }
        bound = as_of_bound(inputs)
        sessions = _sessions(inputs)
        today = request.session or datetime.now(EXCHANGE_TZ).date()
        due = max((d for d in sessions if d <= today), default=bound.as_of)
        status = input_status(con, session=due)
    finally:
        con.close()
    stale = {r["input"]: r["last"] for r in status.filter(pl.col("stale")).iter_rows(named=True)}
    for line in stale_lines(status, session=due):
        say(f"ledger: {line}")
    rows: list[dict[str, object]] = []
    code = settings.code_version()
    for p in books:
        h = config_hash(p)
        known = {r["as_of"]: r for r in stored[h].iter_rows(named=True)}
        last = max(known, default=None)
        days = [d for d in sessions if last is not None and last < d <= bound.as_of]
        if len(days) > request.catch_up:
            say(
                f"ledger: book {h}: {len(days)} sessions to catch up; this run writes the "
                f"oldest {request.catch_up}, the next run goes on"
            )
            days = days[: request.catch_up]
        for day in days or [bound.as_of]:
            nxt = _after(sessions, day)
            book = book_today(inputs, p, as_of=day, next_session=nxt, fomc_next=nxt in fomc)
            row = ledger_row(book, digest=inputs_digest(inputs, as_of=day), stale=stale)
            before = known.get(day)
            if before is not None and before["digest"] == row["digest"]:
                say(f"ledger: book {h} as of {day}: unchanged, nothing added")
                continue
            version = 1 if before is None else int(before["version"]) + 1
            rows.append(
                {**row, "version": version, "code_version": code, "recorded_at": datetime.now()}
            )
            say(
                f"ledger: book {h} as of {day} (bounded by {book.bound.bounded_by}): version "
                f"{version}, {book.actions.height} actions for {nxt}"
            )
    added = pl.DataFrame(rows, infer_schema_length=None)
    if rows:
        with writer(request.db) as wcon:
            append_ledger(wcon, added)
        with after_commit([f"{len(rows)} ledger rows"], "the snapshot and the artifact"):
            publish_snapshot(request.db)
            artifacts.table(
                "signal-ledger",
                added.select("config_hash", "as_of", "version", "next_session", "actions", "stale"),
                f"{len(rows)} ledger rows appended",
            )
    return added
