"""The data contracts: one suite per core table, as code.

A suite validates the state a table would have after a batch is merged (the whole
table, not the batch alone), so calendar completeness and cross-table rules see the
real span. Thresholds are named below; every exception to a rule is listed with its
reason. Anything not listed here fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import great_expectations.expectations as gxe
import polars as pl
from great_expectations.expectations.row_conditions import Column

from expectations.rules import CRITICAL, WARNING, Rule, Suite
from transforms.columns import (
    BREADTH_SERIES,
    BY_NAME,
    CPI_SERIES,
    MACRO_SIGNALS,
    PPI_SERIES,
    RELEASES,
    SIGNAL_INPUTS,
    SIGNAL_TABLES,
    SIGNALS_DAILY,
    Series,
)

# --------------------------------------------------------------------- thresholds
SPX_CLOSE_RANGE = (1.0, 50_000.0)  # index points
VIX_RANGE = (5.0, 150.0)  # VIX closes 1990-2026: 8.56 .. 82.69; highs to 89.5
VVIX_RANGE = (50.0, 250.0)  # 2007-2026 closes: 59.7 .. 207.6 (2020-03-16)
VVIX_RELIABLE_FROM = date(2007, 1, 1)  # 2006 is sparse, with 6 prints < 50 (data README)
VX_SETTLE_RANGE = (5.0, 150.0)  # real settles 8.75 .. 74.5 outside the flagged prints
# |final settlement / VIX open of expiry morning - 1|: the final value is the special
# opening quotation, not the first VIX print; 2004-2026: median 0.35 pt, max 13.1 %
# (VXG17 12.26 vs 10.84).
FINAL_SETTLEMENT_MAX_REL_GAP = 0.20
TBILL_RANGE = (-1.0, 25.0)  # percent, discount basis
SP500_MEMBERS_RANGE = (450, 510)  # members counted a day (487-502 in the data: a few lack bars)
TBILL_MAX_GAP_DAYS = 7  # the bond market closes for at most a long weekend + holiday
CALENDAR_START = date(1990, 1, 2)  # first session of core.trading_calendar
MACRO_SERIES = (*CPI_SERIES, *PPI_SERIES)
PUBLIC_DATE_RULES = ("release calendar", "lag rule", "lag rule (listed date unconfirmed)")

# ------------------------------------------------------------- known exceptions
MISSING_SESSIONS: dict[str, dict[date, str]] = {
    "vix_daily": dict.fromkeys(
        (date(1991, 3, 1), date(1997, 1, 31), date(1997, 11, 26), date(1999, 12, 31)),
        "NYSE session absent from Cboe's published VIX history",
    ),
    "vvix_daily": {
        date(2010, 11, 11): "absent from Cboe's published VVIX history",
        date(2013, 5, 13): "absent from Cboe's published VVIX history",
    },
    "nyse_breadth": {
        date(1999, 11, 26): "absent from the Unicorn breadth files (data README)",
        date(2002, 6, 20): "absent from the Unicorn breadth files (data README)",
        date(2019, 8, 20): "absent from the Unicorn breadth files (data-updates/2026-09 "
        "README); the A/D line skips it",
    },
}
EXTRA_DAYS: dict[str, dict[date, str]] = {
    "vix_daily": {
        date(2004, 6, 11): "Reagan national day of mourning: NYSE closed, Cboe computed VIX",
    },
}
# From this date on, rows on NYSE holidays are allowed, for the reason given.
EXTRA_DAYS_FROM: dict[str, tuple[date, str]] = {
    "vix_daily": (date(2022, 1, 1), "Cboe publishes global-trading-hours VIX on US holidays"),
}
VX_EXCHANGE_ONLY_SESSIONS: dict[date, str] = {
    date(2015, 4, 3): "CFE open on Good Friday, NYSE closed",
    date(2018, 12, 5): "CFE open on the Bush national day of mourning, NYSE closed",
    date(2025, 1, 9): "CFE open on the Carter national day of mourning, NYSE closed",
}
MISSING_MONTHS: dict[tuple[str, date], str] = {
    (sid, date(2025, 10, 1)): "BLS did not publish October 2025 CPI (government shutdown)"
    for sid in CPI_SERIES
}


@dataclass(frozen=True)
class Context:
    """What the suites need from other tables (read by the caller, passed in)."""

    sessions: frozenset[date]  # NYSE sessions of core.trading_calendar
    calendar_end: date | None  # last date the calendar covers
    spx_dates: frozenset[date]  # dates of core.spx_daily
    vix_open: pl.DataFrame  # date, open of core.vix_daily
    suspect_vx: pl.DataFrame  # trade_date, contract of VX rows flagged suspect_settle


# ------------------------------------------------------------------ rule helpers
def _stored_schema(series: Series) -> dict[str, pl.DataType]:
    """Columns and types of the stored table: the series' columns plus provenance."""
    if series in SIGNAL_TABLES:
        return {**series.schema, "signal_run_id": pl.String()}
    stored = dict(series.schema)
    if series.name == "macro_monthly":  # revisions: one row per vintage
        items = list(stored.items())
        stored = dict([*items[:2], ("vintage_date", pl.Date()), *items[2:]])
    return {**stored, "source": pl.String(), "ingest_run_id": pl.String()}


