"""Tables the validation and replication pages show, shaped from warehouse rows."""

from __future__ import annotations

import polars as pl

Outcomes = list[tuple[str, int, bool, pl.DataFrame]]


def validation_outcomes(rows: pl.DataFrame) -> Outcomes:
    """Per table of a validation run (``query/report_validation`` rows): its name, rows
    validated, whether it passed, and one row per rule (rule, severity, result, rows
    failing, examples, why)."""
    out: Outcomes = []
    for (table,), part in rows.sort("table_name").group_by("table_name", maintain_order=True):
        outcomes = part.sort("rule").select(
            "rule",
            "severity",
            pl.when(pl.col("success"))
            .then(pl.lit("pass"))
            .otherwise(pl.col("error").fill_null("fail"))
            .alias("result"),
            pl.col("unexpected").alias("rows"),
            pl.col("examples").list.join(", ").fill_null("").alias("examples"),
            pl.col("reason").fill_null("").alias("why"),
        )
        first = part.row(0, named=True)
        out.append((str(table), int(first["rows_validated"]), bool(first["passed"]), outcomes))
    return out
