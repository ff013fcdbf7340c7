"""Prefect's own command line works with the pinned packages (pyproject.toml says why):
its listings against the ephemeral server and against a real `prefect server start`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import prefect_env, prefect_server

PREFECT = str(Path(sys.executable).with_name("prefect"))
LISTINGS = (("flow-run", "ls"), ("deployment", "ls"), ("artifact", "ls"))
UNPROCESSABLE = re.compile(r"Unprocessable|\" 422\b|status(?: code)?:? 422\b")
FLOW = "from prefect import flow\n@flow(name='hello')\ndef hello():\n    return 1\nhello()\n"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, check=False)


def _listings_work(env: dict[str, str]) -> None:
    hello = _run([sys.executable, "-c", FLOW], env)
    assert hello.returncode == 0, hello.stderr
    for listing in LISTINGS:
        result = _run([PREFECT, *listing], env)
        assert result.returncode == 0, (listing, result.stdout[-2000:], result.stderr[-2000:])
        # an HTTP 422 from the server, never the digits inside a run's id
        assert not UNPROCESSABLE.search(result.stdout + result.stderr)
    runs = _run([PREFECT, "flow-run", "ls"], env)
    assert "hello" in runs.stdout


@pytest.mark.slow
def test_prefect_listings_against_the_ephemeral_server(tmp_path: Path) -> None:
    _listings_work(prefect_env(tmp_path))


@pytest.mark.slow
def test_prefect_listings_against_a_real_server(tmp_path: Path) -> None:
    with prefect_server(tmp_path / "server") as api:
        _listings_work(prefect_env(tmp_path, PREFECT_API_URL=api))
