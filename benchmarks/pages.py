"""Report pages: how long the two big pages take to build and how large they are.

1. Builds a warehouse from the real data folder (ingest + signals; not timed).
2. Backtests the default book over 2004-03 .. the end of the VX data (not timed) and
   times its page: reading its rows, computing the figures (transforms.report) and
   rendering (report.render). Target < 5 s.
3. Sweeps the 12,096-configuration grid of benchmarks/backtest.py (not timed) and times
   its page the same way. Target < 10 s.
4. Prints each page's size (target < 8 MB each; plotly.min.js is shipped once beside them).

    .venv/bin/python benchmarks/pages.py [DATA_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
from backtest import GRID  # benchmarks/backtest.py: the 12,096-configuration grid

from flows.backtest import BacktestRequest, SweepRequest, backtest_flow, sweep_flow
from flows.ingest import IngestParams, ingest_flow
from flows.report import write_backtest, write_sweep
from flows.signals import SignalsParams, signals_flow
from report.render import write_assets
from warehouse.db import connect_reader


def main(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        out = Path(tmp) / "reports"
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        signals_flow(SignalsParams(db=db))
        rid, _ = backtest_flow(BacktestRequest(db=db, values={"lots": 10}))
        swept = sweep_flow(
            SweepRequest(
                db=db,
                values={"lots": 10},  # 50 lots are ruined by the spreads: nothing to draw
                dimensions=[(list(n), [list(r) for r in rows]) for n, rows in GRID],
            )
        )
        write_assets(out)
        con = connect_reader(db)
        try:
            for what, build, key in (
                ("backtest page, 2004-2026", write_backtest, rid),
                (f"sweep page, {swept['record']['configurations']:,} configurations", write_sweep,
                 swept["sweep_id"]),
            ):  # fmt: skip
                started = time.perf_counter()
                path = build.fn(con, key, out)
                seconds = time.perf_counter() - started
                target = 5 if what.startswith("backtest") else 10
                print(
                    f"{what}: {seconds:.2f} s (target < {target} s), "
                    f"{path.stat().st_size / 1e6:.2f} MB (target < 8 MB)",
                    flush=True,
                )
        finally:
            con.close()
        print(
            f"plotly.min.js beside the pages: {(out / 'plotly.min.js').stat().st_size / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    folder = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    )
    main(folder)
