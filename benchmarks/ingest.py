"""Ingest throughput on the real data folder: first ingest, re-ingest, forced re-ingest.

Rows are the rows of every input file (including vendor copies that the curated files
supersede). A re-ingest of unchanged files only fingerprints them (rows/s = input rows
covered per second); a forced re-ingest re-reads, re-checks and merges every row.
Prefect's ephemeral server is started by a warm-up run on a one-file folder first, so its
start-up is not counted.

    .venv/bin/python benchmarks/ingest.py [DATA_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
import duckdb

from flows.ingest import IngestParams, ingest_flow


def _rows_read(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        (rows,) = con.sql(
            "SELECT sum(rows_read) FROM ingest_runs WHERE run_id = "
            "(SELECT run_id FROM ingest_runs ORDER BY started_at DESC LIMIT 1)"
        ).fetchall()[0]
    finally:
        con.close()
    return int(rows)


def main() -> None:
    data = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "warm").mkdir()
        (work / "warm" / "fomc_meetings.csv").write_bytes((data / "fomc_meetings.csv").read_bytes())
        db = work / "alvh.duckdb"

        def ingest(folder: Path, *, force: bool = False) -> float:
            started = time.perf_counter()
            params = IngestParams(
                source=f"dir:{folder}", db=db, as_of=date(2026, 11, 1), force=force
            )
            ingest_flow(params)
            return time.perf_counter() - started

        warm = ingest(work / "warm")
        first = ingest(data)
        rows = _rows_read(db)
        again = ingest(data)
        forced = ingest(data, force=True)
        assert _rows_read(db) == rows
        size = db.stat().st_size / 2**20

    print(f"data folder: {data}  ({rows:,} rows read per ingest, warehouse {size:.0f} MiB)")
    print(f"warm-up (Prefect start, one file): {warm:6.2f} s")
    for label, seconds in (
        ("first ingest", first),
        ("re-ingest, files unchanged", again),
        ("re-ingest, forced re-read", forced),
    ):
        speed = f"({first / seconds:.1f}x the first)" if seconds != first else ""
        print(f"{label:27s}: {seconds:6.2f} s {rows / seconds:10,.0f} rows/s {speed}")


if __name__ == "__main__":
    main()
