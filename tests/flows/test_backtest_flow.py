"""`alvh backtest` and `alvh sweep` on the real warehouse: output, tables, re-runs."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from cli.main import main
from flows.backtest import SweepRequest
from tests.conftest import holding, query

RANK = (
    "SELECT config_hash, hedge_ratio, band_low, band_high, sharpe, time_in_band "
    "FROM results.sweep_results WHERE time_in_band >= {share} ORDER BY sharpe DESC"
)


@pytest.fixture
def db(research_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(research_warehouse, path)
    return path


def _counts(db: Path) -> dict[str, int]:
    tables = ("backtest_runs", "backtest_daily", "backtest_trades", "backtest_metrics")
    tables += ("sweep_runs", "sweep_results")
    return {t: query(db, f"SELECT count(*) AS n FROM results.{t}")["n"][0] for t in tables}


def test_alvh_backtest_prints_metrics_and_rewrites_the_same_rows(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--db", str(db), "--param", "start_date=2016-01-04"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for metric in ("sharpe", "max_drawdown", "r2_60_mean", "unhedged_r2_60_mean", "time_in_band"):
        assert f"│ {metric} " in out
    run_id = out.split("run ")[1].split()[0]
    counts = _counts(db)
    sessions = query(
        db,
        "SELECT count(*) AS n FROM signals.signals_daily WHERE date >= '2016-01-04' "
        "AND date <= (SELECT max(trade_date) FROM core.vx_futures)",
    )["n"][0]
    assert counts["backtest_runs"] == counts["backtest_metrics"] == 1
    assert counts["backtest_daily"] == sessions
    assert counts["backtest_trades"] > 100
    run = query(db, "SELECT * FROM results.backtest_runs").row(0, named=True)
    assert run["run_id"] == run_id and run["status"] == "succeeded"
    assert '"hedge_ratio": 0.2' in run["params"] and len(run["data_snapshot"]) == 16
    # Same inputs: same run id, same rows, nothing duplicated.
    before = query(db, "SELECT * FROM results.backtest_metrics")
    assert main(args) == 0
    assert f"run {run_id} " in capsys.readouterr().out
    assert _counts(db) == counts
    assert query(db, "SELECT * FROM results.backtest_metrics").equals(before)


def test_alvh_backtest_refuses_bad_parameters_before_running(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--db", str(db), "--param", "hedge=0.3"]) == 2
    assert "unknown parameter 'hedge' (did you mean hedge_ratio" in capsys.readouterr().err
    assert main(["backtest", "--db", str(db), "--param", "h_min=0.5"]) == 2
    assert "need h_min <= h_max, got 0.5, 0.4" in capsys.readouterr().err
    assert _counts(db)["backtest_runs"] == 0


def test_alvh_sweep_writes_ranked_results_once(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "sweep",
        "--db",
        str(db),
        "--param",
        "start_date=2015-01-02",
        "--param",
        "lots=10",  # 50 lots on $1M do not survive the chain's spreads
        "--hedge-ratio",
        "0:0.4:0.1",
        "--r2-band",
        "0.45-0.65,0.35-0.55,0.55-0.75",
        "--top",
        "2",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "sweep: 15 configurations (hedge_ratio 5 x band_low/band_high 3)" in out
    assert "sweep_results: 15 new, 0 changed, 0 identical to the stored run" in out
    assert "deflated Sharpe ratio of the best (" in out
    assert "distinct of 15, 0 earlier in the family on this data" in out
    counts = _counts(db)
    assert counts["sweep_results"] == 15 and counts["sweep_runs"] == 1
    assert counts["backtest_runs"] == 2  # the top two, with their daily rows and trades
    top = query(db, "SELECT DISTINCT sweep_id FROM results.backtest_runs")["sweep_id"].to_list()
    assert top == query(db, "SELECT sweep_id FROM results.sweep_runs")["sweep_id"].to_list()
    # The top re-runs (reference simulator, on the sweep's prepared groups) report the
    # sweep rows' figures, to the engines' agreement.
    pairs = query(
        db,
        "SELECT m.sharpe, s.sharpe AS s_sharpe, m.final_equity, s.final_equity AS s_final, "
        "m.unhedged_time_in_band, s.unhedged_time_in_band AS s_unhedged, "
        "m.stress_hedge_ratio, s.stress_hedge_ratio AS s_stress "
        "FROM results.backtest_runs r JOIN results.backtest_metrics m USING (run_id) "
        "JOIN results.sweep_results s ON s.sweep_id = r.sweep_id AND s.config_hash = r.config_hash",
    )
    assert pairs.height == 2
    for row in pairs.iter_rows(named=True):
        assert row["sharpe"] == pytest.approx(row["s_sharpe"], abs=1e-6)
        assert row["final_equity"] == pytest.approx(row["s_final"], rel=1e-9)
        assert row["unhedged_time_in_band"] == row["s_unhedged"]
        assert row["stress_hedge_ratio"] == row["s_stress"]
    ratios = query(db, "SELECT DISTINCT hedge_ratio FROM results.sweep_results ORDER BY 1")
    assert ratios["hedge_ratio"].to_list() == [0.0, 0.1, 0.2, 0.3, 0.4]
    # The same sweep again: identical metrics, no new rows.
    stored = query(db, "SELECT * FROM results.sweep_results ORDER BY config_hash")
    assert main(args) == 0
    assert (
        "sweep_results: 0 new, 0 changed, 15 identical to the stored run" in capsys.readouterr().out
    )
    assert _counts(db) == counts
    assert query(db, "SELECT * FROM results.sweep_results ORDER BY config_hash").equals(stored)
    # Ranking by Sharpe among configurations inside their band most of the time, in SQL.
    assert main(["sql", "--db", str(db), "--format", "csv", RANK.format(share=0.0)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "config_hash,hedge_ratio,band_low,band_high,sharpe,time_in_band"
    sharpes = [float(line.split(",")[4]) for line in lines[1:]]
    assert len(sharpes) == 15 and sharpes == sorted(sharpes, reverse=True)
    assert main(["sql", "--db", str(db), "--format", "csv", RANK.format(share=0.8)]) == 0


def test_alvh_sweep_reads_a_toml_grid_and_reports_bad_ones(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        '[base]\nstart_date = "2018-01-02"\nlots = 20\n'
        '[grid]\ncontroller = [false, true]\ncall_delta = "0.25:0.35:0.05"\n'
        'r2_band = ["0.45-0.65"]\n'
    )
    args = ["sweep", "--db", str(db), "--grid", str(grid), "--hedge-ratio", "0.1,0.3", "--top", "0"]
    assert main(args) == 0
    assert "sweep: 12 configurations" in capsys.readouterr().out
    lots = query(db, "SELECT DISTINCT lots, start_date FROM results.sweep_results")
    assert lots.rows() == [(20, date(2018, 1, 2))]
    grid.write_text("[grid]\nhedge = [0.1]\n")
    assert main(args) == 2
    assert "unknown parameter 'hedge'" in capsys.readouterr().err
    grid.write_text("[grids]\n")
    assert main(args) == 2
    assert "unknown tables ['grids']" in capsys.readouterr().err
    assert main(["sweep", "--db", str(db), "--hedge-ratio", "0.1", "--rank", "sharp"]) == 2
    assert "unknown metric 'sharp'; choose from cagr" in capsys.readouterr().err
    assert main(["sweep", "--db", str(db), "--hedge-ratio", "0.1", "--r2-band", "0.45"]) == 2
    assert "an R-squared band is low-high, got '0.45'" in capsys.readouterr().err


def test_alvh_sweep_on_a_dask_cluster_gives_the_same_rows(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "sweep",
        "--db",
        str(db),
        "--param",
        "start_date=2019-01-02",
        "--hedge-ratio",
        "0.1,0.3",
    ]
    args += ["--r2-band", "0.45-0.65,0.35-0.55", "--top", "1", "--chunk", "2"]
    assert main(args) == 0
    assert "sweep_results: 4 new" in capsys.readouterr().out
    # Two worker processes, one chunk per task: the same sweep id and identical rows.
    assert main([*args, "--workers", "2"]) == 0
    assert (
        "sweep_results: 0 new, 0 changed, 4 identical to the stored run" in capsys.readouterr().out
    )


def test_a_sweep_that_finds_the_warehouse_busy_keeps_its_results(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import EXIT_BUSY
    from warehouse.staging import staged

    monkeypatch.setenv("ALVH_LOCK_WAIT", "1")  # the command line applies it where it starts
    args = ["sweep", "--db", str(db), "--param", "start_date=2016-01-04", "--param", "lots=10"]
    args += ["--hedge-ratio", "0:0.2:0.2", "--r2-band", "0.45-0.65", "--top", "1"]
    with holding(db, read_only=True) as holder:  # a reader opened during the sweep
        assert main(args) == EXIT_BUSY
    err = capsys.readouterr().err
    assert f"busy: process {holder.pid}" in err and "(waited 1 s)" in err
    assert f"The results are kept in {db.parent / 'staged' / 'w'}" in err
    assert f"load them with `alvh load-staged --db {db}`" in err
    assert len(staged(db)) == 1 and _counts(db)["sweep_results"] == 0
    # a torn staged file is named, and nothing of its result is loaded
    (folder,) = staged(db)
    results = folder / "sweep_results.parquet"
    whole = results.read_bytes()
    results.write_bytes(whole[: len(whole) // 2])
    assert main(["load-staged", "--db", str(db)]) != 0
    assert f"{results}: not a readable Parquet file" in capsys.readouterr().err
    assert staged(db) == [folder] and _counts(db)["sweep_results"] == 0
    results.write_bytes(whole)
    assert main(["load-staged", "--db", str(db)]) == 0
    assert "loaded sweep " in capsys.readouterr().out and staged(db) == []
    counts = _counts(db)
    assert counts["sweep_results"] == 2 and counts["backtest_runs"] == 1
    # The loaded rows are the rows a sweep that found the file free writes.
    assert main(args) == 0
    assert "sweep_results: 0 new, 0 changed, 2 identical" in capsys.readouterr().out
    assert _counts(db) == counts


def test_grid_numbers_are_typed_by_the_parameter_and_checked_before_computing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "[base]\nstart_date = 2019-01-02\n[grid]\nrsi_extra_calls = [0, 0.5]\n"
        'r2_band = ["0.45-0.65"]\n'
    )
    args = ["sweep", "--db", str(db), "--grid", str(grid), "--hedge-ratio", "0.2", "--top", "0"]
    assert main(args) == 0
    values = query(db, "SELECT rsi_extra_calls FROM results.sweep_results ORDER BY 1")
    assert values["rsi_extra_calls"].to_list() == [0.0, 0.5]
    # A fraction for a whole-number parameter, and a band outside [0, 1], are refused
    # before the engine starts: nothing is written.
    before = _counts(db)
    grid.write_text("[grid]\nlots = [10, 20.5]\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "parameter lots takes a value of type int, got 20.5" in err
    assert "engine" not in capsys.readouterr().out
    bad_band = ["sweep", "--db", str(db), "--hedge-ratio", "0.1", "--r2-band", "0.5-1.5"]
    assert main(bad_band) == 2
    assert "band_high 1.5 outside [0, 1]" in capsys.readouterr().err
    assert _counts(db) == before


def test_a_one_configuration_sweep_says_why_it_has_no_deflated_sharpe(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sweep", "--db", str(db), "--param", "start_date=2019-01-02", "--param", "lots=10"]
    assert main([*args, "--hedge-ratio", "0.2", "--r2-band", "0.45-0.65", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out
    assert (
        "no deflated Sharpe ratio: it needs at least two configurations whose Sharpe ratios "
        "differ (this sweep has 1)" in out
    )
    assert query(db, "SELECT deflated_sharpe FROM results.sweep_runs").rows() == [(None,)]


def test_a_command_reads_and_prepares_before_its_flow_and_the_flow_reuses_it(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a command does while Prefect's temporary server starts (warm: read the
    inputs, prepare the first configuration's group, then simulate a backtest or run a
    sweep's first configuration through the engine) its flow does not do again, and
    gives the numbers a flow that does it gives; a write makes the next read fresh."""
    import flows.backtest as fb

    prepares: list[object] = []
    real = fb.prepare
    monkeypatch.setattr(fb, "prepare", lambda *a: prepares.append(a[1]) or real(*a))
    simulations: list[object] = []
    real_backtest = fb.backtest
    monkeypatch.setattr(
        fb, "backtest", lambda i, p, **k: simulations.append(p) or real_backtest(i, p, **k)
    )
    evaluated: list[int] = []
    real_evaluate = fb.evaluate
    monkeypatch.setattr(
        fb, "evaluate", lambda r, c: evaluated.append(len(c)) or real_evaluate(r, c)
    )
    monkeypatch.setattr(fb, "_WARM", {})
    request = fb.BacktestRequest(db=db, values={"start_date": "2019-01-02", "lots": 10})
    fb.warm(request)
    inputs = fb.read_inputs(db)
    assert fb.read_inputs(db) is inputs and (len(prepares), len(simulations)) == (1, 1)
    rid, metrics = fb.backtest_flow(request)
    assert (len(prepares), len(simulations)) == (1, 1)  # the flow found them done
    assert fb.read_inputs(db) is not inputs  # the flow wrote the warehouse
    monkeypatch.setattr(fb, "_WARM", {})
    again, cold = fb.backtest_flow(request)
    assert (again, len(prepares), len(simulations)) == (rid, 2, 2) and cold.equals(metrics)
    # a sweep's plan takes the prepared group of its first configuration
    grid = {"hedge_ratio": "0.1,0.2", "r2_band": "0.45-0.65"}
    sweep = SweepRequest(db=db, values=request.values, dimensions=grid, top_n=1)
    fb.warm(sweep)
    assert len(prepares) == 3 and evaluated == [1] and len(simulations) == 2
    rows = fb.sweep_flow(sweep)["record"]
    assert len(prepares) == 3 and rows["configurations"] == 2
    assert len(simulations) == 3  # its best, re-run
    # a sweep of one configuration: its best, simulated while the server starts
    grid = {"hedge_ratio": "0.3", "r2_band": "0.45-0.65"}
    one = SweepRequest(db=db, values=request.values, dimensions=grid, top_n=1)
    fb.warm(one)
    assert len(simulations) == 4
    best = fb.sweep_flow(one)["best"]
    assert len(simulations) == 4 and best.height == 1
    # what fails while warming is left to the flow, which reports it
    fb.warm(fb.BacktestRequest(db=tmp_path / "none.duckdb"))
    fb.warm(SweepRequest(db=db, values={"lots": 10}, dimensions={"h_min": "0.5"}))


