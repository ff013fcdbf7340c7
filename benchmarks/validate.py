"""Time to validate the full warehouse built from the real data folder.

Prints the Great Expectations import time, the time of each suite on its whole table
(reading the table, building the suite, running it), the total, and the share of a full
ingest that validation takes (the ingest validates every series inside its transaction).

    .venv/bin/python benchmarks/validate.py [DATA_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)

started = time.perf_counter()
import expectations.runner  # noqa: E402,F401 - timed: GX's import is part of the cost

gx_import = time.perf_counter() - started

from expectations.suites import SUITES  # noqa: E402
from flows.ingest import IngestParams, ingest_flow  # noqa: E402
from flows.validation import check_table  # noqa: E402
from warehouse.db import writer  # noqa: E402


def main() -> None:
    data = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        warm = Path(tmp) / "warm"  # Prefect's warm-up: one small file, its own warehouse
        warm.mkdir()
        (warm / "fomc_meetings.csv").write_bytes((data / "fomc_meetings.csv").read_bytes())
        ingest_flow(IngestParams(source=f"dir:{warm}", db=Path(tmp) / "warm.duckdb"))
        t0 = time.perf_counter()
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        ingest = time.perf_counter() - t0
        print(f"{'table':22s} {'rows':>8s} {'rules':>5s} {'seconds':>8s}")
        total = 0.0
        with writer(db) as con:
            for table in SUITES:
                t = time.perf_counter()
                report = check_table(con, table)
                elapsed = time.perf_counter() - t
                total += elapsed
                assert report.passed, report.summary()
                print(f"{table:22s} {report.rows:8,d} {len(report.outcomes):5d} {elapsed:8.3f}")
    print(
        f"GX import: {gx_import:.2f} s; all suites: {total:.2f} s; "
        f"together {gx_import + total:.2f} s"
    )
    print(
        f"full ingest incl. validation: {ingest:.2f} s; validation share "
        f"{total / ingest:.0%} (target: validation adds < 30 s)"
    )


if __name__ == "__main__":
    main()
