"""Glue between the warehouse and the data contracts: validate a core table as stored
(or as a batch in flight would leave it) and record the outcome.

Great Expectations is imported only when a table is validated (about 5 s): an ingest
whose inputs are unchanged never pays for it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from report import render
from transforms.report.tables import validation_outcomes
from warehouse.db import transaction, writer
from warehouse.load import read_frame, read_table, record_validation

if TYPE_CHECKING:
    from expectations.runner import Report
    from expectations.suites import Context


class ValidationFailed(RuntimeError):
    """A critical rule failed; the batch is not promoted to core."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"validation failed:\n  {report.summary()}".replace("\n", "\n  "))
        self.report = report


def context(con: duckdb.DuckDBPyConnection) -> Context:
    from expectations.suites import Context

    calendar = read_frame(con, "query/validation_context")
    end = calendar["date"].max()
    return Context(
        sessions=frozenset(calendar.filter(pl.col("nyse_open"))["date"].to_list()),
        calendar_end=end if isinstance(end, date) else None,
        spx_dates=frozenset(read_frame(con, "query/spx_dates")["date"].to_list()),
        vix_open=read_frame(con, "query/vix_open"),
        suspect_vx=read_frame(con, "query/vx_suspect"),
    )


def check_table(con: duckdb.DuckDBPyConnection, table: str) -> Report:
    """Run the table's suite on its current state (inside the caller's transaction)."""
    from expectations.runner import validate
    from expectations.suites import STORED_IN, SUITES

    frame = read_table(con, table, schema=STORED_IN[table])
    return validate(SUITES[table](frame, context(con)))


def gate(table: str, validation_id: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """A check for a load's transaction: validate ``table`` as the load leaves it, record
    the report, and raise :class:`ValidationFailed` (rolling the load back) if it fails."""

    def check(con: duckdb.DuckDBPyConnection) -> None:
        report = check_table(con, table)
        if not report.passed:
            raise ValidationFailed(report)
        record(con, validation_id, report, blocked=False)

    return check


def record_blocked(db: Path, validation_id: str, failed: ValidationFailed) -> None:
    """Record a failed suite after its load was rolled back (a transaction of its own)."""
    with writer(db) as con, transaction(con):
        record(con, validation_id, failed.report, blocked=True)


def outcome_rows(report: Report) -> pl.DataFrame:
    """One row per rule of a suite's report (``validation_results`` columns)."""
    return pl.DataFrame(
        [
            {
                "table_name": report.table,
                "rule": o.rule,
                "frame": o.frame,
                "severity": o.severity,
                "success": o.success,
                "unexpected": o.unexpected,
                "examples": list(o.examples),
                "reason": o.reason,
                "error": o.error,
            }
            for o in report.outcomes
        ],
        schema={
            "table_name": pl.String,
            "rule": pl.String,
            "frame": pl.String,
            "severity": pl.String,
            "success": pl.Boolean,
            "unexpected": pl.Int64,
            "examples": pl.List(pl.String),
            "reason": pl.String,
            "error": pl.String,
        },
    )


def record(
    con: duckdb.DuckDBPyConnection, validation_id: str, report: Report, *, blocked: bool
) -> None:
    results = outcome_rows(report)
    record_validation(
        con,
        validation_id=validation_id,
        summary={
            "table_name": report.table,
            "suite": report.suite,
            "rows_validated": report.rows,
            "evaluated": len(report.outcomes),
            "failed": len(report.failures),
            "warnings": len(report.warnings),
            "success": report.passed,
            "blocked": blocked,
            "summary": report.summary(),
        },
        results=results,
    )


def write_html(reports: Sequence[Report], path: Path, *, title: str) -> Path:
    """The validation page (report.render, with plotly.min.js beside it): one table of
    rule outcomes per suite."""
    rows = pl.concat(
        [
            outcome_rows(r).with_columns(
                pl.lit(r.rows, dtype=pl.Int64).alias("rows_validated"),
                pl.lit(r.passed).alias("passed"),
            )
            for r in reports
        ]
    )
    render.write_assets(path.parent)
    render.write_file(path, render.validation_html(title, validation_outcomes(rows)))
    return path
