"""Operating alvh: the deployments' schedules, idle days, and the served path end to end
against a real `prefect server start` (the README's "Operate" section, as a test)."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest

from cli.main import EXIT_FAILED, main
from flows.deployments import deployments
from flows.pipeline import PipelineParams, is_session, is_week_end, pipeline_flow
from flows.settings import EXCHANGE_TZ
from tests.conftest import prefect_env, prefect_server, stop

PREFECT = str(Path(sys.executable).with_name("prefect"))


def _next_runs(schedule: object, n: int, start: datetime) -> list[datetime]:
    from prefect.server.schemas.schedules import RRuleSchedule

    rrule = RRuleSchedule(rrule=schedule.rrule, timezone=schedule.timezone)  # type: ignore[attr-defined]
    return list(asyncio.run(rrule.get_dates(n=n, start=start)))


def test_schedules_skip_holidays_and_weekends_and_review_the_weeks_last_session() -> None:
    daily, weekly, adhoc = deployments(source="live", db=None, today=date(2026, 11, 30))
    assert (daily.name, weekly.name, adhoc.name) == ("daily", "weekly-review", "ad-hoc")
    assert not adhoc.schedules
    start = datetime(2026, 12, 19, tzinfo=EXCHANGE_TZ)
    ten = _next_runs(daily.schedules[0].schedule, 10, start)
    assert [d.date().isoformat() for d in ten] == [
        "2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-28",
        "2026-12-29", "2026-12-30", "2026-12-31", "2027-01-04", "2027-01-05",
    ]  # fmt: skip
    # Every run of 2026-2027 is a session, at 18:30 in New York, summer and winter alike.
    year = _next_runs(daily.schedules[0].schedule, 600, datetime(2026, 12, 1, tzinfo=EXCHANGE_TZ))
    span = [d for d in year if d.year <= 2027]
    assert len(span) == 21 + 252 and all(is_session(d.date()) for d in span)
    assert {(d.hour, d.minute) for d in span} == {(18, 30)}
    weeks = _next_runs(weekly.schedules[0].schedule, 60, datetime(2027, 1, 1, tzinfo=EXCHANGE_TZ))
    assert all(is_week_end(d.date()) for d in weeks)
    assert date(2027, 3, 25) in {d.date() for d in weeks}  # Good Friday: the Thursday


def test_a_day_that_is_no_session_ends_at_once_saying_so(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    out = pipeline_flow(PipelineParams(db=db, as_of=date(2026, 12, 25), sessions_only=True))
    assert out["note"] == "2026-12-25 is not an NYSE session: nothing to do"
    assert not db.exists()
    weekly = PipelineParams(db=db, as_of=date(2026, 12, 23), week_end_only=True)
    assert "not the week's last NYSE session" in pipeline_flow(weekly)["note"]


def test_serve_without_a_reachable_server_names_the_address(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert main(["serve", "--source", "synthetic"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: no Prefect server answers at http://127.0.0.1:9/api")
    assert "prefect server start" in err


def _prefect(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PREFECT, *args], env=env, capture_output=True, text=True, timeout=400, check=False
    )
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


def _state(api: str, run_id: str) -> str:
    return str(httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state_type"])


@pytest.mark.slow
def test_served_deployments_run_on_a_real_server(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with prefect_server(tmp_path / "server") as api:
        env = prefect_env(tmp_path / "client", PREFECT_API_URL=api)
        served = (tmp_path / "serve.log").open("w")
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--source", "synthetic", "--db", str(db)],
            cwd=tmp_path,
            env=env,
            stdout=served,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            listed = ""
            while time.monotonic() < deadline and "sweep/ad-hoc" not in listed:
                listed = _prefect("deployment", "ls", env=env).stdout
                time.sleep(1)
            for name in ("pipeline/daily", "pipeline/weekly-review", "sweep/ad-hoc"):
                assert name in listed
            schedules = _prefect("deployment", "schedule", "ls", "pipeline/weekly-review", env=env)
            assert "FREQ=WEEKLY;BYDAY=FR" in re.sub(r"[\s│┃]", "", schedules.stdout)
            (schedule_id,) = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", schedules.stdout)
            _prefect(
                "deployment", "schedule", "pause", "pipeline/weekly-review", schedule_id, env=env
            )
            params = f'{{"source": "synthetic", "db": "{db}", "sessions_only": false}}'
            run = _prefect(
                "deployment", "run", "pipeline/daily", "--param", f"params={params}",
                "--watch", "--watch-timeout", "360", env=env,
            )  # fmt: skip
            assert "Completed" in run.stdout
            (daily_id,) = set(re.findall(r"flow-run/([0-9a-f-]{36})", run.stdout))
            logs = _prefect("flow-run", "logs", daily_id, env=env).stdout
            assert "  steps: ingest" in logs  # the run's own lines reach the server at INFO
            artifacts = _prefect("artifact", "ls", env=env).stdout
            for key in ("ingest-summary", "validation", "backtest-metrics"):
                assert key in artifacts
            # A sweep runs; meanwhile a second process reads the export and alvh sql
            # reads the warehouse.
            request = (
                f'{{"db": "{db}", "values": {{"start_date": "2010-01-04"}}, "dimensions": '
                '{"hedge_ratio": "0:0.4:0.01", "r2_band": ["0.45-0.65", "0.35-0.55"]}}'
            )
            started = _prefect(
                "deployment", "run", "sweep/ad-hoc", "--param", f"request={request}", env=env
            )
            (run_id,) = re.findall(r"flow-run/([0-9a-f-]{36})", started.stdout)
            while _state(api, run_id) in ("SCHEDULED", "PENDING"):
                time.sleep(0.5)
            assert _state(api, run_id) == "RUNNING"
            reader = subprocess.run(
                [
                    sys.executable, "-c",
                    "import polars as pl, sys; "
                    "print(pl.read_parquet(sys.argv[1]).height)",
                    str(db.parent / "export" / "w" / "signals.signals_daily.parquet"),
                ],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert int(reader.stdout) > 5000
            sql = subprocess.run(
                [sys.executable, "-m", "cli", "sql", "--db", str(db), "--format", "csv",
                 "SELECT count(*) AS n FROM results.backtest_runs"],
                capture_output=True, text=True, check=True, env=env, cwd=tmp_path,
            )  # fmt: skip
            assert sql.stdout.splitlines() == ["n", "1"]
            deadline = time.monotonic() + 300
            while _state(api, run_id) == "RUNNING" and time.monotonic() < deadline:
                time.sleep(1)
            assert _state(api, run_id) == "COMPLETED"
            results = pl.read_parquet(db.parent / "export" / "w" / "results.sweep_results.parquet")
            assert results.height == 82
            assert not results["ruined"].any()  # the README's ad-hoc sweep: living books
            serve.send_signal(signal.SIGTERM)  # stops cleanly: exit 0, no warning
            assert serve.wait(timeout=60) == 0
            said = (tmp_path / "serve.log").read_text()
            assert "never awaited" not in said and "Traceback" not in said, said[-3000:]
            assert said.rstrip().endswith("alvh serve stopped")
        finally:
            stop(serve)
            served.close()


@pytest.mark.slow
def test_serve_stops_when_its_server_goes_away(tmp_path: Path) -> None:
    with prefect_server(tmp_path / "server") as api:
        env = prefect_env(tmp_path / "client", PREFECT_API_URL=api)
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--source", "synthetic"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and "sweep/ad-hoc" not in (
                _prefect("deployment", "ls", env=env).stdout
            ):
                time.sleep(1)
        except BaseException:
            stop(serve)
            raise
    # the server has stopped: serving ends by itself within a few health checks
    try:
        _, err = serve.communicate(timeout=120)
    finally:
        stop(serve)
    assert serve.returncode == EXIT_FAILED
    assert f"error: the Prefect server at {api} stopped answering" in err
    assert "never awaited" not in err, err[-3000:]