def _schema_frame(frame: pl.DataFrame, series: Series) -> pl.DataFrame:
    """One row per column of ``frame``: its Polars type and the type the contract wants
    (helper columns a suite derives are not part of the contract)."""
    expected = _stored_schema(series)
    return pl.DataFrame(
        {
            "column": frame.columns,
            "dtype": [str(t) for t in frame.dtypes],
            "expected": [str(expected.get(c, t)) for c, t in frame.schema.items()],
        }
    )


def _suite(
    series: Series,
    rules: list[Rule],
    frames: dict[str, pl.DataFrame],
    index: dict[str, tuple[str, ...]],
) -> Suite:
    """A suite with the schema frame its type rule reads."""
    return Suite(
        series.name,
        tuple(rules),
        {**frames, "schema": _schema_frame(frames["table"], series)},
        {**index, "schema": ("column",)},
    )


def _structure(series: Series, *, helpers: tuple[str, ...] = ()) -> list[Rule]:
    """Schema (stored columns, then the helper columns a suite derives), types, key
    uniqueness and required fields."""
    columns = [*_stored_schema(series), *helpers]
    key = list(series.key) + (["vintage_date"] if series.name == "macro_monthly" else [])
    return [
        Rule(
            f"columns are {', '.join(columns)}",
            gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns),
        ),
        Rule(
            "column types match the contract",
            gxe.ExpectColumnPairValuesToBeEqual(column_A="dtype", column_B="expected"),
            frame="schema",
        ),
        Rule(
            f"one row per {', '.join(key)}",
            gxe.ExpectCompoundColumnsToBeUnique(column_list=key)
            if len(key) > 1
            else gxe.ExpectColumnValuesToBeUnique(column=key[0]),
        ),
        *[
            Rule(f"{c} is present", gxe.ExpectColumnValuesToNotBeNull(column=c))
            for c in series.required
        ],
        *[_at_least(c, 0) for c in series.counts],
        *(
            [
                Rule(
                    "the table has rows (the signals need it)",
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                )
            ]
            if series in SIGNAL_INPUTS
            else []
        ),
    ]


def _between(column: str, bounds: tuple[float, float], **kw: object) -> Rule:
    lo, hi = bounds
    return Rule(
        f"{column} within [{lo:g}, {hi:g}]",
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=lo, max_value=hi, **kw),
    )


def _at_least(column: str, low: float, name: str | None = None, **kw: object) -> Rule:
    return Rule(
        name or f"{column} >= {low:g}",
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, **kw),
    )


def _flag_false(
    column: str, name: str, *, frame: str, reason: str = "", severity: str = "critical"
) -> Rule:
    return Rule(
        name,
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[False]),
        severity=severity,
        reason=reason,
        frame=frame,
    )


def _ohlc(*, lenient: tuple[str, ...] = (), reason: str = "") -> list[Rule]:
    """Bars are consistent: low <= open, close <= high. Checks named in ``lenient`` are
    warnings, for ``reason``."""
    checks = {  # name: (column that must be >=, column that must be <=)
        "high >= low": ("high", "low"),
        "close <= high": ("high", "close"),
        "close >= low": ("close", "low"),
        "open <= high": ("high", "open"),
        "open >= low": ("open", "low"),
    }
    return [
        Rule(
            name,
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
            ),
            WARNING if name in lenient else CRITICAL,
            reason if name in lenient else "",
        )
        for name, (a, b) in checks.items()
    ]


