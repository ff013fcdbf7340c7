"""Replication of published indices on the real history (../shared/data/reference).

Tolerances are the measured figures with a margin that a real regression would cross:
* SPVXSP: the rebuild is exact to rounding (0.0098 %/yr); the issue's target is 0.2 %/yr.
  Pinned at < 0.05 %/yr and no day above 0.05 %: a one-day shift of the roll calendar,
  counting unscheduled closures as non-business days, or dropping the interpolation of
  unlisted 2006 months each push it above 0.2 %/yr (measured 1.5, 0.06 and 0.22 %/yr).
* SPVXMP: 0.25 %/yr, all of it in 2006 (months 4-7 beyond the listed curve, priced flat
  from the last listed contract); 2007-2022 is exact to rounding.
* VXTH and PUT/CNDR depend on a model smile; their pins bracket the measured figures by
  about +-20 % so that a pricer change (a skew, a time convention, a settlement rule)
  fails while noise-free reruns pass (the run is deterministic).
"""

from __future__ import annotations

import ast
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cli.main import main
from flows.replicate import ReplicateRequest, replicate_flow
from tests.conftest import query
from transforms.replicate.run import Replication, Windows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replicated(
    research_warehouse: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, Replication, list[Path]]:
    folder = tmp_path_factory.mktemp("replicate")
    db = folder / "alvh.duckdb"
    shutil.copy(research_warehouse, db)
    request = ReplicateRequest(db=db, reference=shared_data / "reference", charts=folder / "charts")
    rid, result, charts = replicate_flow(request)
    return db, rid, result, charts


def _row(
    result: Replication, index: str, window: str, frequency: str = "daily"
) -> dict[str, object]:
    rows = result.summary.filter(
        (pl.col("index_name") == index)
        & (pl.col("window") == window)
        & (pl.col("frequency") == frequency)
    )
    assert rows.height == 1, (index, window, frequency)
    return rows.row(0, named=True)


def test_short_term_vix_futures_index_is_within_target(replicated: tuple) -> None:
    _, _, result, _ = replicated
    r = _row(result, "SPVXSP", "full")
    assert (r["start"], r["end"]) == (date(2006, 1, 3), date(2022, 12, 30))
    assert r["periods"] == 4278
    assert r["tracking_error"] < 0.0005  # target 0.002; measured 0.000098
    assert abs(r["worst_error"]) < 0.0005
    assert abs(r["drift"]) < 0.0001
    assert r["correlation"] > 0.99999
    assert r["over_threshold"] == 0


def test_mid_term_index_errors_are_only_in_2006(replicated: tuple) -> None:
    _, _, result, _ = replicated
    r = _row(result, "SPVXMP", "full")
    assert 0.001 < r["tracking_error"] < 0.004  # measured 0.00253, all from 2006
    years = result.by_year.filter(pl.col("index_name") == "SPVXMP")
    assert years.filter(pl.col("year") >= 2007)["tracking_error"].max() < 0.0003
    # The one day above 0.5 %: VXX06 and VXG07 first listed; the months 4-7 beyond the
    # listed curve were priced flat from the last listed contract until then.
    large = result.large_errors.filter(pl.col("index_name") == "SPVXMP")
    assert large.select("index_name", "date").rows() == [("SPVXMP", date(2006, 3, 9))]
    # every index's days over 0.5 % are listed, not only the futures indices'
    assert {"VXTH", "PUT", "CNDR"} <= set(result.large_errors["index_name"])