@pytest.mark.slow
def test_a_ruined_book_trades_no_more_and_is_never_ranked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "synthetic.duckdb"
    assert main(["run", "--db", str(db)]) == 0  # the default book lives on this market
    out = capsys.readouterr().out
    assert re.search(r"│ ruined\s+┆ no\s+│", out), out
    seeds = ["--param", "margin_target=0", "--param", "wing_pct=0"]  # 50 lots, 50 points
    assert main(["backtest", "--db", str(db), *seeds]) == 0
    out = capsys.readouterr().out
    rid = next(line.split()[1] for line in out.splitlines() if line.startswith("run bt-"))
    run = f"run_id = '{rid}'"
    (ruin,) = query(
        db, f"SELECT min(date) FROM results.backtest_daily WHERE {run} AND equity <= 0"
    ).row(0)
    assert ruin is not None
    assert f"this book was ruined on {ruin} (equity reached zero)" in out
    assert "fewer than 50 lots" in out
    stored = query(db, f"SELECT ruined, ruin_date FROM results.backtest_metrics WHERE {run}")
    assert stored.rows() == [(True, ruin)] and stored.schema["ruined"] == pl.Boolean
    after = f"{run} AND date > DATE '{ruin}'"
    assert query(db, f"SELECT count(*) FROM results.backtest_trades WHERE {after}").row(0) == (0,)
    daily = query(
        db, f"SELECT sum(costs) AS c, sum(pnl_total) AS p FROM results.backtest_daily WHERE {after}"
    )
    assert daily.row(0) == (0.0, 0.0)
    (paid,) = query(db, f"SELECT costs_paid FROM results.backtest_metrics WHERE {run}").row(0)
    (costs,) = query(db, f"SELECT sum(costs) FROM results.backtest_daily WHERE {run}").row(0)
    assert paid == pytest.approx(costs, rel=1e-12)
    # ruined on its first entry: one line with the date
    tiny = [*seeds, "--param", "initial_equity=1000"]
    assert main(["backtest", "--db", str(db), *tiny]) == 0
    first = [line for line in capsys.readouterr().out.splitlines() if "was ruined on" in line]
    assert len(first) == 1 and "2004-03-29" in first[0]
    # a book with no trades: one line
    idle = ["--param", "margin_target=0", "--param", "lots=0", "--param", "hedge_ratio=0"]
    assert main(["backtest", "--db", str(db), *idle]) == 0
    assert "this book never traded" in capsys.readouterr().out
    # a sweep whose every configuration is ruined: one line, the first ruin, what to try
    args = [
        "sweep",
        "--db",
        str(db),
        *seeds,
        "--hedge-ratio",
        "0:0.1:0.1",
        "--r2-band",
        "0.45-0.65",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    firsts = query(db, "SELECT min(ruin_date) FROM results.sweep_results").row(0)[0]
    assert f"every configuration (2) was ruined (equity reached zero; the first on {firsts})" in out
    assert "Try a smaller condor" in out
    assert "best " not in out and "no configuration to rank" not in out
    assert query(db, "SELECT best_config_hash FROM results.sweep_runs").rows() == [(None,)]
    assert query(db, "SELECT count(*) FROM results.sweep_results WHERE ruined").row(0) == (2,)


@pytest.mark.slow
def test_walk_forward_chooses_on_training_months_and_stitches_the_test_months(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each fold's choice is the best overlay Sharpe ratio on its training months, as
    independent reference backtests compute it; the stitched series is the chosen
    configurations' test months; the registry counts every trial on the snapshot."""
    import math

    from flows.backtest import read_inputs
    from transforms.backtest.params import BacktestParams, with_values
    from transforms.backtest.run import backtest

    args = ["sweep", "--db", str(db), "--param", "start_date=2012-01-03", "--param", "lots=10"]
    args += ["--dim", "hold_to_expiry=false,true", "--hedge-ratio", "0:0.4:0.2", "--top", "1"]
    args += ["--walk-forward", "--train", "24", "--test", "24"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "probability of backtest overfitting (CSCV, 12,870 splits)" in out
    assert "null hypothesis: the equity sleeve alone" in out
    folds = query(db, "SELECT * FROM results.walk_forward ORDER BY fold")
    assert folds["train_start"][0] == date(2012, 1, 1) and folds["test_start"][0] == date(
        2014, 1, 1
    )
    assert folds.height == 7  # 2014-2025 in 24-month steps, then 2026-01
    # Fold 0 by hand: overlay Sharpe on 2012-2013 of every configuration.
    inputs = read_inputs(db)
    configs = query(
        db,
        "SELECT config_hash, hold_to_expiry, hedge_ratio, band_low, band_high FROM results.sweep_results",
    )
    hand, whole = {}, {}
    for row in configs.iter_rows(named=True):
        p = with_values(
            BacktestParams(),
            {
                "start_date": "2012-01-03",
                "lots": 10,
                **{k: v for k, v in row.items() if k != "config_hash"},
            },
        )
        full = backtest(inputs, p).daily
        eq = full["equity"].to_numpy()
        prev = np.concatenate([[p.initial_equity], eq[:-1]])
        series = eq / prev - 1 - full["pnl_equity"].to_numpy() / prev
        whole[row["config_hash"]] = series[1:]
        overlay = series[1 : int((full["date"] <= date(2013, 12, 31)).sum())]
        hand[row["config_hash"]] = overlay.mean() / overlay.std(ddof=1) * math.sqrt(252)
    best_sharpe = max(hand.values())
    assert hand[folds["config_hash"][0]] == pytest.approx(best_sharpe, rel=1e-12)  # ties: any
    assert folds["train_metric"][0] == pytest.approx(best_sharpe, rel=1e-9)
    # The stitched series: each session of a test window carries its fold's choice.
    daily = query(db, "SELECT * FROM results.walk_forward_daily ORDER BY date")
    joined = daily.join(folds.select("fold", pl.col("config_hash").alias("chosen")), on="fold")
    assert (joined["config_hash"] == joined["chosen"]).all()
    assert daily["date"].min() == date(2014, 1, 2)
    ex = daily["excess"].to_numpy()
    run = query(db, "SELECT * FROM results.sweep_runs").row(0, named=True)
    assert run["oos_sharpe"] == pytest.approx(ex.mean() / ex.std(ddof=1) * math.sqrt(252))
    assert run["oos_sessions"] == daily.height and 0 <= run["pbo"] <= 1
    _check_survivors_and_deflated_sharpe(db, run, whole, out)
    # Trials: the sweep's 18 configurations, then a backtest, then a second sweep that
    # counts their distinct series as earlier trials on the same data.
    trials = "SELECT count(*) AS n, count(DISTINCT returns_hash) AS d FROM results.trials"
    assert query(db, f"{trials} WHERE source = 'sweep'")["n"][0] == 18
    backtest_args = ["backtest", "--db", str(db), "--param", "start_date=2012-01-03"]
    assert main([*backtest_args, "--param", "lots=20"]) == 0
    assert query(db, f"{trials} WHERE source = 'backtest'")["n"][0] == 1
    earlier = query(db, trials)["d"][0]
    capsys.readouterr()
    assert main([*args[:-5], "--param", "call_delta=0.25"]) == 0
    assert f"{earlier} earlier in the family on this data" in capsys.readouterr().out
    # a sweep under another fill is another family: the earlier trials do not count
    assert main([*args[:-5], "--param", "call_delta=0.25", "--param", "spx_fill=0.5"]) == 0
    assert "0 earlier in the family on this data" in capsys.readouterr().out
    families = query(db, "SELECT DISTINCT family FROM results.trials")
    assert families.height == 2 and families["family"].str.starts_with("fam-").all()


def _check_survivors_and_deflated_sharpe(
    db: Path, run: dict[str, Any], overlay: dict[str, np.ndarray], out: str
) -> None:
    """PBO among survivors and the ruin rate are stored and printed; the overlay's DSR
    is the formula of Bailey and Lopez de Prado computed here with scipy on the series
    re-run by hand, over the family's distinct series (one family here)."""
    import math

    from scipy import stats

    results = query(
        db, "SELECT config_hash, returns_hash, ruined FROM results.sweep_results ORDER BY ALL"
    )
    assert run["ruin_rate"] == pytest.approx(results["ruined"].mean())
    assert run["pbo_survivor_configs"] == (~results["ruined"]).sum() == 18
    assert run["pbo_survivors"] == pytest.approx(run["pbo"])  # nobody ruined: the same set
    assert f"ruin rate: {run['ruin_rate']:.1%}" in out
    assert f"{run['pbo_survivors']:.2f} among the 18 configurations never ruined" in out
    assert run["trial_family"].startswith("fam-") and run["snapshot_trials"] >= 1
    per = {h: s.mean() / s.std(ddof=1) for h, s in overlay.items()}
    best = max(per, key=lambda h: per[h])
    assert run["overlay_best_config_hash"] == best
    distinct = results.unique("returns_hash", keep="first")["config_hash"].to_list()
    sharpes = np.array([per[h] for h in distinct])
    n = run["trials_counted"]
    sr0 = math.sqrt(sharpes.var(ddof=1)) * (
        (1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / n)
        + np.euler_gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    x = overlay[best]
    sr = per[best]
    denom = math.sqrt(1 - stats.skew(x) * sr + (stats.kurtosis(x, fisher=False) - 1) / 4 * sr**2)
    expected = stats.norm.cdf((sr - sr0) * math.sqrt(len(x) - 1) / denom)
    assert run["overlay_deflated_sharpe"] == pytest.approx(expected, abs=1e-6)


def test_every_grid_the_bound_allows_fits_prefects_parameter_limit() -> None:
    """Prefect refuses flow parameters over 512 KiB when serialised: a sweep request
    carries its grid as written, so the largest range allowed travels in bytes."""
    largest = {"hedge_ratio": "0:0.199999:0.000001", "r2_band": ["0.45-0.65"]}
    request = SweepRequest(dimensions=largest)
    assert [len(rows) for _, rows in request.grid] == [200_000, 1]
    assert len(request.model_dump_json()) < 2_000  # Prefect allows 524,288
