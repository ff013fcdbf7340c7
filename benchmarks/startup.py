"""What a user waits for: whole commands, process start to exit, each beside the figure
from before (measured on this 2-core machine, quiet, at a34fe91).

1. `alvh --help` and an argument error (no warehouse needed).
2. Builds a warehouse from the real data folder (ingest + signals; not timed).
3. A warm `alvh backtest --param lots=10` and a warm one-configuration `alvh sweep`, each
   run three times (the best and the median printed): with Prefect's temporary server
   (no `PREFECT_API_URL`: the command starts one), then against a running
   `prefect server start` named by `PREFECT_API_URL` (started here, not timed).
4. The phases of one warm backtest with the temporary server: the command's own start
   (arguments, imports, reading the inputs and preparing the group) until it waits for
   the server, that wait, and the rest.
5. The scale benchmark's 12,096-configuration grid (`benchmarks/backtest.py`) as a user
   runs it, `alvh sweep --grid` from process start to exit, against the running server.

The commands run as ``python -m cli`` in TREE (default: this checkout), so the figures
from before come from the same script run on a worktree of the earlier commit:

    .venv/bin/python benchmarks/startup.py [DATA_DIR] [--tree TREE]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import configured  # noqa: F401 (first: the process's settings, before Prefect)
from backtest import BASE, CHUNK, GRID

from flows.ingest import IngestParams, ingest_flow
from flows.signals import SignalsParams, signals_flow

ALVH = [sys.executable, "-m", "cli"]
PREFECT = str(Path(sys.executable).with_name("prefect"))
BEFORE = {  # seconds, wall, medians of this script run on a34fe91 (--tree), quiet machine
    "help": 0.82,
    "argument error": 0.78,
    "backtest, temporary server": 14.17,
    "sweep of 1, temporary server": 14.00,
    "backtest, running server": 7.26,
    "sweep of 1, running server": 6.79,
    # a34fe91 had no dimension of parameters that vary together: its grid varied
    # ladder_w2 alone (the same 12,096 configurations' count and dimensions otherwise)
    "sweep of 12,096, running server": 14.0,
}
TARGET = 4.0  # seconds: the target for a warm backtest and a warm sweep of one
GRID_TARGET = 8.0  # seconds: the target for the 12,096-configuration grid
PHASES = """
import sys, time
start = time.perf_counter()
from flows import ephemeral
wait = ephemeral._wait
def timed(*args):
    t = time.perf_counter()
    wait(*args)
    print(f"phase {t - start:.2f} {time.perf_counter() - t:.2f}", file=sys.stderr)
ephemeral._wait = timed
from cli.main import main
sys.argv = ["alvh", *sys.argv[1:]]
code = main()
print(f"total {time.perf_counter() - start:.2f}", file=sys.stderr)
sys.exit(code)
"""


def _timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=env["PYTHONPATH"], capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2) or (done.returncode == 2) != ("--nope" in args):
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return seconds


def _line(label: str, seconds: list[float], target: float | None = None) -> None:
    best, median = min(seconds), statistics.median(seconds)
    before = BEFORE[label]
    goal = f"; target < {target:g} s" if target else ""
    print(
        f"{label}: best {best:.2f} s, median {median:.2f} s of {len(seconds)} (before "
        f"{before:.2f} s, x{before / median:.1f}{goal})",
        flush=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _commands(db: Path) -> dict[str, list[str]]:
    backtest = [*ALVH, "backtest", "--db", str(db), "--param", "lots=10"]
    sweep = [*ALVH, "sweep", "--db", str(db), "--param", "lots=10", "--hedge-ratio", "0.2"]
    return {"backtest": backtest, "sweep of 1": [*sweep, "--r2-band", "0.45-0.65"]}


def _grid_file(folder: Path) -> Path:
    """The scale benchmark's grid and base as a TOML grid file (dimensions of several
    parameters as one comma-joined key)."""
    lines = ["[base]", *(f"{k} = {json.dumps(v)}" for k, v in BASE.items()), "[grid]"]
    for names, rows in GRID:
        values = [list(r) for r in rows] if len(names) > 1 else [r[0] for r in rows]
        lines.append(f'"{",".join(names)}" = {json.dumps(values)}')
    path = folder / "scale.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(data: Path, tree: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PYTHONPATH"] = str(tree.resolve())
    print(f"commands: python -m cli in {tree.resolve()}", flush=True)
    _line("help", [_timed([*ALVH, "--help"], env) for _ in range(3)], 1.0)
    _line("argument error", [_timed([*ALVH, "backtest", "--nope"], env) for _ in range(3)], 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        ingest_flow(IngestParams(source=f"dir:{data}", db=db, as_of=date(2026, 11, 1)))
        signals_flow(SignalsParams(db=db))
        commands = _commands(db)
        for name, args in commands.items():
            _timed(args, env)  # warm: numba's cache, the warehouse in the page cache
            _line(f"{name}, temporary server", [_timed(args, env) for _ in range(3)], TARGET)
        probe = subprocess.run(
            [sys.executable, "-c", PHASES, *commands["backtest"][3:]],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
        )
        phases = {
            line.split(" ", 1)[0]: line.split()[1:]
            for line in probe.stderr.splitlines()
            if line.startswith(("phase ", "total "))
        }
        if "phase" in phases:
            before_wait, wait = (float(x) for x in phases["phase"])
            total = float(phases["total"][0])
            print(
                f"  phases of a backtest: start {before_wait:.2f} s (arguments, imports, "
                f"inputs read, group prepared, simulated), waiting for the server {wait:.2f} s, "
                "the flow and exit "
                f"{total - before_wait - wait:.2f} s ({total:.2f} s in the interpreter)",
                flush=True,
            )
        port = _free_port()
        home = Path(tmp) / "prefect"
        server_env = {**env, "PREFECT_HOME": str(home)}
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            api = f"http://127.0.0.1:{port}/api"
            deadline = time.monotonic() + 120
            while subprocess.run(
                ["curl", "-sf", f"{api}/health"], capture_output=True, check=False
            ).returncode:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"prefect server start did not answer on {api}")
                time.sleep(0.5)
            running = {**server_env, "PREFECT_API_URL": api}
            for name, args in commands.items():
                _timed(args, running)
                _line(f"{name}, running server", [_timed(args, running) for _ in range(3)], TARGET)
            grid = [*ALVH, "sweep", "--db", str(db), "--grid", str(_grid_file(Path(tmp)))]
            grid += ["--chunk", str(CHUNK)]
            _timed(grid, running)
            label = "sweep of 12,096, running server"
            _line(label, [_timed(grid, running) for _ in range(3)], GRID_TARGET)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    args = sys.argv[1:]
    tree = Path(__file__).resolve().parent.parent
    if "--tree" in args:
        at = args.index("--tree")
        tree = Path(args[at + 1])
        del args[at : at + 2]
    shared = os.environ.get("ALVH_SHARED_DATA", "../shared/data")
    main(Path(args[0]) if args else Path(shared), tree)