def test_vix_call_model_is_calibrated_early_and_reported_late(replicated: tuple) -> None:
    _, _, result, _ = replicated
    assert result.calibrated["vix_call_skew"] == pytest.approx(0.9)
    errors = result.call_errors.filter((pl.col("by") == "all") & (pl.col("model") == "calibrated"))
    by_window = {r["window"]: r for r in errors.iter_rows(named=True)}
    assert by_window["calibration"]["n"] == 1681 and by_window["evaluation"]["n"] == 1139
    assert 0.15 < by_window["evaluation"]["rmse"] < 0.19  # measured 0.1674 VIX points
    assert -0.11 < by_window["evaluation"]["mean_error"] < -0.07  # the model is cheap
    default = result.call_errors.filter(
        (pl.col("by") == "all")
        & (pl.col("model") == "default")
        & (pl.col("window") == "evaluation")
    )
    # the backtest's default is the calibration (transforms.calibration)
    assert default["skew"][0] == pytest.approx(0.9)
    assert default["rmse"][0] == by_window["evaluation"]["rmse"]
    assert set(result.call_errors["by"]) == {"all", "moneyness", "vix"}


def test_vxth_replica_tracks_the_index(replicated: tuple) -> None:
    _, _, result, _ = replicated
    full = _row(result, "VXTH", "full")
    assert 0.021 < full["tracking_error"] < 0.031  # measured 0.0262
    assert full["correlation"] > 0.985
    assert abs(full["drift"]) < 0.01
    assert _row(result, "VXTH", "evaluation")["start"] >= Windows().call_evaluation[0]


def test_put_and_cndr_figures_out_of_sample(replicated: tuple) -> None:
    _, _, result, _ = replicated
    assert result.calibrated["smile_atm_ratio"] == pytest.approx(0.92)
    put_cal = _row(result, "PUT", "calibration", "monthly")
    assert abs(put_cal["drift"]) < 0.005  # what was fitted
    put = _row(result, "PUT", "evaluation", "monthly")
    assert put["start"] >= Windows().smile_evaluation[0]
    assert 0.016 < put["tracking_error"] < 0.025 and put["correlation"] > 0.97
    assert 0.02 < put["drift"] < 0.04  # out of sample the model smile overprices ATM puts
    cndr = _row(result, "CNDR", "evaluation", "daily")
    assert cndr["start"] >= date(2015, 9, 1)
    assert 0.034 < cndr["tracking_error"] < 0.05 and cndr["correlation"] > 0.8
    assert cndr["ours_vol"] < cndr["published_vol"]  # the notional sizing is too small
    # Paying the backtest's costs (the era-aware spread model) on every sale takes
    # 0.4-0.9 %/yr off the replicas' drift (measured: PUT 3.10 -> 2.70, CNDR 4.32 -> 3.43
    # %/yr); what remains is the premium level (the ATM ratio fitted on 2004-2011 is rich
    # for 2012-2021).
    for name, low, high in (("PUT", 0.003, 0.012), ("CNDR", 0.006, 0.02)):
        bare = _row(result, name, "evaluation", "monthly")["drift"]
        paid = _row(result, name, "evaluation_costs", "monthly")["drift"]
        assert low < bare - paid < high
        assert paid > 0.015


def test_the_atm_ratio_follows_time(replicated: tuple) -> None:
    """Re-fitted before each evaluated year on the eight years before it, the ATM ratio
    falls as the premium level does, and the chained replicas drift less than with the
    one ratio fitted on 2004-2011 (closing the gap is issue 22's open target)."""
    from transforms.replicate.run import TRAILING_YEARS

    _, _, result, _ = replicated
    put = _row(result, "PUT", "evaluation_trailing", "monthly")
    years = put["fitted"].split(": ")[1].split(", ")
    ratios = {int(y): float(r) for y, r in (t.split() for t in years)}
    assert TRAILING_YEARS == 8 and list(ratios) == list(range(2012, 2022))
    assert ratios[2012] == result.calibrated["smile_atm_ratio"]  # the same 2004-2011 window
    assert ratios[2021] < ratios[2012] - 0.05
    for name in ("PUT", "CNDR"):
        fixed = _row(result, name, "evaluation", "monthly")
        chained = _row(result, name, "evaluation_trailing", "monthly")
        assert (chained["start"], chained["end"]) == (fixed["start"], fixed["end"])
        assert 0 < chained["drift"] < fixed["drift"] - 0.01
        assert chained["correlation"] > 0.8


