"""Every rule of every suite rejects a crafted bad batch, by name; real data passes.

The valid base is the real history as ingested (trimmed to recent years for speed); each
mutation breaks exactly one contract the way bad vendor data would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from expectations.rules import CRITICAL, WARNING
from expectations.runner import Report, validate
from expectations.suites import STORED_IN, SUITES, Context
from flows.validation import context
from transforms.signals.daily import SignalInputs, macro_monthly_signals, signals_daily
from warehouse.db import migrate
from warehouse.load import read_table

CORE_TABLES = [name for name, schema in STORED_IN.items() if schema == "core"]

Mutation = Callable[[pl.DataFrame], pl.DataFrame]
# Recent windows keep the suites fast; rules that need the older history use it.
SINCE = {"vx_futures": date(2019, 1, 1), "vx_term_structure": date(2019, 1, 1)}


@pytest.fixture(scope="module")
def base(real_warehouse: Path, shared_data: Path) -> tuple[dict[str, pl.DataFrame], Context]:
    from transforms.parse import normalised

    members = shared_data.parent / "data-updates" / "2026-09" / "sp500_member_breadth_daily.csv"
    con = duckdb.connect(str(real_warehouse), read_only=True)
    try:
        tables = {}
        for name in CORE_TABLES:
            frame = read_table(con, name)
            if name == "sp500_breadth":  # not in the history: from the 2026-09 update
                parsed = normalised.parse_sp500_breadth(members.read_bytes(), location="m")
                frame = parsed.frame.select(*frame.columns[:-2]).with_columns(
                    pl.lit("m").alias("source"), pl.lit("test").alias("ingest_run_id")
                )
            key = frame.columns[0]
            if name in SINCE:
                frame = frame.filter(pl.col(key) >= SINCE[name])
            tables[name] = frame
        inputs = SignalInputs(
            spx=tables["spx_daily"],
            vix=tables["vix_daily"],
            vix3m=tables["vix3m_daily"],
            vvix=tables["vvix_daily"],
            breadth=tables["nyse_breadth"],
            vx=read_table(con, "vx_futures"),
            curve=read_table(con, "vx_term_structure"),
            cm=tables["vx_constant_maturity"],
            macro=tables["macro_monthly"],
            fomc=tables["fomc_meetings"],
            members=tables["sp500_breadth"],
        )
        run_id = pl.lit("signals-test").alias("signal_run_id")
        tables["signals_daily"] = signals_daily(inputs).with_columns(run_id)
        tables["macro_signals"] = macro_monthly_signals(inputs.macro).with_columns(run_id)
        return tables, context(con)
    finally:
        con.close()


def _row(frame: pl.DataFrame, where: pl.Expr | int, **values: object) -> pl.DataFrame:
    """Set columns on the rows matching ``where`` (or the row at that position)."""
    mask = pl.int_range(pl.len()) == (where % frame.height) if isinstance(where, int) else where
    return frame.with_columns(
        pl.when(mask).then(pl.lit(v, dtype=frame.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items()
    )


def _scale(frame: pl.DataFrame, column: str, by: float, source: str) -> pl.DataFrame:
    """Set ``column`` to ``source`` x ``by`` on the last row where both are present."""
    present = frame.with_row_index("_i").filter(
        pl.col(column).is_not_null() & pl.col(source).is_not_null()
    )
    i = int(present["_i"][-1])
    return _row(frame, i, **{column: frame[source][i] * by})


def _drop_late_day(frame: pl.DataFrame, key: str = "date") -> pl.DataFrame:
    """Drop the session nine tenths into the history (inside every calendar span)."""
    day = frame.sort(key)[key][frame.height * 9 // 10]
    return frame.filter(pl.col(key) != day)


def _add_holiday(day: date, key: str = "date") -> Mutation:
    return lambda f: pl.concat([f, f.head(1).with_columns(pl.lit(day).alias(key))])


def _generic(name: str, table: str) -> Mutation | None:
    """Mutations for rules whose meaning is in their name."""
    if name.startswith("columns are"):
        return lambda f: f.drop(f.columns[-1])  # the provenance column
    if name == "column types match the contract":
        return lambda f: f.with_columns(pl.col(f.columns[-1]).cast(pl.Categorical))
    if name.startswith("the table has rows"):
        return lambda f: f.clear()
    if name.startswith("one row per"):
        return lambda f: pl.concat([f, f.head(1)])
    if m := re.fullmatch(r"(\w+) is present", name):
        return lambda f, c=m[1]: _row(f, 0, **{c: None})
    if m := re.fullmatch(r"(\w+) within \[(\S+), (\S+)\]", name):
        column, high = m[1], float(m[3])
        if column in {"total_gap", "day_of_month", "weekday"}:
            return None  # derived by the suite: mutated through their sources below
        return lambda f, c=column, h=high: _row(
            f, -1, **{c: (h + abs(h) + 1) if f.schema[c] == pl.Float64 else int(h) + 5}
        )
    if m := re.fullmatch(r"(\w+) >= (\S+)", name):
        if m[1] in ("high", "close", "open"):
            return None
        return lambda f, c=m[1], lo=float(m[2]): _row(f, -1, **{c: int(lo) - 1})
    return None


MUTATIONS: dict[tuple[str, str], Mutation] = {
    # calendar
    **{
        (t, "a row for every NYSE session in the span"): _drop_late_day
        for t in (
            "spx_daily",
            "vix_daily",
            "vix3m_daily",
            "vvix_daily",
            "nyse_breadth",
            "sp500_breadth",
        )
    },
    ("spx_daily", "no rows on NYSE holidays"): _add_holiday(date(2019, 12, 25)),
    ("vix_daily", "no rows on NYSE holidays"): _add_holiday(date(2019, 12, 25)),
    ("vix3m_daily", "no rows on NYSE holidays"): _add_holiday(date(2019, 12, 25)),
    ("vvix_daily", "no rows on NYSE holidays"): _add_holiday(date(2019, 12, 25)),
    ("nyse_breadth", "no rows on NYSE holidays"): _add_holiday(date(2014, 12, 25)),
    ("sp500_breadth", "no rows on NYSE holidays"): _add_holiday(date(2023, 12, 25)),
    # bars
    **{
        (t, "high >= low"): (lambda f: _scale(f, "high", 0.5, "low"))
        for t in ("spx_daily", "vix_daily", "vix3m_daily", "vx_futures")
    },
    **{
        (t, "close <= high"): (lambda f: _scale(f, "close", 1.5, "high"))
        for t in ("spx_daily", "vix_daily", "vix3m_daily")
    },
    **{
        (t, "close >= low"): (lambda f: _scale(f, "close", 0.7, "low"))
        for t in ("spx_daily", "vix_daily", "vix3m_daily")
    },
    **{
        (t, "open <= high"): (lambda f: _scale(f, "open", 1.5, "high"))
        for t in ("spx_daily", "vix3m_daily")
    },
    **{
        (t, "open >= low"): (lambda f: _scale(f, "open", 0.7, "low"))
        for t in ("spx_daily", "vix3m_daily")
    },
    # VX
    ("vx_futures", "contract_type is monthly or weekly"): lambda f: _row(
        f, 0, contract_type="quarterly"
    ),
    ("vx_futures", "expiry on or after the trade date"): lambda f: _row(
        f, 0, expiry=f["trade_date"][0] - timedelta(days=1)
    ),
    ("vx_futures", "trade date is an SPX trading day"): lambda f: _row(
        f, 0, trade_date=date(2019, 12, 25)
    ),
    ("vx_futures", "final settlement within 20% of VIX open on expiry"): lambda f: f.with_columns(
        pl.when(pl.col("trade_date") == pl.col("expiry"))
        .then(pl.col("settle") * 1.5)
        .otherwise(pl.col("settle"))
        .alias("settle")
    ),
    ("vx_term_structure", "expiry after the trade date"): lambda f: _row(
        f, 0, expiry=f["trade_date"][0], days_to_expiry=0
    ),
    ("vx_term_structure", "months ordered by expiry"): lambda f: _row(
        f,
        (pl.col("trade_date") == f["trade_date"][0]) & (pl.col("month") == 2),
        expiry=f["trade_date"][0] + timedelta(days=1),
    ),
    ("vx_term_structure", "month within [1, 9]"): lambda f: _row(f, 0, month=10),
    # breadth
    ("nyse_breadth", "total_gap within [0, 0]"): lambda f: _row(
        f, 100, total_issues=f["total_issues"][100] + 1
    ),
    ("nyse_breadth", "A/D line adds advancing - declining each day"): lambda f: _row(
        f, pl.col("date") == f.sort("date")["date"][100], ad_line=f.sort("date")["ad_line"][100] + 7
    ),
    ("sp500_breadth", "advancing + declining members never exceed the members"): lambda f: _row(
        f, 100, advancing=f["members"][100] - f["declining"][100] + 1
    ),
    ("signals_daily", "breadth_series is a known breadth series"): lambda f: _row(
        f, pl.col("ad_line").is_not_null(), breadth_series="Nasdaq issues"
    ),
    ("signals_daily", "every breadth value names its series"): lambda f: _row(
        f,
        pl.col("date") == f.filter(pl.col("ad_line").is_not_null())["date"][-1],
        breadth_series=None,
    ),
    # macro
    ("macro_monthly", "series is a known CPI/PPI id"): lambda f: _row(f, 0, series_id="UNRATE"),
    ("macro_monthly", "public date rule is known"): lambda f: _row(
        f, 0, public_date_rule="a guess"
    ),
    ("macro_monthly", "value > 0"): lambda f: _row(f, -1, value=0.0),
    ("macro_monthly", "public only after its reference month ended"): lambda f: _row(
        f, -1, public_date=f["reference_month"][-1] + timedelta(days=20)
    ),
    ("macro_monthly", "day_of_month within [1, 1]"): lambda f: _row(
        f, -1, reference_month=date(2024, 5, 2)
    ),
    ("macro_monthly", "no missing months"): lambda f: f.filter(
        ~((pl.col("series_id") == "CPIAUCSL") & (pl.col("reference_month") == date(2019, 6, 1)))
    ),
    ("release_dates", "released after its reference month ended"): lambda f: _row(
        f, -1, release_date=f["reference_month"][-1] + timedelta(days=27)
    ),
    ("release_dates", "release is CPI or PPI"): lambda f: _row(f, -1, release="GDP"),
    ("tbill_3m_daily", "no gap over 7 days"): lambda f: f.filter(
        ~pl.col("date").is_between(date(2019, 6, 3), date(2019, 6, 14))
    ),
    ("trading_calendar", "weekday within [1, 5]"): lambda f: _row(f, 0, date=date(2019, 6, 1)),
    # signals
    ("signals_daily", "a row for every NYSE session in the span"): _drop_late_day,
    ("signals_daily", "no rows on NYSE holidays"): _add_holiday(date(2019, 12, 25)),
    ("signals_daily", "vix_vix3m_ratio > 0"): lambda f: _row(f, 5000, vix_vix3m_ratio=-0.5),
    ("macro_signals", "public only after its reference month ended"): lambda f: _row(
        f, -1, public_date=f["reference_month"][-1] + timedelta(days=20)
    ),
}
# A rule that needs another table to break: (table, rule) -> changed context.
CONTEXT_MUTATIONS: dict[tuple[str, str], Callable[[pl.DataFrame, Context], Context]] = {
    ("vx_term_structure", "no settle flagged suspect in the curve"): lambda f, ctx: Context(
        ctx.sessions,
        ctx.calendar_end,
        ctx.spx_dates,
        ctx.vix_open,
        f.head(1).select("trade_date", "contract"),
    ),
}


def _cases() -> list[tuple[str, str]]:
    """Every (table, critical rule) of every suite, from the suites themselves."""
    empty_ctx = Context(
        frozenset(),
        None,
        frozenset(),
        pl.DataFrame(schema={"date": pl.Date, "open": pl.Float64}),
        pl.DataFrame(schema={"trade_date": pl.Date, "contract": pl.String}),
    )
    con = duckdb.connect(":memory:")  # an empty migrated warehouse: the suites' shape
    migrate(con)
    cases = []
    for name, build in SUITES.items():
        suite = build(read_table(con, name, schema=STORED_IN[name]), empty_ctx)
        cases += [(name, r.name) for r in suite.rules if r.severity == CRITICAL]
    con.close()
    return cases


CASES = _cases()


def _mutation(table: str, rule: str) -> Mutation | None:
    return MUTATIONS.get((table, rule)) or _generic(rule, table)


def test_every_critical_rule_has_a_crafted_bad_batch() -> None:
    missing = [
        (t, r) for t, r in CASES if _mutation(t, r) is None and (t, r) not in CONTEXT_MUTATIONS
    ]
    assert missing == []
    assert len(CASES) > 120


@pytest.mark.parametrize(("table", "rule"), CASES, ids=[f"{t}:{r}" for t, r in CASES])
def test_crafted_bad_batch_fails_the_rule_by_name(
    base: tuple[dict[str, pl.DataFrame], Context], table: str, rule: str
) -> None:
    tables, ctx = base
    frame = tables[table]
    clean = validate(SUITES[table](frame, ctx))
    assert rule not in [f.rule for f in clean.failures]
    if (table, rule) in CONTEXT_MUTATIONS:
        ctx = CONTEXT_MUTATIONS[(table, rule)](frame, ctx)
    else:
        mutation = _mutation(table, rule)
        assert mutation is not None
        frame = mutation(frame)
    report = validate(SUITES[table](frame, ctx))
    assert rule in [f.rule for f in report.failures], report.summary()
    assert f"{table}: rule '{rule}' failed" in report.summary()
    assert not report.passed


def test_real_history_passes_every_suite(
    base: tuple[dict[str, pl.DataFrame], Context], real_warehouse: Path
) -> None:
    from tests.conftest import query

    runs = query(real_warehouse, "SELECT table_name, success, blocked, failed FROM validation_runs")
    # the ingest validates the core tables it loads (S&P 500 member breadth comes with the
    # 2026-09 update, not the history)
    assert set(runs["table_name"]) == set(CORE_TABLES) - {"sp500_breadth"}
    assert runs["success"].all() and not runs["blocked"].any()
    warnings = query(
        real_warehouse,
        "SELECT table_name, rule, unexpected FROM validation_results WHERE NOT success ORDER BY ALL",
    ).rows()
    # The documented warnings, and nothing else: each carries its reason in the suite.
    assert warnings == [
        ("vix_daily", "open <= high", 20),
        ("vix_daily", "open >= low", 27),
        ("vvix_daily", "close within [50, 250] before 2007-01-01", 6),
        ("vx_futures", "close >= low", 1),
    ]


def test_warnings_are_reported_but_do_not_block(
    base: tuple[dict[str, pl.DataFrame], Context],
) -> None:
    tables, ctx = base
    vix = _scale(tables["vix_daily"], "open", 1.5, "high")
    report: Report = validate(SUITES["vix_daily"](vix, ctx))
    assert report.passed
    warned = {w.rule: w for w in report.warnings}
    assert warned["open <= high"].severity == WARNING
    assert "first calculation" in warned["open <= high"].reason
    assert warned["open <= high"].unexpected == 21  # the 20 real ones and the crafted one


def test_every_exception_carries_its_reason(base: tuple[dict[str, pl.DataFrame], Context]) -> None:
    tables, ctx = base
    for name, build in SUITES.items():
        suite = build(tables[name], ctx)
        assert validate(suite).passed, name  # the real history, signals included, passes
        for rule in suite.rules:
            if rule.severity == WARNING or "exception" in rule.name:
                assert rule.reason, (name, rule.name)
    calendar = SUITES["vix_daily"](tables["vix_daily"], ctx).rules
    reasons = " ".join(r.reason for r in calendar)
    assert "1999-12-31" in reasons and "global-trading-hours" in reasons
