"""Sweep throughput, memory and scale, each figure beside the one from before.

1. Builds a warehouse from the real data folder (ingest + signals; not timed).
2. Sweeps 12,096 second-engine configurations (hedge ratio 0-0.40 x 4 R-squared bands x
   3 ladder weightings x 3 call deltas x breadth scaler 2 x RSI scaler 2 x CPI scaler 2 x
   controller on/off; 10 condor lots, a book the fitted costs do not ruin) over 2004-03
   to the end of the VX data, through the Prefect sweep flow in a fresh process:
   engine, metrics, the top 5 re-run with the reference simulator, selection statistics
   and every row written. Prints configurations per second end to end and for the
   engine with its metrics, and the process's peak memory.
3. The same flow on a 108,864-configuration grid (the above x futures share 3 x
   liquidity reserve 3), in a fresh process: it completes, and its peak memory is that
   of a chunk plus about 1 KB of metrics per configuration (the monthly sums go to a
   mapped scratch file).
4. The engine alone on one 2,000-configuration chunk against the reference simulator
   (per configuration) and against a plain numba day loop across configurations with a
   similar amount of per-day state (the bound for this machine).
5. A paper estimate for a Dask cluster: per-chunk cost and the bytes shipped.

    .venv/bin/python benchmarks/backtest.py [DATA_DIR]
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
import numba
import numpy as np

from flows.backtest import SweepRequest, read_inputs, sweep_flow
from flows.ingest import IngestParams, ingest_flow
from flows.signals import SignalsParams, signals_flow
from transforms.backtest.metrics import MetricParams
from transforms.backtest.params import BacktestParams, dimension, expand_grid
from transforms.backtest.reference import run_reference
from transforms.backtest.run import evaluate, plan
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
LARGE = [*GRID, dimension("futures_share", "0.4,0.5,0.6"), dimension("reserve", "0.1,0.15,0.2")]
BASE = {"lots": 10}
CHUNK = 2000
REFERENCE_RUNS = 4

# Measured on 62a99b0 (before this change) with this script's grid and base, on this
# machine, numba's cache warm: the benchmark of that commit, run twice.
BEFORE = {
    "end_to_end": 317.0,  # configurations/s through the flow, rows written
    "engine": 404.0,  # engine + metrics, configurations/s
    "peak_gib": 2.90,
    "reference_ms": 364.0,  # reference simulator, per configuration
    "kernel_ms": 0.74,  # the engine without its metrics, per configuration
}


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _one_sweep(db: Path, large: bool) -> None:
    """Child process: one sweep through the flow; prints a JSON line of its figures.
    Prefect's server is started, and the engine loaded from numba's cache, by a
    two-configuration sweep first (not timed)."""
    from cli.main import without_heartbeats
    from flows import ephemeral

    ephemeral.start()
    with without_heartbeats("sweep"):  # as the command runs it
        _sweeps(db, large)


def _sweeps(db: Path, large: bool) -> None:
    sweep_flow(SweepRequest(db=db, values=BASE, dimensions={"hedge_ratio": "0.1,0.2"}, top_n=0))
    grid = LARGE if large else GRID
    before = _peak_gib()
    started = time.perf_counter()
    out = sweep_flow(
        SweepRequest(
            db=db,
            values=BASE,
            dimensions=[(list(n), [list(r) for r in rows]) for n, rows in grid],
            chunk=CHUNK,
        )
    )
    seconds = time.perf_counter() - started
    record = out["record"]
    figures = {
        "configs": record["configurations"],
        "seconds": seconds,
        "engine": record["engine_seconds"],
        "peak_gib": _peak_gib(),
        "peak_before_gib": before,
        "written": sum(out["counts"]),
    }
    print("RESULT " + json.dumps(figures), flush=True)


def _sweep_in_child(db: Path, *, large: bool) -> dict[str, float]:
    """A sweep in a fresh process, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--child", str(db), "large" if large else "grid"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"sweep failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