def test_windows_never_overlap() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        Windows(call_calibration=(date(2006, 1, 1), date(2013, 6, 30)))
    with pytest.raises(ValueError, match="overlaps"):
        Windows(smile_evaluation=(date(2011, 6, 1), date(2021, 12, 31)))


def test_tables_and_charts_are_written_and_a_rerun_is_identical(
    replicated: tuple, shared_data: Path
) -> None:
    db, rid, result, charts = replicated
    runs = query(db, "SELECT * FROM results.replication_runs WHERE run_id = ?", [rid])
    assert runs.height == result.summary.height == 15
    assert set(runs["index_name"]) == {"SPVXSP", "SPVXMP", "VXTH", "PUT", "CNDR"}
    assert runs.filter(pl.col("reference_file") == "").is_empty()
    daily = query(
        db,
        "SELECT index_name, count(*) AS n FROM results.replication_daily "
        "WHERE run_id = ? GROUP BY 1",
        [rid],
    )
    assert dict(daily.iter_rows()) == {
        "SPVXSP": 4279,
        "SPVXMP": 4279,
        "VXTH": 3065,
        "PUT": 1903,
        "CNDR": 982,
    }
    assert sorted(p.name for p in charts) == sorted(f"{i}.html" for i in daily["index_name"])
    assert 'data-chart="levels"' in charts[0].read_text()
    assert (charts[0].parent / "plotly.min.js").is_file()
    before = query(db, "SELECT * FROM results.replication_daily ORDER BY ALL")
    rid2, _, _ = replicate_flow(
        ReplicateRequest(
            db=db, indices=["SPVXSP"], charts=None, reference=shared_data / "reference"
        )
    )
    assert rid2 != rid  # another index set is another run; the first run's rows stay
    assert query(
        db, "SELECT * FROM results.replication_daily WHERE run_id = ? ORDER BY ALL", [rid]
    ).equals(before.filter(pl.col("run_id") == rid).sort(pl.all()))


def test_cli_replicates_one_index_and_rejects_bad_input(
    research_warehouse: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "alvh.duckdb"
    shutil.copy(research_warehouse, db)
    ref = ["--reference", str(shared_data / "reference"), "--charts", str(tmp_path / "c")]
    assert main(["replicate", "SPVXSP", "--db", str(db), *ref]) == 0
    out = capsys.readouterr().out
    assert "SPVXSP" in out and "tracking_error" in out and "results.replication_runs" in out
    first = query(db, "SELECT * FROM results.replication_daily ORDER BY ALL")
    assert main(["replicate", "SPVXSP", "--db", str(db), *ref]) == 0
    assert query(db, "SELECT * FROM results.replication_daily ORDER BY ALL").equals(first)
    assert main(["replicate", "VIXX", "--db", str(db), *ref]) == 2
    assert "unknown index VIXX" in capsys.readouterr().err
    bad = tmp_path / "ref"
    bad.mkdir()
    assert main(["replicate", "SPVXSP", "--db", str(db), "--reference", str(bad)]) == 2
    assert "no published file matching" in capsys.readouterr().err
    for f in (shared_data / "reference").glob("*.csv"):
        (bad / f.name).write_bytes(f.read_bytes())
    target = next(bad.glob("sp500_vix_futures*"))
    lines = target.read_text().splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[1], "12x.5", 1)
    target.write_text("\n".join(lines) + "\n")
    assert main(["replicate", "SPVXSP", "--db", str(db), "--reference", str(bad)]) == 2
    err = capsys.readouterr().err
    assert target.name in err and "line 11" in err and "unparseable" in err
    assert query(db, "SELECT * FROM results.replication_daily ORDER BY ALL").equals(first)


