"""Operating figures: the daily pipeline run that adds one session to a warehouse holding
the full real history, and the longest hold of the warehouse's write lock (what a
reader, `alvh sql` or another flow, waits for) during that run and during a
12,096-configuration sweep.

1. Copies the data folder's curated files without the last session of each daily series
   (SPX, VIX, VIX3M, VVIX, VX futures, T-bill) and runs the pipeline flow on them
   (ingest, signals, the default book's backtest; not timed).
2. Restores the last session and runs the pipeline again: the daily run. Prints its time
   per step (target: under 60 s in all; the synthetic source needs no download, and
   here nothing is downloaded) and the write lock's longest hold (target: under 2 s).
3. Sweeps the grid of benchmarks/backtest.py through the sweep flow (every row written)
   and prints the write lock's longest hold.

    .venv/bin/python benchmarks/operate.py [DATA_DIR]
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
from backtest import GRID  # benchmarks/backtest.py, beside this script

from flows.backtest import SweepRequest, sweep_flow
from flows.pipeline import PipelineParams, pipeline_flow
from warehouse.db import WRITER_HOLDS

DAILY = (
    "spx_daily.csv.gz",
    "vix_daily.csv",
    "vix3m_daily.csv",
    "vvix_daily.csv",
    "vx_futures_daily.csv.gz",
    "tbill_3m_daily.csv",
)
AS_OF = date(2026, 11, 1)


def _without_last_session(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` without the rows of its last date; return that date."""
    data = source.read_bytes()
    packed = source.suffix == ".gz"
    lines = (gzip.decompress(data) if packed else data).decode().splitlines()
    last = max(line.split(",", 1)[0] for line in lines[1:])
    kept = "\n".join(line for line in lines if line.split(",", 1)[0] != last) + "\n"
    target.write_bytes(gzip.compress(kept.encode()) if packed else kept.encode())
    return last


def _held(label: str) -> None:
    print(
        f"{label}: write lock held {WRITER_HOLDS.count} times, longest "
        f"{WRITER_HOLDS.longest:.2f} s, {WRITER_HOLDS.total:.1f} s in all"
    )


def main(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp) / "in", Path(tmp) / "alvh.duckdb"
        folder.mkdir()
        for path in data.iterdir():
            if path.is_file() and not path.name.startswith("spx_options"):
                shutil.copy(path, folder / path.name)
        dropped = {name: _without_last_session(data / name, folder / name) for name in DAILY}
        params = PipelineParams(source=f"dir:{folder}", db=db, as_of=AS_OF)
        pipeline_flow(params)
        for name in DAILY:
            shutil.copy(data / name, folder / name)
        print(f"daily run adds the last session of each series: {sorted(set(dropped.values()))}")
        WRITER_HOLDS.reset()
        started = time.perf_counter()
        out = pipeline_flow(params)
        seconds = time.perf_counter() - started
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in out["seconds"].items())
        print(f"daily run: {seconds:.1f} s in all (target 60 s): {steps}")
        _held("daily run")

        WRITER_HOLDS.reset()
        dims = [(list(n), [list(r) for r in rows]) for n, rows in GRID]
        request = SweepRequest(db=db, dimensions=dims, chunk=2000)
        started = time.perf_counter()
        swept = sweep_flow(request)
        seconds = time.perf_counter() - started
        print(f"sweep of {swept['record']['configurations']:,} configurations: {seconds:.1f} s")
        _held("sweep")
        print("target for the longest hold: 2 s")


if __name__ == "__main__":
    main(
        Path(
            sys.argv[1]
            if len(sys.argv) > 1
            else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
        )
    )
