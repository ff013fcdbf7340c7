"""Prefect's own command line works with the pinned packages (pyproject.toml says why):
its listings against the ephemeral server and against a real `prefect server start`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

PREFECT = str(Path(sys.executable).with_name("prefect"))
LISTINGS = (("flow-run", "ls"), ("deployment", "ls"), ("artifact", "ls"))
FLOW = "from prefect import flow\n@flow(name='hello')\ndef hello():\n    return 1\nhello()\n"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {
        **env,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "COLUMNS": "200",  # tables wide enough to show whole names
        **extra,
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, check=False)


def _listings_work(env: dict[str, str]) -> None:
    hello = _run([sys.executable, "-c", FLOW], env)
    assert hello.returncode == 0, hello.stderr
    for listing in LISTINGS:
        result = _run([PREFECT, *listing], env)
        assert result.returncode == 0, (listing, result.stdout[-2000:], result.stderr[-2000:])
        assert "422" not in result.stdout + result.stderr
    runs = _run([PREFECT, "flow-run", "ls"], env)
    assert "hello" in runs.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_prefect_listings_against_the_ephemeral_server(tmp_path: Path) -> None:
    _listings_work(_env(tmp_path))


@pytest.mark.slow
def test_prefect_listings_against_a_real_server(tmp_path: Path) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = _env(tmp_path)
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert server.poll() is None, log.read_text()
        _listings_work({**env, "PREFECT_API_URL": api})
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
