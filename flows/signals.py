"""The signals flow: core tables -> transforms.signals -> signals.signals_daily and
signals.macro_signals (full recompute, upserted: unchanged rows stay untouched), each
recording the fingerprint of the inputs it was computed from; tables computed from the
inputs as stored are not recomputed (unless forced)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task
from pydantic import BaseModel, Field

from flows import artifacts, settings, validation
from flows.runlog import after_commit, say
from transforms.columns import MACRO_SIGNALS, SIGNAL_INPUTS, SIGNALS_DAILY
from transforms.signals.daily import SignalInputs, macro_monthly_signals, signals_daily
from warehouse.db import publish_snapshot, writer
from warehouse.load import load_signals, read_frame, read_table


class SignalsParams(BaseModel):
    db: Path = Field(default_factory=settings.db_path)
    force: bool = Field(
        default=False, description="recompute even tables computed from the inputs as stored"
    )


class InputsMissing(RuntimeError):
    """A core table the signals need is empty."""


def signal_inputs(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], dict[str, Any]]:
    """The fingerprint of each signal table's inputs as stored (the content of the core
    tables it reads, and the code version), and what ``query/signal_inputs`` says of the
    signal tables."""
    state = read_frame(con, "query/signal_inputs").row(0, named=True)
    code = settings.code_version()
    fingerprints = {
        series.name: hashlib.sha256(f"{state[part]} code={code}".encode()).hexdigest()[:32]
        for series, part in ((SIGNALS_DAILY, "core"), (MACRO_SIGNALS, "macro"))
    }
    return fingerprints, state


def stale_signals(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The signal tables not computed from their inputs as stored (none before the
    first signals run)."""
    fingerprints, state = signal_inputs(con)
    if not state["stored"]:
        return []
    return [name for name, fingerprint in fingerprints.items() if state[name] != fingerprint]


@task(name="compute-signals")
def compute_signals(db: Path, run_id: str, force: bool = False) -> list[str]:
    with writer(db) as con:
        fingerprints, state = signal_inputs(con)
        if not force and all(state[name] == fp for name, fp in fingerprints.items()):
            return [
                f"signals.{name}: computed from the core tables as stored, not recomputed"
                for name in fingerprints
            ]
        empty = [s.name for s in SIGNAL_INPUTS if read_table(con, s.name).is_empty()]
        if empty:
            raise InputsMissing(
                f"signals not computed: core.{', core.'.join(empty)} "
                f"{'is' if len(empty) == 1 else 'are'} empty in {db}; ingest "
                "a source that has them first (alvh ingest --source dir:PATH)"
            )
        inputs = SignalInputs(
            spx=read_table(con, "spx_daily"),
            vix=read_table(con, "vix_daily"),
            vix3m=read_table(con, "vix3m_daily"),
            vvix=read_table(con, "vvix_daily"),
            breadth=read_table(con, "nyse_breadth"),
            members=read_table(con, "sp500_breadth"),
            vx=read_table(con, "vx_futures"),
            curve=read_table(con, "vx_term_structure"),
            cm=read_table(con, "vx_constant_maturity"),
            macro=read_table(con, "macro_monthly"),
            fomc=read_table(con, "fomc_meetings"),
        )
    tables = (
        (SIGNALS_DAILY, signals_daily(inputs)),
        (MACRO_SIGNALS, macro_monthly_signals(inputs.macro)),
    )
    lines: list[str] = []
    stored: list[str] = []
    with after_commit(stored, "the remaining signal tables and the snapshot"):
        for series, frame in tables:
            try:
                with writer(db) as con:
                    inserted, updated, unchanged = load_signals(
                        con,
                        series=series,
                        frame=frame,
                        run_id=run_id,
                        fingerprint=fingerprints[series.name],
                        check=validation.gate(series.name, run_id),
                    )
            except validation.ValidationFailed as failed:
                validation.record_blocked(db, run_id, failed)
                raise
            stored.append(f"signals.{series.name}")
            counts = f"{inserted} inserted, {updated} updated, {unchanged} unchanged"
            lines.append(f"signals.{series.name}: {counts}")
    return lines


@flow(name="signals")
def signals_flow(params: SignalsParams) -> list[str]:
    run_id = f"signals-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    say(f"signals run {run_id} on {params.db}")
    lines = compute_signals(params.db, run_id, params.force)
    for line in lines:
        say(f"  {line}")
    with after_commit(
        [f"signals.{SIGNALS_DAILY.name}", f"signals.{MACRO_SIGNALS.name}"],
        "the snapshot and the run's artifact",
    ):
        publish_snapshot(params.db)
        artifacts.validation(params.db, run_id)
    return lines