def test_cli_computes_missing_signals_first(
    real_warehouse: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Right after `alvh ingest` (no signal tables yet), as the README says."""
    db = tmp_path / "alvh.duckdb"
    shutil.copy(real_warehouse, db)
    assert query(db, "SELECT count(*) AS n FROM signals.signals_daily")["n"][0] == 0
    ref = ["--reference", str(shared_data / "reference"), "--charts", str(tmp_path / "c")]
    assert main(["replicate", "SPVXSP", "--db", str(db), *ref]) == 0
    out, err = capsys.readouterr()
    assert "no signals yet: computing them first" in out and "SPVXSP" in out
    assert "Traceback" not in out + err
    assert query(db, "SELECT count(*) AS n FROM results.replication_runs")["n"][0] == 1


# --- the replication uses the production code paths ----------------------------------

REPLICATION_MODULES = [
    *sorted((ROOT / "transforms" / "replicate").glob("*.py")),
    ROOT / "flows" / "replicate.py",
]
PRODUCTION = {
    "transforms.options.black",
    "transforms.options.vix",
    "transforms.options.smile",
    "transforms.backtest.market",
    "transforms.backtest.condor",
    "transforms.vx",
}
PRIVATE_PRIMITIVES = (
    "black",
    "bs_",
    "d1",
    "ndtr",
    "norm_cdf",
    "erf",
    "roll_weight",
    "vx_expiry",
    "third_friday",
    "implied_vol",
    "delta",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_replication_imports_pricing_and_roll_logic_only_from_production() -> None:
    used = set().union(*(_imports(p) for p in REPLICATION_MODULES))
    assert {
        "transforms.options.vix",
        "transforms.backtest.condor",
        "transforms.backtest.market",
        "transforms.vx",
    } <= used
    project = {m for m in used if m.split(".")[0] in ("transforms", "flows", "warehouse")}
    allowed = (
        PRODUCTION
        | {m for m in project if m.startswith("transforms.replicate")}
        | {
            "transforms.annual",
            "transforms.backtest.params",
            "transforms.backtest.run",
            "transforms.calibration",
            "transforms.parse.reference",
            "transforms.parse.common",
            "transforms.columns",
            "flows",
            "flows.backtest",
            "flows.runlog",
            "warehouse.db",
            "warehouse.results",
        }
    )
    assert project <= allowed, f"unexpected imports: {sorted(project - allowed)}"
    for path in REPLICATION_MODULES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                bad = [p for p in PRIVATE_PRIMITIVES if p in node.name.lower()]
                assert not bad, f"{path.name}:{node.lineno} defines {node.name}: a private copy?"
            if isinstance(node, ast.ImportFrom) and node.module in ("scipy.stats", "scipy.special"):
                pytest.fail(
                    f"{path.name} imports {node.module}: pricing must come from transforms.options"
                )


def test_a_pricer_regression_moves_the_replication(
    backtest_inputs: object, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replica is computed by the production pricer: perturbing it changes the figures."""
    from flows.replicate import read_reference
    from transforms.options import black
    from transforms.replicate.run import replicate

    reference, _ = read_reference.fn(shared_data / "reference")
    kwargs = {"indices": ["VXTH"], "unscheduled": []}
    base = replicate(backtest_inputs, reference, **kwargs)  # type: ignore[arg-type]
    original = black.black76

    def rich(**kw: object) -> black.Greeks:
        g = original(**kw)  # type: ignore[arg-type]
        return black.Greeks(g.price * 1.05, g.delta, g.gamma, g.vega, g.theta)

    monkeypatch.setattr("transforms.options.vix.black76", rich)
    moved = replicate(backtest_inputs, reference, **kwargs)  # type: ignore[arg-type]
    a = base.call_errors.filter(pl.col("model") == "default")["mean_error"]
    b = moved.call_errors.filter(pl.col("model") == "default")["mean_error"]
    assert (b - a).abs().min() > 1e-4
