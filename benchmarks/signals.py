"""Signal-table time and rolling-regression throughput.

1. The full daily signal table (1990 to the end of the data) from the warehouse built
   from the real data folder: read time and compute time separately (median of 5).
2. Rolling 60-day OLS of 10,000 return series x 5,000 days on one regressor with
   ``transforms.signals.regression.rolling_ols``, against statsmodels RollingOLS run per
   series on a sample of series in the same process; prints the ratio per series.

    .venv/bin/python benchmarks/signals.py [DATA_DIR]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
import numpy as np
from statsmodels.regression.rolling import RollingOLS
from statsmodels.tools import add_constant

from flows.ingest import IngestParams, ingest_flow
from transforms.signals.daily import SignalInputs, signals_daily
from transforms.signals.regression import rolling_ols
from warehouse.db import writer
from warehouse.load import read_table

SERIES, DAYS, WINDOW, REFERENCE_SERIES = 10_000, 5_000, 60, 20


def _signal_table(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        started = time.perf_counter()
        with writer(db) as con:
            tables = ("spx_daily", "vix_daily", "vix3m_daily", "vvix_daily", "nyse_breadth",
                      "vx_futures", "vx_term_structure", "vx_constant_maturity", "macro_monthly",
                      "fomc_meetings")  # fmt: skip
            spx, vix, vix3m, vvix, breadth, vx, curve, cm, macro, fomc = (
                read_table(con, t) for t in tables
            )
        read = time.perf_counter() - started
    inputs = SignalInputs(spx, vix, vix3m, vvix, breadth, vx, curve, cm, macro, fomc)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        table = signals_daily(inputs)
        runs.append(time.perf_counter() - started)
    print(
        f"signal table: {table.height:,} days x {table.width} columns "
        f"({table['date'].min()} .. {table['date'].max()}); "
        f"read {read:.2f} s, compute median {statistics.median(runs):.3f} s (target < 2 s)"
    )


def _regression() -> None:
    rng = np.random.default_rng(42)
    x = rng.normal(0.0, 0.01, DAYS)
    y = 0.3 * x[:, None] + rng.normal(0.0, 0.01, (DAYS, SERIES))
    started = time.perf_counter()
    ours = rolling_ols(y, x, window=WINDOW)
    vectorised = time.perf_counter() - started
    exog = add_constant(x)
    started = time.perf_counter()
    for j in range(REFERENCE_SERIES):
        fit = RollingOLS(y[:, j], exog, window=WINDOW).fit()
    reference = (time.perf_counter() - started) / REFERENCE_SERIES
    assert np.allclose(fit.rsquared[WINDOW:], ours.r2[WINDOW:, REFERENCE_SERIES - 1])
    per_series = vectorised / SERIES
    print(
        f"rolling OLS {SERIES:,} series x {DAYS:,} days, window {WINDOW}: {vectorised:.2f} s "
        f"({SERIES / vectorised:,.0f} series/s, {per_series * 1e3:.3f} ms/series)"
    )
    ratio = reference / per_series
    print(
        f"statsmodels RollingOLS per series ({REFERENCE_SERIES} series): "
        f"{reference * 1e3:.1f} ms/series -> {reference * SERIES:,.0f} s for {SERIES:,}; "
        f"ours is {ratio:,.0f}x faster (target >= 10x)"
    )


def main() -> None:
    data = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    )
    _signal_table(data)
    _regression()


if __name__ == "__main__":
    main()
