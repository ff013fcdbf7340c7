"""Sweep throughput: the vectorised engine against the reference simulator.

1. Builds a warehouse from the real data folder (ingest + signals; not timed).
2. Sweeps 12,096 second-engine configurations (hedge ratio 0-0.40 x 4 R-squared bands x
   3 ladder weightings x 3 call deltas x breadth scaler 2 x RSI scaler 2 x CPI scaler 2 x
   controller on/off) over 2004-03 to the end of the VX data with one condor
   configuration, through the Prefect sweep flow: engine, metrics, the top 5 re-run with
   the reference simulator, and writing every result row. Prints configurations per
   second and the peak memory of the process; then the same sweep on a local Dask
   cluster of 2 worker processes (prefect-dask), checking its rows are identical.
3. Times the reference simulator on a few configurations of the same grid and the
   vectorised engine alone on a 1,000-configuration chunk; prints the per-configuration
   ratio.

    .venv/bin/python benchmarks/backtest.py [DATA_DIR]
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from flows.backtest import SweepRequest, dask_runner, read_inputs, sweep_flow
from flows.ingest import IngestParams, ingest_flow
from flows.signals import SignalsParams, signals_flow
from transforms.backtest.params import BacktestParams, dimension, expand_grid
from transforms.backtest.reference import run_reference
from transforms.backtest.run import group_for
from transforms.backtest.vectorised import run_chunk

LADDERS = [[0.4, 0.4, 0.2], [0.6, 0.3, 0.1], [0.2, 0.4, 0.4]]
GRID = [
    dimension("hedge_ratio", "0:0.4:0.02"),
    dimension("r2_band", "0.45-0.65,0.35-0.55,0.55-0.75,0.40-0.70"),
    (["ladder_w2", "ladder_w3", "ladder_w4"], LADDERS),
    dimension("call_delta", "0.25,0.30,0.40"),
    dimension("breadth_scale", "0.15,0.25"),
    dimension("rsi_extra_calls", "0,0.5"),
    dimension("cpi_call_scale", "0,0.25"),
    dimension("controller", "false,true"),
]
REFERENCE_RUNS = 4
CHUNK = 2000


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        signals_flow(SignalsParams(db=db))
        configs = expand_grid(BacktestParams(), GRID)
        print(f"\ngrid: {len(configs):,} configurations, one condor configuration", flush=True)
        before = _peak_gib()
        started = time.perf_counter()
        out = sweep_flow(
            SweepRequest(
                db=db,
                dimensions=[(list(n), [list(r) for r in rows]) for n, rows in GRID],
                chunk=CHUNK,
            )
        )
        total = time.perf_counter() - started
        record = out["record"]
        engine = record["engine_seconds"]
        print(
            f"sweep: {len(configs):,} configurations in {total:.1f} s with writing "
            f"({len(configs) / total:,.0f}/s; target < 60 s); engine + metrics {engine:.1f} s "
            f"({len(configs) / engine:,.0f}/s); peak memory {_peak_gib():.2f} GiB "
            f"(process, {before:.2f} GiB before the sweep; target < 4 GiB)"
        )
        started = time.perf_counter()
        again = sweep_flow.with_options(task_runner=dask_runner(2))(
            SweepRequest(
                db=db,
                dimensions=[(list(n), [list(r) for r in rows]) for n, rows in GRID],
                chunk=CHUNK,
                workers=2,
            )
        )
        print(
            f"same sweep on a 2-process Dask cluster: {time.perf_counter() - started:.1f} s "
            f"with writing, engine + metrics {again['record']['engine_seconds']:.1f} s; "
            f"rows identical to the first run: {again['counts'][2]:,} of {len(configs):,}"
        )
        inputs = read_inputs(db)
        shutil.rmtree(tmp, ignore_errors=True)
    market = inputs.market(configs[0])
    group = group_for(market, configs[0])
    sample = configs[:: len(configs) // REFERENCE_RUNS][:REFERENCE_RUNS]
    started = time.perf_counter()
    for p in sample:
        run_reference(group, p)
    reference = (time.perf_counter() - started) / len(sample)
    chunk = configs[:1000]
    started = time.perf_counter()
    run_chunk(group, chunk)
    vectorised = (time.perf_counter() - started) / len(chunk)
    print(
        f"reference simulator: {reference * 1000:.0f} ms per configuration ({len(sample)} runs, "
        f"{market.days:,} sessions); vectorised engine: {vectorised * 1000:.2f} ms per "
        f"configuration (1,000 at once); ratio {reference / vectorised:,.0f}x (target >= 100x)"
    )


if __name__ == "__main__":
    folder = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    )
    main(folder)
