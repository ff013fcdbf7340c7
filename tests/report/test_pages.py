"""Every page type in a real headless Chromium from file://: no console error, no request
beyond file://, every chart drawn; the figures shown equal the warehouse's; runs with
no trades, a ruined run, a one-configuration sweep and all-ruined and partly ruined
sweeps still render and say what is missing; today's book and its track record show
the engine's and the ledger's numbers. Screenshots go to the test's output folder."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from cli.main import main
from report import render
from tests.conftest import query
from tests.report.browser import Visit, visit
from transforms.report.formats import DOLLARS, PERCENT, RATIO, fmt

pytestmark = pytest.mark.slow

START = ["--param", "start_date=2015-01-02"]


@pytest.fixture(scope="module")
def site(research_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A warehouse with a book, a ruined book, a book with no trades, a sweep with a
    walk-forward, a one-configuration sweep and a validation run; and their pages."""
    folder = tmp_path_factory.mktemp("site")
    db = folder / "w.duckdb"
    shutil.copy(research_warehouse, db)
    ids: dict[str, Any] = {}
    import contextlib
    import io

    def run(args: list[str]) -> str:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(args) == 0, buffer.getvalue()
        return buffer.getvalue()

    def rid(out: str) -> str:
        return next(line.split()[1] for line in out.splitlines() if line.startswith("run bt-"))

    def sid(out: str) -> str:
        return next(w for w in out.split() if w.startswith("sw-")).rstrip(":")

    base = ["--db", str(db), *START]
    stress = ["--param", "spx_spread_scale=3"]  # three times the fitted spreads
    seeds = ["--param", "margin_target=0", "--param", "wing_pct=0", *stress]  # 50 lots, 50 points
    ids["ruined"] = rid(run(["backtest", *base, *seeds]))  # ruined in 2015
    idle = ["--param", "margin_target=0", "--param", "lots=0", "--param", "hedge_ratio=0"]
    ids["empty"] = rid(run(["backtest", *base, *idle]))
    grid = ["--dim", "hold_to_expiry=false,true", "--hedge-ratio", "0:0.4:0.2", "--top", "1"]
    wf = ["--walk-forward", "--train", "24", "--frontier"]
    printed = run(["sweep", *base, *grid, *wf])
    assert "R-squared frontier (per band and sizing rule" in printed
    ids["sweep"] = sid(printed)
    one = ["--hedge-ratio", "0.2", "--r2-band", "0.45-0.65", "--top", "1"]
    ids["one"] = sid(run(["sweep", *base, *one]))
    two = ["--hedge-ratio", "0:0.2:0.2", "--r2-band", "0.45-0.65", "--top", "1"]
    ids["dead"] = sid(run(["sweep", *base, *seeds, *two]))  # every configuration ruined
    mixed = ["--dim", "wing_pct=0,0.08", *stress, *two]  # 10 % margin: 50-point wings are
    ids["mixed"] = sid(run(["sweep", *base, *mixed]))  # ruined in 2023, wings 8 % of spot live
    book = {"start_date": "2015-01-02", "hold_to_expiry": "true"}  # a condor open at the end
    ids["book"] = rid(run(["backtest", *base, "--param", "hold_to_expiry=true"]))  # the latest
    from flows.ledger import LedgerRequest, ledger_flow

    ledger_flow(LedgerRequest(db=db, books=[book], session=date(2026, 1, 8)))
    run(["validate", "--db", str(db)])
    out = folder / "reports"
    args = ["report", "--db", str(db), "--out", str(out), "--latest"]
    for k in ("ruined", "empty", "book"):
        args += ["--run", ids[k]]
    for k in ("sweep", "one", "dead", "mixed"):
        args += ["--sweep", ids[k]]
    run(args)
    # A replication page from a made-up index (the flow test covers the real one).
    days = pl.date_range(date(2020, 1, 1), date(2020, 12, 31), eager=True)
    level = np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(days))))
    daily = pl.DataFrame({"date": days, "ours": level, "published": level * 1.001}).with_columns(
        (pl.col("ours").log().diff() - pl.col("published").log().diff()).alias("error")
    )
    summary = pl.DataFrame({"index_name": ["X"], "tracking_error": [0.012], "drift": [-0.003]})
    (out / "replication-X.html").write_text(
        render.replication_html("X", daily, summary, ["tracking_error", "drift"])
    )
    return {"db": db, "out": out, "ids": ids}


PAGES = [
    "book",
    "ruined",
    "empty",
    "sweep",
    "one",
    "dead",
    "mixed",
    "today",
    "track",
    "market",
    "validation",
    "replication",
    "index",
]


