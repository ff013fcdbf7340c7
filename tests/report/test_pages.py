"""Every page type in a real headless Chromium from file://: no console error, no request
beyond file://, every chart drawn; the figures shown equal the warehouse's; runs with
no trades, a ruined run and a one-configuration sweep still render and say what is
missing. Screenshots go to the test's output folder."""

from __future__ import annotations

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
    ids["ruined"] = rid(run(["backtest", *base]))  # 50 lots: ruined by the chain's spreads
    ids["empty"] = rid(run(["backtest", *base, "--param", "lots=0", "--param", "hedge_ratio=0"]))
    book = ["--param", "lots=10", "--param", "hold_to_expiry=true"]  # a condor open at the end
    ids["book"] = rid(run(["backtest", *base, *book]))  # the latest: today's book
    grid = ["--dim", "hold_to_expiry=false,true", "--hedge-ratio", "0:0.4:0.2", "--top", "1"]
    ids["sweep"] = sid(
        run(["sweep", *base, "--param", "lots=10", *grid, "--walk-forward", "--train", "24"])
    )
    one = ["--hedge-ratio", "0.2", "--r2-band", "0.45-0.65", "--top", "1"]
    ids["one"] = sid(run(["sweep", *base, "--param", "lots=10", *one]))
    run(["validate", "--db", str(db)])
    out = folder / "reports"
    args = ["report", "--db", str(db), "--out", str(out), "--latest"]
    for k in ("ruined", "empty", "book"):
        args += ["--run", ids[k]]
    for k in ("sweep", "one"):
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
    "today",
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
        "sweep": {"heat-sharpe", "heat-time_in_band", "heat-sharpe_out_of_sample",
                  "heat-hedge_cost_flat", "pareto", "distribution"},
        "today": {"r2", "payoff"},
        "market": {"curve", "term", "vix", "breadth", "macro"},
        "validation": {"rules"},
        "replication": {"levels", "errors"},
    }.get(page)  # fmt: skip
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
    assert visits["sweep"].figures["PBO"] == fmt(sweep["pbo"], RATIO)
    html = _file(site, "index").read_text()
    for page in ("book", "ruined", "empty", "sweep", "one", "today", "market", "validation"):
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