def _calendar_frame(
    table: str, dates: pl.Series, ctx: Context, *, first: date | None = None
) -> pl.DataFrame:
    """Every NYSE session and every table date in the table's span, with violation flags.

    ``missing``: a session without a row; ``extra``: a row on a day without a session;
    each false when the day is a listed exception. Spans start no earlier than the
    calendar (1990) and end no later than it.
    """
    schema = {"date": pl.Date(), "missing": pl.Boolean(), "extra": pl.Boolean()}
    if dates.is_empty() or ctx.calendar_end is None:
        return pl.DataFrame(schema=schema)
    first_day, last_day = dates.min(), dates.max()
    assert isinstance(first_day, date) and isinstance(last_day, date)
    lo = max(first_day, first or CALENDAR_START, CALENDAR_START)
    hi = min(last_day, ctx.calendar_end)
    in_table = set(dates.filter((dates >= lo) & (dates <= hi)).to_list())
    sessions = {d for d in ctx.sessions if lo <= d <= hi}
    missing_ok = MISSING_SESSIONS.get(table, {})
    extra_ok = EXTRA_DAYS.get(table, {})
    extra_from = EXTRA_DAYS_FROM.get(table, (date.max, ""))[0]
    days = sorted(in_table | sessions)
    return pl.DataFrame(
        {
            "date": days,
            "missing": [d in sessions and d not in in_table and d not in missing_ok for d in days],
            "extra": [
                d in in_table and d not in sessions and d not in extra_ok and d < extra_from
                for d in days
            ],
        },
        schema=schema,
    )


def _calendar_rules(table: str) -> list[Rule]:
    excused = [*MISSING_SESSIONS.get(table, {}).items(), *EXTRA_DAYS.get(table, {}).items()]
    reason = "; ".join(f"{d}: {why}" for d, why in excused)
    if table in EXTRA_DAYS_FROM:
        since, why = EXTRA_DAYS_FROM[table]
        reason += f"; holiday rows from {since}: {why}"
    return [
        _flag_false(
            "missing", "a row for every NYSE session in the span", frame="calendar", reason=reason
        ),
        _flag_false("extra", "no rows on NYSE holidays", frame="calendar", reason=reason),
    ]


# -------------------------------------------------------------------- the suites
def _daily_index(
    series: Series, bounds: tuple[float, float], frame: pl.DataFrame, ctx: Context, **kw: object
) -> Suite:
    rules = [*_structure(series), _between("close", bounds, **kw)]
    if series.ohlc:
        rules += [_between("low", bounds, **kw), _between("high", bounds, **kw)]
    return _suite(
        series,
        rules + _calendar_rules(series.name),
        {"table": frame, "calendar": _calendar_frame(series.name, frame["date"], ctx)},
        {"table": ("date",), "calendar": ("date",)},
    )


def spx_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    suite = _daily_index(BY_NAME["spx_daily"], SPX_CLOSE_RANGE, frame, ctx)
    return Suite(suite.table, (*suite.rules, *_ohlc()), suite.frames, suite.index)


def vix_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    suite = _daily_index(BY_NAME["vix_daily"], VIX_RANGE, frame, ctx)
    why = (
        "Cboe's VIX open is the first calculation, which can lie outside the day's range "
        "(47 days 1990-2026)"
    )
    return Suite(
        suite.table,
        suite.rules + tuple(_ohlc(lenient=("open <= high", "open >= low"), reason=why)),
        suite.frames,
        suite.index,
    )


def vix3m_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    suite = _daily_index(BY_NAME["vix3m_daily"], VIX_RANGE, frame, ctx)
    return Suite(suite.table, suite.rules + tuple(_ohlc()), suite.frames, suite.index)


def vvix_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["vvix_daily"]
    since = Column("date") >= VVIX_RELIABLE_FROM.isoformat()
    rules = [
        *_structure(series),
        _between("close", VVIX_RANGE, row_condition=since),
        Rule(
            f"close within [{VVIX_RANGE[0]:g}, {VVIX_RANGE[1]:g}] before {VVIX_RELIABLE_FROM}",
            gxe.ExpectColumnValuesToBeBetween(
                column="close", min_value=VVIX_RANGE[0], max_value=VVIX_RANGE[1]
            ),
            WARNING,
            "VVIX in 2006 is sparse and has 6 implausible prints < 50 (data README)",
        ),
        *_calendar_rules(series.name),
    ]
    calendar = _calendar_frame(series.name, frame["date"], ctx, first=VVIX_RELIABLE_FROM)
    return _suite(
        series,
        rules,
        {"table": frame, "calendar": calendar},
        {"table": ("date",), "calendar": ("date",)},
    )


