"""VIX futures (VX): the expiry rule, contract codes, and the derived curve tables.

Expiry rule (CFE): a monthly VX contract for month M expires on the Wednesday 30 days
before the third Friday of month M+1 (the SPX option expiry its settlement is computed
from). If that Friday is an exchange holiday, 30 days before the business day preceding
it (Good Friday: VXH14 2014-03-18; Juneteenth: VXK26 2026-05-19). If the Wednesday is a
holiday, the business day before it (VXM24 2024-06-18).

Holidays are passed in (weekday dates without a session on the exchange calendar); this
module knows no calendar of its own.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from transforms.columns import VX_CONSTANT_MATURITY, VX_TERM_STRUCTURE

MONTH_CODES = "FGHJKMNQUVXZ"


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (calendar.FRIDAY - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


def _business_day_on_or_before(day: date, holidays: Collection[date]) -> date:
    while day.weekday() >= 5 or day in holidays:
        day -= timedelta(days=1)
    return day


def vx_expiry(year: int, month: int, *, holidays: Collection[date]) -> date:
    """Final settlement date of the monthly VX contract for (year, month)."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    friday = third_friday(next_year, next_month)
    if friday in holidays:
        friday = _business_day_on_or_before(friday - timedelta(days=1), holidays)
    return _business_day_on_or_before(friday - timedelta(days=30), holidays)


def monthly_contract(year: int, month: int) -> str:
    """``VX<month code><yy>``, e.g. VXH20 for March 2020."""
    return f"VX{MONTH_CODES[month - 1]}{year % 100:02d}"


def weekly_contract(expiry: date) -> str:
    return f"VX_W_{expiry:%Y%m%d}"


@dataclass(frozen=True)
class ContractId:
    contract: str
    contract_type: str  # "monthly" | "weekly"
    expiry: date


def contract_for_expiry(expiry: date, *, holidays: Collection[date]) -> ContractId:
    """Name a contract from its expiry: monthly if the expiry is the month's rule date."""
    if vx_expiry(expiry.year, expiry.month, holidays=holidays) == expiry:
        return ContractId(monthly_contract(expiry.year, expiry.month), "monthly", expiry)
    return ContractId(weekly_contract(expiry), "weekly", expiry)


def contract_from_code(code: str, yy: int, *, holidays: Collection[date]) -> ContractId:
    """Monthly contract from a month code letter and two-digit year (CFE archive names)."""
    month = MONTH_CODES.index(code.upper()) + 1
    year = 2000 + yy
    return ContractId(
        monthly_contract(year, month), "monthly", vx_expiry(year, month, holidays=holidays)
    )


def monthly_expiries(first: date, last: date, *, holidays: Collection[date]) -> list[ContractId]:
    """Monthly contracts expiring in [first, last], by expiry."""
    out = []
    year, month = first.year, first.month
    # A contract of month M expires in month M; start one month early to be safe.
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    while date(year, month, 1) <= last:
        exp = vx_expiry(year, month, holidays=holidays)
        if first <= exp <= last:
            out.append(ContractId(monthly_contract(year, month), "monthly", exp))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def term_structure(vx: pl.DataFrame, *, months: int = 9) -> pl.DataFrame:
    """Monthly VX curve M1..M``months`` per trade date.

    For each trade date, the monthly contracts with ``expiry > trade_date``, a settle,
    and no suspect flag, sorted by expiry; M1 is the nearest (on an expiry Wednesday
    the expiring contract is excluded). ``days_to_expiry`` is in calendar days.
    """
    curve = (
        vx.lazy()
        .filter(
            (pl.col("contract_type") == "monthly")
            & (pl.col("expiry") > pl.col("trade_date"))
            & pl.col("settle").is_not_null()
            & ~pl.col("suspect_settle").fill_null(False)
        )
        .sort("trade_date", "expiry")
        .with_columns(
            pl.col("expiry").cum_count().over("trade_date").cast(pl.Int32).alias("month"),
            (pl.col("expiry") - pl.col("trade_date"))
            .dt.total_days()
            .cast(pl.Int32)
            .alias("days_to_expiry"),
        )
        .filter(pl.col("month") <= months)
        .select(VX_TERM_STRUCTURE.columns)
    )
    return curve.collect()


def constant_maturity(curve: pl.DataFrame, *, tenor_days: int = 30) -> pl.DataFrame:
    """Constant-maturity VX settle at ``tenor_days`` calendar days, from a curve table.

    Method: linear interpolation in calendar days to expiry between the last monthly
    contract with ``days_to_expiry <= tenor_days`` (near) and the first one beyond
    (far): ``w = (d_far - tenor) / (d_far - d_near)``, value ``w*F_near + (1-w)*F_far``.
    When even M1 is beyond the tenor (just after an expiry), the value is M1's settle
    with ``near_weight = 1`` (no extrapolation); when no contract lies beyond it, the
    date is left out.
    """
    lf = curve.lazy().sort("trade_date", "month")
    near = (
        lf.filter(pl.col("days_to_expiry") <= tenor_days)
        .group_by("trade_date")
        .agg(pl.all().sort_by("month").last())
        .select("trade_date", near_contract="contract", d_near="days_to_expiry", f_near="settle")
    )
    far = (
        lf.filter(pl.col("days_to_expiry") > tenor_days)
        .group_by("trade_date")
        .agg(pl.all().sort_by("month").first())
        .select("trade_date", far_contract="contract", d_far="days_to_expiry", f_far="settle")
    )
    joined = far.join(near, on="trade_date", how="left")
    weight = (
        pl.when(pl.col("near_contract").is_null())
        .then(1.0)
        .otherwise(
            (pl.col("d_far") - tenor_days) / (pl.col("d_far") - pl.col("d_near")).cast(pl.Float64)
        )
    )
    out = (
        joined.with_columns(weight.alias("near_weight"))
        .with_columns(
            pl.when(pl.col("near_contract").is_null())
            .then(pl.col("f_far"))
            .otherwise(
                pl.col("near_weight") * pl.col("f_near")
                + (1 - pl.col("near_weight")) * pl.col("f_far")
            )
            .alias("settle"),
            pl.when(pl.col("near_contract").is_null())
            .then(pl.col("far_contract"))
            .otherwise(pl.col("near_contract"))
            .alias("near_contract"),
            pl.when(pl.col("near_contract").is_null())
            .then(None)
            .otherwise(pl.col("far_contract"))
            .alias("far_contract"),
            pl.lit(tenor_days, dtype=pl.Int32).alias("tenor_days"),
        )
        .select(VX_CONSTANT_MATURITY.columns)
        .sort("trade_date")
    )
    return out.collect()
