"""`alvh sweep --cluster`: chunks on a running Dask cluster (a real `dask scheduler` and
two `dask worker` processes on 127.0.0.1), one of them killed mid-sweep."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests.conftest import query

pytestmark = pytest.mark.slow

SWEEP = ["--param", "start_date=2019-01-02", "--param", "lots=10"]
SWEEP += ["--hedge-ratio", "0:0.3:0.1", "--r2-band", "0.45-0.65,0.35-0.55,0.55-0.75"]
SWEEP += ["--top", "1", "--chunk", "1"]
ROWS = "SELECT * EXCLUDE (sweep_id) FROM results.sweep_results ORDER BY config_hash"


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen[bytes]]


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """A dask process in a session of its own, so that it is stopped with its children
    (a worker that runs Prefect tasks starts Prefect's ephemeral API server)."""
    dask = str(Path(sys.executable).with_name("dask"))
    with log.open("w") as out:
        return subprocess.Popen(
            [dask, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever of it is still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        if sig == signal.SIGTERM:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            time.sleep(1)  # the group's children end after their leader


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed worker
    stays dead) on free local ports."""
    file = tmp_path / "scheduler.json"
    scheduler = _dask(
        "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
        "--scheduler-file", str(file), log=tmp_path / "scheduler.log",
    )  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert file.exists(), (tmp_path / "scheduler.log").read_text()
        address = json.loads(file.read_text())["address"]
        workers = [
            _dask(
                "worker",
                "--scheduler-file",
                str(file),
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                log=tmp_path / f"worker{k}.log",
            )
            for k in range(2)
        ]
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield Cluster(address, workers)
    finally:
        for process in [*workers, scheduler]:
            _stop_group(process)


@pytest.fixture
def db(research_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(research_warehouse, path)
    return path


def test_a_sweep_on_a_running_cluster_equals_the_in_process_sweep_and_survives_a_lost_worker(
    cluster: Cluster, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.backtest import SweepRequest, reporting, sweep_flow

    assert main(["sweep", "--db", str(db), *SWEEP]) == 0
    assert "sweep_results: 12 new" in capsys.readouterr().out
    alone = query(db, ROWS)
    # The same sweep through the running cluster: the same sweep id, the same rows.
    assert main(["sweep", "--db", str(db), *SWEEP, "--cluster", cluster.address]) == 0
    out = capsys.readouterr().out
    assert f"Dask cluster at {cluster.address}: 2 workers" in out
    assert "sweep_results: 0 new, 0 changed, 12 identical to the stored run" in out
    # Again, with one worker killed once the first chunk is back: its chunks run on the
    # other, and every row is written once, identical.
    victim = cluster.workers[0]
    done: list[int] = []

    def kill_after_first(configs: int) -> None:
        done.append(configs)
        if len(done) == 1:
            os.kill(victim.pid, signal.SIGKILL)

    request = SweepRequest(
        db=db,
        values={"start_date": "2019-01-02", "lots": 10},
        dimensions={"hedge_ratio": "0:0.3:0.1", "r2_band": ["0.45-0.65", "0.35-0.55", "0.55-0.75"]},
        top_n=1,
        chunk=1,
        cluster=cluster.address,
    )
    with reporting(kill_after_first):  # the flow puts itself on the cluster's task runner
        result = sweep_flow(request)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    assert sum(done) == 12 and len(done) == 12  # progress once per chunk
    assert result["counts"] == (0, 0, 12)
    assert query(db, ROWS).equals(alone)
    assert query(db, "SELECT count(*) AS n FROM results.sweep_results")["n"][0] == 12


def test_chunks_dask_cancels_are_sent_again_and_written_once(
    cluster: Cluster, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from distributed import Client, Future

    from flows.backtest import SweepRequest, reporting, sweep_flow

    assert main(["sweep", "--db", str(db), *SWEEP]) == 0
    alone = query(db, ROWS)
    capsys.readouterr()

    def unfinished(dask_scheduler: Any) -> list[str]:
        busy = ("processing", "queued", "no-worker", "waiting")
        return [ts.key for ts in dask_scheduler.tasks.values() if ts.state in busy]

    cancelled: list[str] = []
    done: list[int] = []
    with Client(cluster.address, timeout=30) as spy:

        def cancel_after_first(configs: int) -> None:
            done.append(configs)
            if len(done) == 1:  # every chunk not yet back, as if its worker had lost it
                cancelled.extend(spy.run_on_scheduler(unfinished))
                spy.cancel([Future(key, spy) for key in cancelled], force=True)

        request = SweepRequest(
            db=db,
            values={"start_date": "2019-01-02", "lots": 10},
            dimensions={
                "hedge_ratio": "0:0.3:0.1",
                "r2_band": ["0.45-0.65", "0.35-0.55", "0.55-0.75"],
            },
            top_n=1,
            chunk=1,
            cluster=cluster.address,
        )
        with reporting(cancel_after_first):
            result = sweep_flow(request)
    assert cancelled
    assert capsys.readouterr().out.count("cancelled by Dask") >= 1
    assert sum(done) == 12 and len(done) == 12
    assert result["counts"] == (0, 0, 12)
    assert query(db, ROWS).equals(alone)


def test_an_unreachable_cluster_is_one_error_line_within_a_bounded_time(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens once closed
    started = time.monotonic()
    assert main(["sweep", "--db", str(db), *SWEEP, "--cluster", f"tcp://127.0.0.1:{port}"]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert elapsed < 60, elapsed
    assert query(db, "SELECT count(*) AS n FROM results.sweep_runs")["n"][0] == 0
    # An address that is no address at all, from the environment: one line, at once.
    monkeypatch.setenv("ALVH_DASK_CLUSTER", "scheduler")
    assert main(["sweep", "--db", str(db), *SWEEP]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: 'scheduler' is not a Dask scheduler address (tcp://HOST:PORT)")
