"""Prefect artifacts: what each flow run shows in Prefect's UI (and `prefect artifact ls`).

Keys name the kind of artifact, so the UI keeps each kind's history: ``ingest-summary``,
``validation``, ``backtest-metrics``, ``sweep-top``.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from warehouse.db import WRITER_WAIT, connect_reader
from warehouse.load import read_frame


def table(key: str, frame: pl.DataFrame, description: str) -> None:
    """A table artifact of ``frame`` (dates and times as ISO text)."""
    create_table_artifact(table=json.loads(frame.write_json()), key=key, description=description)


def note(key: str, text: str) -> None:
    """A markdown artifact of one sentence (what a table artifact would say when empty)."""
    create_markdown_artifact(markdown=text, key=key, description=text)


def link(key: str, target: str, description: str) -> None:
    """A link artifact (the weekly review publishes its report index this way)."""
    create_link_artifact(link=target, key=key, description=description)


def _read(db: Path, name: str, params: dict[str, object] | None = None) -> pl.DataFrame:
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        return read_frame(con, name, params)
    finally:
        con.close()


def ingest(db: Path, run_id: str) -> None:
    """The run's series with rows and quarantined rows, and its validation issues."""
    table(
        "ingest-summary",
        _read(db, "query/last_ingest_summary"),
        f"ingest run {run_id} into {db}: series, rows, quarantined rows",
    )
    validation(db, run_id)


def validation(db: Path, validation_id: str) -> None:
    issues = _read(db, "query/validation_issues", {"validation_id": validation_id})
    if issues.is_empty():
        create_markdown_artifact(
            markdown=f"Every data-contract rule passed in `{validation_id}`.",
            key="validation",
            description=f"validation of {validation_id}",
        )
    else:
        table("validation", issues, f"rules that failed or warned in {validation_id}")