@numba.njit(cache=True, parallel=True)
def _plain_loop(x: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """A day loop across configurations with a few scalars of state per configuration
    (equity, a position, a ratio, a 60-session window's running sums): the bound."""
    for k in numba.prange(params.shape[0]):
        equity, position, h = 1.0e6, 0.0, params[k, 0]
        ring = np.zeros(60)
        s1 = s2 = 0.0
        for i in range(1, x.shape[0]):
            pnl = position * x[i] + equity * 0.5 * x[i]
            previous = equity
            equity += pnl
            if i % 5 == 0:
                position = -h * equity * (1.0 if s2 > params[k, 1] * s1 * s1 else 0.5)
            r = equity / previous - 1.0
            old = ring[i % 60]
            ring[i % 60] = r
            s1 += r - old
            s2 += r * r - old * old
        out[k] = equity + s1 + s2


def _ratios(db: Path, configs: list[BacktestParams]) -> dict[str, float]:
    inputs = read_inputs(db)
    work = plan(inputs, configs[:CHUNK], chunk=CHUNK, metric_params=MetricParams())
    run, _ = work.chunks[0]
    chunk = configs[:: len(configs) // CHUNK][:CHUNK]
    evaluate(run, chunk)  # compiled, and the group's call tables built (shared by its chunks)
    started = time.perf_counter()
    evaluate(run, chunk)
    engine = (time.perf_counter() - started) / len(chunk)
    started = time.perf_counter()
    run_chunk(run.group, chunk, run.sessions, keep=False)
    kernel = (time.perf_counter() - started) / len(chunk)
    sample = chunk[:: len(chunk) // REFERENCE_RUNS][:REFERENCE_RUNS]
    started = time.perf_counter()
    for p in sample:
        run_reference(run.group, p)
    reference = (time.perf_counter() - started) / len(sample)
    x = run.group.spx_return
    params = np.array([[c.hedge_ratio, c.band_low] for c in chunk] * 10)
    out = np.empty(len(params))
    _plain_loop(x, params[:10], out[:10])
    started = time.perf_counter()
    _plain_loop(x, params, out)
    plain = (time.perf_counter() - started) / len(params)
    shipped = len(pickle.dumps(run, protocol=5))
    per_chunk = len(pickle.dumps(chunk[:1000], protocol=5))
    return {
        "engine": engine,
        "kernel": kernel,
        "reference": reference,
        "plain": plain,
        "sessions": float(run.group.market.days),
        "group_bytes": float(shipped),
        "chunk_bytes": float(per_chunk),
    }


def main(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        signals_flow(SignalsParams(db=db))
        configs = expand_grid(BacktestParams(**BASE), GRID)  # type: ignore[arg-type]
        print(f"\ngrid: {len(configs):,} configurations, one condor configuration", flush=True)
        small = _sweep_in_child(db, large=False)
        n, total, engine = small["configs"], small["seconds"], small["engine"]
        print(
            f"sweep, end to end (flow, top 5 re-run, selection, {int(small['written']):,} rows "
            f"written): {total:.1f} s, {n / total:,.0f}/s (before {BEFORE['end_to_end']:,.0f}/s, "
            f"x{n / total / BEFORE['end_to_end']:.1f}; target under 8 s, >= 1,500/s counted from "
            "process start: this figure starts with the server up and numba loaded)\n"
            f"  engine + metrics: {engine:.1f} s, {n / engine:,.0f}/s (before "
            f"{BEFORE['engine']:,.0f}/s, x{n / engine / BEFORE['engine']:.1f}; target >= 6,000/s)\n"
            f"  peak memory {small['peak_gib']:.2f} GiB (before {BEFORE['peak_gib']:.2f} GiB; "
            "target < 2 GiB)",
            flush=True,
        )
        large = _sweep_in_child(db, large=True)
        n, total = large["configs"], large["seconds"]
        print(
            f"large grid: {int(n):,} configurations completed in {total:.1f} s "
            f"({n / total:,.0f}/s end to end, target >= 5,000/s; engine + metrics "
            f"{n / large['engine']:,.0f}/s); "
            f"{int(large['written']):,} rows written; peak memory {large['peak_gib']:.2f} GiB "
            f"({large['peak_gib'] - small['peak_gib']:+.2f} GiB against the 12,096 grid; "
            "target < 2 GiB)",
            flush=True,
        )
        r = _ratios(db, configs)
    engine_before_ms = 1000 / BEFORE["engine"]
    print(
        f"engine on one {CHUNK:,}-configuration chunk ({int(r['sessions']):,} sessions): "
        f"{1 / r['engine']:,.0f}/s with its metrics (before {BEFORE['engine']:,.0f}/s), "
        f"kernel alone {1 / r['kernel']:,.0f}/s (before {1000 / BEFORE['kernel_ms']:,.0f}/s)\n"
        f"  reference simulator {r['reference'] * 1000:.0f} ms per configuration: "
        f"{r['reference'] / r['engine']:,.0f}x the engine with metrics (before "
        f"{BEFORE['reference_ms'] / engine_before_ms:,.0f}x), {r['reference'] / r['kernel']:,.0f}x "
        f"the kernel (before {BEFORE['reference_ms'] / BEFORE['kernel_ms']:,.0f}x)\n"
        f"  plain numba day loop {1 / r['plain']:,.0f}/s: the engine with metrics runs at "
        f"{r['plain'] / r['engine']:.3f} of it (before {r['plain'] * 1000 / engine_before_ms:.3f}; "
        "target >= 0.1)"
    )
    per_core = 1 / r["engine"] / numba.get_num_threads()
    coordinator = small["seconds"] - small["engine"]  # serial work around the engine
    print(
        f"paper estimate on a Dask cluster: a chunk of 1,000 costs {1000 / per_core:.2f} s "
        f"per core and ships {r['chunk_bytes'] / 1e3:,.0f} kB of configurations; each "
        f"group's prepared run ({r['group_bytes'] / 1e6:.0f} MB) is scattered once per worker."
    )
    for cores in (8, 64):
        engine_s = small["configs"] / (per_core * cores)
        rate = small["configs"] / (engine_s + coordinator)
        print(
            f"  {cores} worker cores: engine {engine_s:.1f} s for the 12,096 grid; with the "
            f"coordinator's serial {coordinator:.1f} s, {rate:,.0f}/s end to end; the "
            f"108,864 grid: engine {large['configs'] / (per_core * cores):.1f} s"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _one_sweep(Path(sys.argv[2]), sys.argv[3] == "large")
    else:
        folder = Path(
            sys.argv[1]
            if len(sys.argv) > 1
            else os.environ.get("ALVH_SHARED_DATA", "../shared/data")
        )
        main(folder)
