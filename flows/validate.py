"""The validate flow: run the data contracts on the warehouse as stored, record the
results in validation_runs / validation_results, and write a static HTML report."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel, Field

from expectations.runner import Report
from expectations.suites import SUITES
from flows import settings, validation
from flows.signals import stale_signals
from warehouse.db import transaction, writer
from warehouse.load import read_frame


class ValidateParams(BaseModel):
    db: Path = Field(default_factory=settings.db_path)
    tables: list[str] = Field(default_factory=list, description="tables to check (all if empty)")


@task(name="validate-table")
def validate_table(db: Path, validation_id: str, table: str) -> Report:
    with writer(db) as con, transaction(con):
        report = validation.check_table(con, table)
        validation.record(con, validation_id, report, blocked=False)
    return report


def check_tables(tables: list[str]) -> None:
    """ValueError naming any table without a suite."""
    unknown = sorted(set(tables) - set(SUITES))
    if unknown:
        raise ValueError(f"no suite for {', '.join(unknown)}; tables: {', '.join(SUITES)}")


def derived_mismatches(db: Path) -> list[str]:
    """One line per derived table not built from its inputs as stored (an interrupted
    run, a later ingest, other code or a hand-edited warehouse): the VX curve tables
    against core.vx_futures, the signal tables against the core tables and code."""
    with writer(db) as con:
        inputs = read_frame(con, "query/vx_curve_inputs").row(0, named=True)
        signals = stale_signals(con)
    return [
        *(
            f"core.{table}: built from other VX futures than those stored (run `alvh "
            "ingest`: it rebuilds it)"
            for table, key in (
                ("vx_term_structure", "term_structure"),
                ("vx_constant_maturity", "constant_maturity"),
            )
            if inputs[key] != inputs["futures"]
        ),
        *(
            f"signals.{table}: computed from other core data or code than those stored "
            "(run `alvh signals`: it recomputes it)"
            for table in signals
        ),
    ]


@flow(name="validate")
def validate_flow(params: ValidateParams) -> tuple[list[Report], Path]:
    """Validate each table; returns the reports and the HTML report's path."""
    check_tables(params.tables)
    validation_id = f"validate-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    reports = [validate_table(params.db, validation_id, table) for table in params.tables or SUITES]
    folder = params.db.parent / "validation"
    path = validation.write_html(reports, folder / f"{validation_id}.html", title=validation_id)
    (folder / "latest.html").write_text(path.read_text())
    return reports, path