def _file(site: dict[str, Any], page: str) -> Path:
    ids = site["ids"]
    names = {
        "book": f"backtest-{ids['book']}.html",
        "ruined": f"backtest-{ids['ruined']}.html",
        "empty": f"backtest-{ids['empty']}.html",
        "sweep": f"sweep-{ids['sweep']}.html",
        "one": f"sweep-{ids['one']}.html",
        "dead": f"sweep-{ids['dead']}.html",
        "mixed": f"sweep-{ids['mixed']}.html",
        "replication": "replication-X.html",
    }
    return site["out"] / names.get(page, f"{page}.html")


@pytest.fixture(scope="module")
def visits(site: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Visit]:
    shots = tmp_path_factory.mktemp("screenshots")
    return {p: visit(_file(site, p), shots / f"{p}.png") for p in PAGES}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_clean_and_draws_every_chart(
    page: str, visits: dict[str, Visit], site: dict[str, Any]
) -> None:
    v = visits[page]
    assert v.errors == []
    assert v.requests == []
    assert all(drawn > 0 for drawn in v.charts.values()), v.charts
    expected = {
        "book": {"equity", "drawdown", "sleeves", "r2", "hedge", "scalers", "vega"},
        "sweep": {"pareto", "distribution", "frontier"},  # and the heatmaps, below
        "today": {"r2", "payoff"},
        "track": set(),  # one ledger day: a sentence, no chart
        "dead": set(),
        "market": {"curve", "term", "vix", "breadth", "macro"},
        "validation": {"rules"},
        "replication": {"levels", "errors"},
    }.get(page)  # fmt: skip
    if page == "sweep":  # a heatmap with nothing to colour is a sentence instead
        html = _file(site, page).read_text()
        heat = {f"heat-{m}" for m in ("sharpe", "time_in_band", "sharpe_out_of_sample",
                                       "hedge_cost_flat")}  # fmt: skip
        drawn = heat & set(v.charts)
        said = html.count("differ by less than the metric") + html.count("has a value here")
        assert said == len(heat - drawn)
        expected = {*expected, *drawn}  # type: ignore[misc]
    if expected is not None:
        assert set(v.charts) == expected
    assert _file(site, page).stat().st_size < 8e6


def test_the_figures_shown_are_the_warehouses(
    site: dict[str, Any], visits: dict[str, Visit]
) -> None:
    rid = site["ids"]["book"]
    m = query(site["db"], "SELECT * FROM results.backtest_metrics WHERE run_id = ?", [rid]).row(
        0, named=True
    )
    shown = visits["book"].figures
    assert shown["final equity"] == fmt(m["final_equity"], DOLLARS)
    assert shown["Sharpe ratio (excess of T-bills)"] == fmt(m["sharpe"], RATIO)
    assert shown["time with R² inside the band"] == fmt(m["time_in_band"], PERCENT)
    # the 2018 and 2020 stress windows: condor loss, hedge P&L and offset from the daily rows
    daily = query(site["db"], "SELECT * FROM results.backtest_daily WHERE run_id = ?", [rid])
    rows = {r[0]: r for r in visits["book"].tables["stress"]}
    w = daily.filter(pl.col("date").is_between(date(2020, 2, 19), date(2020, 3, 23)))
    loss = -w["pnl_condor"].sum()
    hedge = (w["pnl_futures"] + w["pnl_calls"]).sum()
    assert rows["2020"][3] == fmt(loss, DOLLARS) and rows["2020"][4] == fmt(hedge, DOLLARS)
    assert rows["2020"][5] == fmt(hedge / loss, RATIO)
    sweep = query(
        site["db"], "SELECT * FROM results.sweep_runs WHERE sweep_id = ?", [site["ids"]["sweep"]]
    ).row(0, named=True)
    assert visits["sweep"].figures["configurations"] == f"{sweep['configurations']:,}"
    assert visits["sweep"].figures["PBO among all"] == fmt(sweep["pbo"], RATIO)
    assert visits["sweep"].figures["PBO among survivors"] == fmt(sweep["pbo_survivors"], RATIO)
    assert visits["sweep"].figures["ruin rate"] == fmt(sweep["ruin_rate"], PERCENT)
    # the frontier's table is the warehouse's rows, one per band and sizing rule
    frontier = query(
        site["db"], "SELECT * FROM results.frontier WHERE sweep_id = ?", [site["ids"]["sweep"]]
    )
    assert frontier.height == len(visits["sweep"].tables["frontier"]) >= 3
    html = _file(site, "index").read_text()
    pages = ("book", "ruined", "empty", "sweep", "one", "today", "track", "market", "validation")
    for page in pages:
        assert f'href="{_file(site, page).name}"' in html