def vx_futures(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["vx_futures"]
    not_suspect = Column("suspect_settle") == False  # noqa: E712 - builds a GX condition
    why = (
        "exchange prints: a trade can fall outside the settlement-time high/low "
        "(1 close in 2004-2026)"
    )
    table = frame.with_columns(
        (pl.col("expiry") - pl.col("trade_date")).dt.total_days().alias("days_to_expiry"),
        (
            pl.col("trade_date").is_in(list(ctx.spx_dates | set(VX_EXCHANGE_ONLY_SESSIONS)))
            | (pl.col("trade_date") > max(ctx.spx_dates, default=date.min))
            | (pl.col("trade_date") < min(ctx.spx_dates, default=date.max))
        ).alias("on_spx_day"),
    )
    finals = (
        frame.filter(
            (pl.col("trade_date") == pl.col("expiry")) & (pl.col("contract_type") == "monthly")
        )
        .join(ctx.vix_open.rename({"date": "trade_date", "open": "vix_open"}), on="trade_date")
        .select(
            "contract",
            "expiry",
            "settle",
            "vix_open",
            (pl.col("settle") / pl.col("vix_open") - 1).abs().alias("rel_gap"),
        )
    )
    rules = [
        *_structure(series, helpers=("days_to_expiry", "on_spx_day")),
        Rule(
            "contract_type is monthly or weekly",
            gxe.ExpectColumnValuesToBeInSet(
                column="contract_type", value_set=["monthly", "weekly"]
            ),
        ),
        _at_least("days_to_expiry", 0, "expiry on or after the trade date"),
        _between("settle", VX_SETTLE_RANGE, row_condition=not_suspect),
        *_ohlc(
            lenient=("close <= high", "close >= low", "open <= high", "open >= low"), reason=why
        ),
        Rule(
            "trade date is an SPX trading day",
            gxe.ExpectColumnValuesToBeInSet(column="on_spx_day", value_set=[True]),
            reason="; ".join(f"{d}: {why}" for d, why in VX_EXCHANGE_ONLY_SESSIONS.items()),
        ),
        Rule(
            f"final settlement within {FINAL_SETTLEMENT_MAX_REL_GAP:.0%} of VIX open on expiry",
            gxe.ExpectColumnValuesToBeBetween(
                column="rel_gap", max_value=FINAL_SETTLEMENT_MAX_REL_GAP
            ),
            frame="finals",
        ),
    ]
    return _suite(
        series,
        rules,
        {"table": table, "finals": finals},
        {"table": ("trade_date", "contract"), "finals": ("contract",)},
    )


def vx_term_structure(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["vx_term_structure"]
    table = frame.sort("trade_date", "month").with_columns(
        (pl.col("expiry") - pl.col("expiry").shift(1).over("trade_date"))
        .dt.total_days()
        .alias("expiry_step_days"),
        pl.struct("trade_date", "contract")
        .is_in(ctx.suspect_vx.select(pl.struct("trade_date", "contract")).to_series().implode())
        .alias("suspect"),
    )
    rules = [
        *_structure(series, helpers=("expiry_step_days", "suspect")),
        _between("month", (1, 9)),
        _at_least("days_to_expiry", 1, "expiry after the trade date"),
        _at_least("expiry_step_days", 1, "months ordered by expiry"),
        _between("settle", VX_SETTLE_RANGE),
        _flag_false("suspect", "no settle flagged suspect in the curve", frame="table"),
    ]
    return _suite(series, rules, {"table": table}, {"table": ("trade_date", "month")})


def vx_constant_maturity(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["vx_constant_maturity"]
    rules = [
        *_structure(series),
        _between("settle", VX_SETTLE_RANGE),
        _between("near_weight", (0.0, 1.0)),
    ]
    return _suite(series, rules, {"table": frame}, {"table": ("trade_date",)})


def nyse_breadth(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["nyse_breadth"]
    ordered = frame.sort("date")
    table = ordered.with_columns(
        (
            pl.col("advancing") + pl.col("declining") + pl.col("unchanged") - pl.col("total_issues")
        ).alias("total_gap"),
        (pl.col("ad_line").diff() - (pl.col("advancing") - pl.col("declining")))
        .fill_null(0)
        .alias("ad_line_gap"),
    )
    rules = [
        *_structure(series, helpers=("total_gap", "ad_line_gap")),
        _between("total_gap", (0, 0)),
        Rule(
            "A/D line adds advancing - declining each day",
            gxe.ExpectColumnValuesToBeBetween(column="ad_line_gap", min_value=0, max_value=0),
        ),
        *_calendar_rules(series.name),
    ]
    return _suite(
        series,
        rules,
        {"table": table, "calendar": _calendar_frame(series.name, frame["date"], ctx)},
        {"table": ("date",), "calendar": ("date",)},
    )


def sp500_breadth(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["sp500_breadth"]
    table = frame.sort("date").with_columns(
        (pl.col("members") - pl.col("advancing") - pl.col("declining")).alias("neither")
    )
    rules = [
        *_structure(series, helpers=("neither",)),
        _between("members", SP500_MEMBERS_RANGE),
        _at_least("neither", 0, "advancing + declining members never exceed the members"),
        *_calendar_rules(series.name),
    ]
    return _suite(
        series,
        rules,
        {"table": table, "calendar": _calendar_frame(series.name, frame["date"], ctx)},
        {"table": ("date",), "calendar": ("date",)},
    )


def macro_monthly(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["macro_monthly"]
    latest = frame.sort("vintage_date").group_by("series_id", "reference_month").last()
    excused = pl.DataFrame(
        {"series_id": [s for s, _ in MISSING_MONTHS], "missing": [m for _, m in MISSING_MONTHS]},
        schema={"series_id": pl.String(), "missing": pl.Date()},
    ).with_columns(pl.lit(True).alias("excused"))
    # A month follows its predecessor by one; a listed missing month excuses one gap of two.
    month_number = pl.col("reference_month").dt.year() * 12 + pl.col("reference_month").dt.month()
    months = (
        latest.sort("series_id", "reference_month")
        .with_columns(
            month_number.diff().over("series_id").fill_null(1).alias("gap_months"),
            pl.col("reference_month").dt.offset_by("-1mo").alias("missing"),
        )
        .join(excused, on=["series_id", "missing"], how="left")
        .select(
            "series_id",
            "reference_month",
            (
                (pl.col("gap_months") != 1)
                & ~((pl.col("gap_months") == 2) & pl.col("excused").fill_null(False))
            ).alias("missing_month"),
        )
    )
    table = frame.with_columns(
        (pl.col("public_date") - pl.col("reference_month").dt.month_end())
        .dt.total_days()
        .alias("days_after_month_end"),
        pl.col("reference_month").dt.day().alias("day_of_month"),
    )
    rules = [
        *_structure(series, helpers=("days_after_month_end", "day_of_month")),
        Rule(
            "series is a known CPI/PPI id",
            gxe.ExpectColumnValuesToBeInSet(column="series_id", value_set=list(MACRO_SERIES)),
        ),
        Rule(
            "public date rule is known",
            gxe.ExpectColumnValuesToBeInSet(
                column="public_date_rule", value_set=list(PUBLIC_DATE_RULES)
            ),
        ),
        _at_least("value", 0.0, "value > 0", strict_min=True),
        _at_least("days_after_month_end", 1, "public only after its reference month ended"),
        _between("day_of_month", (1, 1)),
        _flag_false(
            "missing_month",
            "no missing months",
            frame="months",
            reason="; ".join(f"{s} {m:%Y-%m}: {why}" for (s, m), why in MISSING_MONTHS.items()),
        ),
    ]
    return _suite(
        series,
        rules,
        {"table": table, "months": months},
        {"table": ("series_id", "reference_month"), "months": ("series_id", "reference_month")},
    )


def release_dates(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["release_dates"]
    table = frame.with_columns(
        (pl.col("release_date") - pl.col("reference_month").dt.month_end())
        .dt.total_days()
        .alias("days_after_month_end")
    )
    rules = [
        *_structure(series, helpers=("days_after_month_end",)),
        _at_least("days_after_month_end", 1, "released after its reference month ended"),
        Rule(
            "release is CPI or PPI",
            gxe.ExpectColumnValuesToBeInSet(column="release", value_set=list(RELEASES)),
        ),
    ]
    return _suite(series, rules, {"table": table}, {"table": ("release", "reference_month")})


def tbill_3m_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["tbill_3m_daily"]
    table = frame.sort("date").with_columns(pl.col("date").diff().dt.total_days().alias("gap_days"))
    rules = [
        *_structure(series, helpers=("gap_days",)),
        _between("rate_pct", TBILL_RANGE),
        Rule(
            f"no gap over {TBILL_MAX_GAP_DAYS} days",
            gxe.ExpectColumnValuesToBeBetween(column="gap_days", max_value=TBILL_MAX_GAP_DAYS),
            reason="the T-bill follows the bond-market calendar (open on Good Friday, closed "
            "on Columbus and Veterans Day), which no installed calendar models: gaps, not "
            "days, are checked",
        ),
    ]
    return _suite(series, rules, {"table": table}, {"table": ("date",)})


def fomc_meetings(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["fomc_meetings"]
    return _suite(series, _structure(series), {"table": frame}, {"table": ("date",)})


def trading_calendar(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = BY_NAME["trading_calendar"]
    table = frame.with_columns(pl.col("date").dt.weekday().alias("weekday"))
    rules = [
        *_structure(series, helpers=("weekday",)),
        _between("weekday", (1, 5)),
    ]
    return _suite(series, rules, {"table": table}, {"table": ("date",)})


def signals_daily(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = SIGNALS_DAILY
    table = frame.with_columns(
        (pl.col("breadth_series").is_null() != pl.col("ad_line").is_null()).alias("unnamed")
    )
    rules = [
        *_structure(series, helpers=("unnamed",)),
        Rule(
            "breadth_series is a known breadth series",
            gxe.ExpectColumnValuesToBeInSet(
                column="breadth_series", value_set=list(BREADTH_SERIES)
            ),
        ),
        _flag_false("unnamed", "every breadth value names its series", frame="table"),
        _between("vix_rsi_14", (0.0, 100.0)),
        _between("vx_front_rsi_14", (0.0, 100.0)),
        _between("vx_cm30_spx_r2_60", (0.0, 1.0)),
        _at_least("spx_rvol_20", 0.0),
        _at_least("vix_vix3m_ratio", 0.0, "vix_vix3m_ratio > 0", strict_min=True),
        _at_least("days_to_next_fomc", 0),
        *_calendar_rules(series.name),
    ]
    calendar = _calendar_frame(series.name, frame["date"], ctx)
    return _suite(
        series,
        rules,
        {"table": table, "calendar": calendar},
        {"table": ("date",), "calendar": ("date",)},
    )


def macro_signals(frame: pl.DataFrame, ctx: Context) -> Suite:
    series = MACRO_SIGNALS
    table = frame.with_columns(
        (pl.col("public_date") - pl.col("reference_month").dt.month_end())
        .dt.total_days()
        .alias("days_after_month_end")
    )
    rules = [
        *_structure(series, helpers=("days_after_month_end",)),
        _at_least("days_after_month_end", 1, "public only after its reference month ended"),
    ]
    return _suite(series, rules, {"table": table}, {"table": ("reference_month",)})


SUITES: Mapping[str, Callable[[pl.DataFrame, Context], Suite]] = {
    "trading_calendar": trading_calendar,
    "spx_daily": spx_daily,
    "vix_daily": vix_daily,
    "vix3m_daily": vix3m_daily,
    "vvix_daily": vvix_daily,
    "vx_futures": vx_futures,
    "nyse_breadth": nyse_breadth,
    "sp500_breadth": sp500_breadth,
    "release_dates": release_dates,
    "macro_monthly": macro_monthly,
    "tbill_3m_daily": tbill_3m_daily,
    "fomc_meetings": fomc_meetings,
    "vx_term_structure": vx_term_structure,
    "vx_constant_maturity": vx_constant_maturity,
    "signals_daily": signals_daily,
    "macro_signals": macro_signals,
}
# Where each table is stored (the signal tables live in the ``signals`` schema).
STORED_IN: Mapping[str, str] = {
    name: "signals" if name in {s.name for s in SIGNAL_TABLES} else "core" for name in SUITES
}
