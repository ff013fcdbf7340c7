"""Names, types and keys of every canonical table.

One place for the column contract: the parsers produce frames of these schemas, the
warehouse DDL declares the same columns (a test checks it), and the later suites and
signals read them by these names.

Units: index levels and VX prices are in index points (VX before 2007-03-26 already
divided by 10, see ``transforms.parse.cboe``), rates in percent, volumes in contracts or
shares as published. Dates are exchange trade dates; monthly series are keyed by the
first day of the reference month (FRED convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

# Provenance columns carried by a parsed frame until it is loaded.
LINE = "_line"
RAW = "_raw"
LOCATION = "_location"


@dataclass(frozen=True)
class Series:
    """A canonical table: its natural key, typed columns and row rules.

    ``prices`` must be strictly positive where present; ``required`` may not be null;
    ``ohlc`` is true where a high below the low is a malformed row. ``observed`` names
    the column dating an observation (a row dated after the run's as-of date is
    malformed, and a new input's history is compared with the stored one along it);
    it is None for schedules, whose future rows are legitimate (FOMC, release dates).
    ``counts`` may not be negative. ``since``: the first day the series can have (its
    publisher's first observation, or the institution's start): a row dated earlier
    (by its first date key) is malformed. Every float column must be finite.
    """

    name: str
    key: tuple[str, ...]
    schema: dict[str, pl.DataType]
    required: tuple[str, ...]
    prices: tuple[str, ...] = ()
    ohlc: bool = False
    observed: str | None = None
    counts: tuple[str, ...] = ()
    since: date = date(1900, 1, 1)
    description: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.schema)


VOL_SINCE = date(1986, 1, 2)
"""The earliest day of any Cboe volatility index history (VXO's back-calculation): no
VIX-family or VX row can be older (VX listed on 2004-03-26; the synthetic market's VX
starts 2004-01-02)."""

_OHLC: dict[str, pl.DataType] = {
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
}

SPX_DAILY = Series(
    name="spx_daily",
    key=("date",),
    schema={"date": pl.Date(), **_OHLC, "volume": pl.Int64()},
    required=("date", "close"),
    prices=("open", "high", "low", "close"),
    ohlc=True,
    observed="date",
    counts=("volume",),
    since=date(1927, 12, 30),  # the first day of the index's published daily history
    description="S&P 500 index (^GSPC) daily OHLC, index points; volume in shares.",
)

VIX_DAILY = Series(
    name="vix_daily",
    key=("date",),
    schema={"date": pl.Date(), **_OHLC},
    required=("date", "close"),
    prices=("open", "high", "low", "close"),
    ohlc=True,
    observed="date",
    since=VOL_SINCE,
    description="Cboe VIX index daily OHLC, index points.",
)

VIX3M_DAILY = Series(
    name="vix3m_daily",
    key=("date",),
    schema={"date": pl.Date(), **_OHLC},
    required=("date", "close"),
    prices=("open", "high", "low", "close"),
    ohlc=True,
    observed="date",
    since=VOL_SINCE,
    description="Cboe VIX3M (formerly VXV) daily OHLC, index points.",
)

VVIX_DAILY = Series(
    name="vvix_daily",
    key=("date",),
    schema={"date": pl.Date(), "close": pl.Float64()},
    required=("date", "close"),
    prices=("close",),
    observed="date",
    since=VOL_SINCE,
    description="Cboe VVIX daily close, index points.",
)

VX_FUTURES = Series(
    name="vx_futures",
    key=("trade_date", "contract"),
    schema={
        "trade_date": pl.Date(),
        "contract": pl.String(),
        "contract_type": pl.String(),
        "expiry": pl.Date(),
        **_OHLC,
        "settle": pl.Float64(),
        "change": pl.Float64(),
        "volume": pl.Int64(),
        "efp": pl.Int64(),
        "open_interest": pl.Int64(),
        "suspect_settle": pl.Boolean(),
    },
    required=("trade_date", "contract", "contract_type", "expiry"),
    prices=("open", "high", "low", "close", "settle"),
    ohlc=True,
    observed="trade_date",
    counts=("volume", "efp", "open_interest"),
    since=VOL_SINCE,
    description=(
        "CFE VIX futures, one row per contract per trade date; VIX points, $1,000 per "
        "point; settle on the expiry date is the final settlement value."
    ),
)

NYSE_BREADTH = Series(
    name="nyse_breadth",
    key=("date",),
    schema={
        "date": pl.Date(),
        "advancing": pl.Int64(),
        "declining": pl.Int64(),
        "unchanged": pl.Int64(),
        "adv_volume": pl.Int64(),
        "decl_volume": pl.Int64(),
        "unch_volume": pl.Int64(),
        "new_highs": pl.Int64(),
        "new_lows": pl.Int64(),
        "total_issues": pl.Int64(),
        "ad_line": pl.Int64(),
    },
    required=("date", "advancing", "declining"),
    observed="date",
    counts=(
        "advancing",
        "declining",
        "unchanged",
        "adv_volume",
        "decl_volume",
        "unch_volume",
        "new_highs",
        "new_lows",
        "total_issues",
    ),
    description="NYSE advancing/declining/unchanged issues and volumes; cumulative A/D line.",
)

SP500_BREADTH = Series(
    name="sp500_breadth",
    key=("date",),
    schema={
        "date": pl.Date(),
        "members": pl.Int64(),
        "advancing": pl.Int64(),
        "declining": pl.Int64(),
    },
    required=("date", "members", "advancing", "declining"),
    observed="date",
    counts=("members", "advancing", "declining"),
    since=date(1957, 3, 4),  # the S&P 500 was launched on this day
    description=(
        "S&P 500 members that advanced and declined on the session (the index's own "
        "components, a different universe from NYSE issues); members counted that day."
    ),
)

MACRO_MONTHLY = Series(
    name="macro_monthly",
    key=("series_id", "reference_month"),
    schema={
        "series_id": pl.String(),
        "reference_month": pl.Date(),
        "value": pl.Float64(),
        "public_date": pl.Date(),
        "public_date_rule": pl.String(),
    },
    required=("series_id", "reference_month", "value", "public_date", "public_date_rule"),
    prices=("value",),
    observed="reference_month",
    since=date(1913, 1, 1),  # CPI's and PPI's first reference month
    description=(
        "CPI and PPI index levels by reference month (first day of the month) with the "
        "date the value became public and the rule that dated it."
    ),
)

RELEASES: tuple[str, ...] = ("CPI", "PPI")
"""The BLS releases whose dates are stored: each macro series is published in one."""

RELEASE_DATES = Series(
    name="release_dates",
    key=("release", "reference_month"),
    schema={
        "release": pl.String(),
        "reference_month": pl.Date(),
        "release_date": pl.Date(),
        "note": pl.String(),
    },
    required=("release", "reference_month", "release_date"),
    since=date(1913, 1, 1),
    description=(
        "BLS CPI and PPI release dates by reference month: the day each month's print "
        "became public (a note marks a listed date that is not a confirmed release)."
    ),
)

TBILL_3M_DAILY = Series(
    name="tbill_3m_daily",
    key=("date",),
    schema={"date": pl.Date(), "rate_pct": pl.Float64()},
    required=("date", "rate_pct"),
    observed="date",
    since=date(1954, 1, 4),  # FRED's DTB3 starts here
    description="FRED DTB3: 3-month T-bill secondary-market rate, discount basis, percent.",
)

FOMC_MEETINGS = Series(
    name="fomc_meetings",
    key=("date",),
    schema={
        "date": pl.Date(),
        "scheduled": pl.Boolean(),
        "press_conference": pl.Boolean(),
        "sep": pl.Boolean(),
        "event_type": pl.String(),
    },
    required=("date", "scheduled"),
    since=date(1933, 6, 16),  # the Banking Act of 1933 created the FOMC
    description="FOMC statement / policy-action dates (announcement days).",
)

TRADING_CALENDAR = Series(
    name="trading_calendar",
    key=("date",),
    schema={"date": pl.Date(), "nyse_open": pl.Boolean(), "cfe_open": pl.Boolean()},
    required=("date", "nyse_open", "cfe_open"),
    description="Every weekday with whether NYSE (XNYS) and CFE (XCBF) held a session.",
)

VX_TERM_STRUCTURE = Series(
    name="vx_term_structure",
    key=("trade_date", "month"),
    schema={
        "trade_date": pl.Date(),
        "month": pl.Int32(),
        "contract": pl.String(),
        "expiry": pl.Date(),
        "days_to_expiry": pl.Int32(),
        "settle": pl.Float64(),
    },
    required=("trade_date", "month", "contract", "expiry", "days_to_expiry", "settle"),
    description="Monthly VX curve M1..M9 per trade date (expiry strictly after the trade date).",
)

VX_CONSTANT_MATURITY = Series(
    name="vx_constant_maturity",
    key=("trade_date", "tenor_days"),
    schema={
        "trade_date": pl.Date(),
        "tenor_days": pl.Int32(),
        "settle": pl.Float64(),
        "near_contract": pl.String(),
        "far_contract": pl.String(),
        "near_weight": pl.Float64(),
    },
    required=("trade_date", "tenor_days", "settle", "near_contract", "near_weight"),
    description="Constant-maturity VX future, linear in calendar days between monthlies.",
)

_SIGNAL_COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "spx_close": pl.Float64(),
    "spx_log_return": pl.Float64(),
    "spx_rvol_20": pl.Float64(),
    "vix_close": pl.Float64(),
    "vix_rsi_14": pl.Float64(),
    "vx_front_rsi_14": pl.Float64(),
    "vvix_close": pl.Float64(),
    "vix_vix3m_ratio": pl.Float64(),
    "ad_line": pl.Int64(),
    "ad_macd": pl.Float64(),
    "ad_macd_signal": pl.Float64(),
    "ad_macd_hist": pl.Float64(),
    "breadth_divergence": pl.Boolean(),
    "breadth_note": pl.String(),
    "vx_m1": pl.Float64(),
    "vx_m2": pl.Float64(),
    "vx_m3": pl.Float64(),
    "vx_m4": pl.Float64(),
    "dte_m1": pl.Int32(),
    "dte_m2": pl.Int32(),
    "dte_m3": pl.Int32(),
    "dte_m4": pl.Int32(),
    "m1_m2_spread": pl.Float64(),
    "m2_m3_spread": pl.Float64(),
    "contango_pct": pl.Float64(),
    "backwardation": pl.Boolean(),
    "roll_yield_m1": pl.Float64(),
    "roll_yield_m2": pl.Float64(),
    "roll_yield_m3": pl.Float64(),
    "roll_yield_m4": pl.Float64(),
    "vx_cm30": pl.Float64(),
    "vx_cm30_macd": pl.Float64(),
    "vx_cm30_macd_signal": pl.Float64(),
    "vx_cm30_macd_hist": pl.Float64(),
    "vx_cm30_spx_beta_60": pl.Float64(),
    "vx_cm30_spx_r2_60": pl.Float64(),
    "cpi_month": pl.Date(),
    "cpi_yoy": pl.Float64(),
    "ppi_month": pl.Date(),
    "ppi_yoy": pl.Float64(),
    "macro_month": pl.Date(),
    "cpi_ppi_spread": pl.Float64(),
    "cpi_ppi_z": pl.Float64(),
    "cpi_ppi_divergence": pl.Boolean(),
    "fomc_day": pl.Boolean(),
    "days_to_next_fomc": pl.Int32(),
    "week_start": pl.Boolean(),
    "week_id": pl.String(),
    "breadth_series": pl.String(),
}

SIGNALS_DAILY = Series(
    name="signals_daily",
    key=("date",),
    schema=_SIGNAL_COLUMNS,
    required=("date", "spx_close", "fomc_day", "week_start", "week_id"),
    description="Daily signals, one row per SPX trading day (transforms.signals.daily).",
)

MACRO_SIGNALS = Series(
    name="macro_signals",
    key=("reference_month",),
    schema={
        "reference_month": pl.Date(),
        "public_date": pl.Date(),
        "cpi_yoy": pl.Float64(),
        "cpi_public_date": pl.Date(),
        "ppi_yoy": pl.Float64(),
        "ppi_public_date": pl.Date(),
        "cpi_ppi_spread": pl.Float64(),
        "cpi_ppi_z": pl.Float64(),
        "cpi_ppi_divergence": pl.Boolean(),
    },
    required=("reference_month",),
    description=(
        "Monthly CPI/PPI YoY (each with its own public date), spread and z-score (public "
        "once both prints are: public_date, null while one is missing)."
    ),
)
SIGNAL_TABLES: tuple[Series, ...] = (SIGNALS_DAILY, MACRO_SIGNALS)
# Values of signals_daily.breadth_series: the breadth series a row's A/D MACD is of.
NYSE_ISSUES = "NYSE issues"
SP500_MEMBERS = "S&P 500 members"
BREADTH_SERIES: tuple[str, ...] = (NYSE_ISSUES, SP500_MEMBERS)

# Series that sources deliver, in load order.
INGESTED: tuple[Series, ...] = (
    TRADING_CALENDAR,
    SPX_DAILY,
    VIX_DAILY,
    VIX3M_DAILY,
    VVIX_DAILY,
    VX_FUTURES,
    NYSE_BREADTH,
    SP500_BREADTH,
    RELEASE_DATES,
    MACRO_MONTHLY,
    TBILL_3M_DAILY,
    FOMC_MEETINGS,
)
DERIVED: tuple[Series, ...] = (VX_TERM_STRUCTURE, VX_CONSTANT_MATURITY)
# Core tables the signals (and so every backtest) cannot be computed without: an empty
# one fails its suite and stops the signals with a message naming it.
SIGNAL_INPUTS: tuple[Series, ...] = (
    TRADING_CALENDAR,
    SPX_DAILY,
    VIX_DAILY,
    VX_FUTURES,
    VX_TERM_STRUCTURE,
    VX_CONSTANT_MATURITY,
)
BY_NAME: dict[str, Series] = {s.name: s for s in INGESTED + DERIVED}

# Macro series ids (FRED mnemonics) and which release calendar dates them.
CPI_SERIES: tuple[str, ...] = ("CPIAUCSL", "CPIAUCNSA")
PPI_SERIES: tuple[str, ...] = ("PPIACO", "PPIFIS", "WPSFD49207")
RELEASE_OF: dict[str, str] = {
    **dict.fromkeys(CPI_SERIES, "CPI"),
    **dict.fromkeys(PPI_SERIES, "PPI"),
}
"""The release that publishes each macro series."""