def test_edge_cases_render_and_say_what_is_missing(site: dict[str, Any]) -> None:
    ruined = _file(site, "ruined").read_text()
    assert "ruined: equity reached zero on" in ruined
    empty = _file(site, "empty").read_text()
    assert "no trades: the run never opened a condor or a hedge" in empty
    assert "<p>No trades.</p>" in empty
    one = _file(site, "one").read_text()
    assert "a sweep of one configuration" in one


def test_an_unknown_run_is_one_error_line(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--db", str(site["db"]), "--run", "bt-nope", "--out", str(tmp_path)]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "error: no backtest run bt-nope in the warehouse"


@pytest.mark.parametrize("page", ["sweep", "dead", "mixed"])
def test_sweep_captions_count_what_the_warehouse_holds(
    page: str, site: dict[str, Any], visits: dict[str, Visit]
) -> None:
    """A living, an all-ruined and a partly ruined sweep: every count a caption or
    headline shows is the warehouse's, and no ruined configuration is a candidate."""
    sid = site["ids"][page]
    rows = query(
        site["db"], "SELECT config_hash, ruined, ruin_date, sharpe FROM results.sweep_results "
        "WHERE sweep_id = ?", [sid],
    )  # fmt: skip
    dead = rows.filter(pl.col("ruined"))
    living = rows.height - dead.height
    v = visits[page]
    assert v.figures["configurations"] == f"{rows.height:,}"
    assert v.figures["living"] == f"{living:,}" and v.figures["ruined"] == f"{dead.height:,}"
    html = _file(site, page).read_text()
    if dead.height:
        table = v.tables["ruined"]
        assert sorted(r[0] for r in table) == sorted(dead["config_hash"].to_list())
        assert {r[1] for r in table} == {str(d) for d in dead["ruin_date"].to_list()}
        first = dead["ruin_date"].min()
        assert f"the first on {first}" in html
    else:
        assert "ruined" not in v.tables
    if living:
        shown = {r[1] for r in v.tables["top"]}
        assert shown <= set(rows.filter(~pl.col("ruined"))["config_hash"].to_list())
        if living > 1:
            sharpes = rows.filter(~pl.col("ruined"))["sharpe"].drop_nans().len()
            assert f"{sharpes:,} of the {living:,} configurations that were never ruined" in html
            best = rows.filter(~pl.col("ruined"))["sharpe"].drop_nans().max()
            assert f"highest {best:.2f}" in html
    else:
        assert v.charts == {} and "top" not in v.tables
        assert f"every configuration ({rows.height}) was ruined" in html
    assert 'data-market="real"' in html


def test_todays_book_and_its_track_record_show_the_engines_numbers(
    site: dict[str, Any], visits: dict[str, Visit]
) -> None:
    db = site["db"]
    ledger = query(db, "SELECT * FROM results.signal_ledger ORDER BY as_of DESC, version DESC")
    row = ledger.row(0, named=True)
    today = visits["today"]
    assert today.figures["as of"] == str(row["as_of"])
    assert today.figures["R² now"] == f"{row['r2_now']:.2f}"
    low, high = row["break_even_low"], row["break_even_high"]
    assert today.figures["break-evens"] == f"{low:,.1f} / {high:,.1f}"
    # the same numbers as the saved book's backtest run to that day
    positions = json.loads(row["positions"])
    shown = today.tables["positions"]
    assert [r[1] for r in shown] == [p["instrument"] for p in positions]
    condor = next(p for p in positions if p["sleeve"] == "condor")
    expiry = date.fromisoformat(condor["instrument"].split()[-1])
    assert expiry > row["as_of"]  # nothing expired is shown open
    actions = json.loads(row["actions"])
    if actions:
        assert [r[2] for r in today.tables["actions"]] == [a["instrument"] for a in actions]
    else:
        assert [r[1] for r in today.tables["actions"]] == ["hold"]
    html = _file(site, "today").read_text()
    assert f"bounded by {row['bounded_by']}" in html
    from transforms.staleness import INPUTS

    inputs = {r[0]: r for r in today.tables["inputs"]}  # input, required, last, ...
    assert list(inputs) == [i.name for i in INPUTS]
    assert inputs["VX futures"][2] == json.loads(row["inputs"])["VX futures"]
    track = visits["track"]
    assert track.figures["ledger days"] == f"{ledger['as_of'].n_unique():,}" == "1"
    assert "One ledger day so far" in _file(site, "track").read_text()
    assert [r[0] for r in track.tables["pnl"]] == sorted(
        str(d) for d in ledger["as_of"].unique().to_list()
    )
