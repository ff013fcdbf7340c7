"""Loads: one transaction per batch (a series in an ingest run).

A batch writes its parsed rows to ``raw.rows``, its rejects to ``quarantine``, its
resolved rows to ``core.<table>`` (upsert on the natural key), and its outcome to
``ingest_runs`` — all or nothing. A failure leaves every table as it was; the failure
itself is then recorded in a separate transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from transforms.columns import LINE, LOCATION, Series
from warehouse.db import run, sql, transaction


@dataclass(frozen=True)
class RunInfo:
    """Who is loading: the run, the series, the source and when it started."""

    run_id: str
    series: str
    source: str
    started_at: datetime
    as_of: date


@dataclass(frozen=True)
class LoadCounts:
    """What a batch did. ``rows_read`` = skipped (no observation, placeholders) +
    quarantined + superseded (another copy of the key won: a file of higher precedence,
    or an identical repeat) + inserted + updated + unchanged."""

    rows_read: int
    rows_skipped: int
    superseded: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    warnings: tuple[str, ...] = ()


def _merge(
    con: duckdb.DuckDBPyConnection, name: str, incoming: pl.DataFrame, **params: object
) -> tuple[int, int]:
    """Run a MERGE load file against ``incoming``; (inserted, updated)."""
    # Not unregistered on error: DuckDB refuses that inside an aborted transaction,
    # and the next register() replaces the view anyway.
    con.register("incoming", incoming)
    actions = run(con, name, params or None).fetchall()
    con.unregister("incoming")
    inserted = sum(1 for (a,) in actions if a == "INSERT")
    return inserted, len(actions) - inserted


def _core_rows(frame: pl.DataFrame, series: Series, run_id: str) -> pl.DataFrame:
    return frame.select(
        *series.columns,
        pl.col(LOCATION).alias("source"),
        pl.lit(run_id).alias("ingest_run_id"),
    )


def _raw_rows(frame: pl.DataFrame, series: Series, run_id: str) -> pl.DataFrame:
    return frame.select(
        pl.lit(series.name).alias("series"),
        pl.col(LOCATION).alias("location"),
        pl.concat_str([pl.col(k).cast(pl.String) for k in series.key], separator="|").alias(
            "natural_key"
        ),
        pl.col(LINE).cast(pl.Int64).alias("line"),
        pl.struct(series.columns).struct.json_encode().alias("payload"),
        pl.lit(run_id).alias("ingest_run_id"),
    )


def load_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    series: Series,
    info: RunInfo,
    core: pl.DataFrame,
    parsed: pl.DataFrame,
    rejects: pl.DataFrame,
    locations: Sequence[str],
    rows_read: int,
    rows_skipped: int,
    fingerprint: str | None = None,
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    warnings: Sequence[str] = (),
    revisions: pl.DataFrame | None = None,
) -> LoadCounts:
    """Write one batch atomically and record it; return what changed.

    ``core`` holds one row per key (canonical columns + provenance); ``parsed`` every
    good row of every file (for the raw layer); ``rejects`` the quarantined rows;
    ``fingerprint`` identifies the inputs, so an identical later ingest can skip them.
    ``check`` runs inside the transaction after the core merge (it sees the table as the
    batch would leave it); an exception from it rolls the whole batch back (the caller
    then keeps the rejects with :func:`keep_rejects`). ``warnings`` are recorded with the
    run. ``revisions``: the stored values the batch replaces, kept in ``core.revisions``.
    """
    with transaction(con):
        if revisions is not None:
            keep_revisions(con, series=series, info=info, revisions=revisions)
        _merge(con, "load/raw_rows", _raw_rows(parsed, series, info.run_id))
        keep_rejects(con, series=series, run_id=info.run_id, rejects=rejects)
        params = {"as_of": info.as_of} if series.name == "macro_monthly" else {}
        inserted, updated = _merge(
            con, f"load/core_{series.name}", _core_rows(core, series, info.run_id), **params
        )
        if check is not None:
            check(con)
        counts = LoadCounts(
            rows_read=rows_read,
            rows_skipped=rows_skipped,
            superseded=rows_read - rows_skipped - rejects.height - core.height,
            inserted=inserted,
            updated=updated,
            unchanged=core.height - inserted - updated,
            quarantined=rejects.height,
            warnings=tuple(warnings),
        )
        record_run(
            con, info, status="succeeded", locations=locations, counts=counts, warnings=warnings
        )
        if fingerprint is not None:
            run(
                con,
                "load/ingest_fingerprint",
                {"series": series.name, "fingerprint": fingerprint, "run_id": info.run_id},
            )
    return counts


def keep_revisions(
    con: duckdb.DuckDBPyConnection, *, series: Series, info: RunInfo, revisions: pl.DataFrame
) -> None:
    """Append the stored values a batch replaces to ``core.revisions`` (inside the
    caller's transaction)."""
    if revisions.is_empty():
        return
    rows = revisions.with_columns(
        pl.lit(series.name).alias("series"),
        pl.lit(info.run_id).alias("ingest_run_id"),
        pl.lit(datetime.now()).alias("revised_at"),
    )
    con.register("incoming", rows)
    run(con, "load/revisions")
    con.unregister("incoming")


def keep_rejects(
    con: duckdb.DuckDBPyConnection, *, series: Series, run_id: str, rejects: pl.DataFrame
) -> None:
    """Merge a batch's rejected rows into ``quarantine`` (inside the caller's transaction)."""
    quarantine = rejects.select(
        pl.lit(series.name).alias("series"),
        "location",
        "line",
        "raw",
        "reason",
        pl.lit(run_id).alias("ingest_run_id"),
    )
    _merge(con, "load/quarantine", quarantine)


def load_signals(
    con: duckdb.DuckDBPyConnection,
    *,
    series: Series,
    frame: pl.DataFrame,
    run_id: str,
    fingerprint: str,
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> tuple[int, int, int]:
    """Upsert a recomputed signal table in one transaction; (inserted, updated, unchanged).

    ``fingerprint`` identifies the inputs it was computed from (recorded in the same
    transaction). ``check`` runs after the merge inside the transaction; raising rolls it
    back."""
    incoming = frame.select(series.columns).with_columns(pl.lit(run_id).alias("signal_run_id"))
    with transaction(con):
        inserted, updated = _merge(con, f"load/signals_{series.name}", incoming)
        if check is not None:
            check(con)
        run(
            con,
            "load/ingest_fingerprint",
            {"series": series.name, "fingerprint": fingerprint, "run_id": run_id},
        )
    return inserted, updated, frame.height - inserted - updated


def record_run(
    con: duckdb.DuckDBPyConnection,
    info: RunInfo,
    *,
    status: str,
    locations: Sequence[str] = (),
    counts: LoadCounts | None = None,
    error: str | None = None,
    warnings: Sequence[str] = (),
) -> None:
    """Insert or overwrite the ``ingest_runs`` row of (run, series)."""
    run(
        con,
        "load/ingest_run",
        {
            "run_id": info.run_id,
            "series": info.series,
            "source": info.source,
            "locations": list(locations),
            "started_at": info.started_at,
            "finished_at": datetime.now(),
            "rows_read": counts.rows_read if counts else None,
            "rows_skipped": counts.rows_skipped if counts else None,
            "rows_superseded": counts.superseded if counts else None,
            "rows_inserted": counts.inserted if counts else None,
            "rows_updated": counts.updated if counts else None,
            "rows_unchanged": counts.unchanged if counts else None,
            "rows_quarantined": counts.quarantined if counts else None,
            "status": status,
            "error": error,
            "warnings": list(warnings) or None,
        },
    )


def record_failure(
    con: duckdb.DuckDBPyConnection, info: RunInfo, *, error: str, locations: Sequence[str] = ()
) -> None:
    with transaction(con):
        record_run(con, info, status="failed", locations=locations, error=error)


def read_table(con: duckdb.DuckDBPyConnection, name: str, *, schema: str = "core") -> pl.DataFrame:
    """A whole table (``name`` from transforms.columns) as a Polars frame."""
    frame = pl.from_arrow(con.table(f"{schema}.{name}").to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def record_validation(
    con: duckdb.DuckDBPyConnection,
    *,
    validation_id: str,
    summary: dict[str, object],
    results: pl.DataFrame,
) -> None:
    """Record a suite run (``summary``: the validation_runs columns) and its rule results."""
    run(con, "load/validation_run", {"validation_id": validation_id, **summary})
    con.register("incoming", results.with_columns(pl.lit(validation_id).alias("validation_id")))
    run(con, "load/validation_results")
    con.unregister("incoming")


def read_frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object] | None = None
) -> pl.DataFrame:
    """Result of a named query as a Polars frame."""
    frame = pl.from_arrow(con.sql(sql(name), params=params).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame
