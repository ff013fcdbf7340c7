"""Published reference histories (``$ALVH_SHARED_DATA/reference``): bytes -> typed frame.

These files are answers to check the engine against, not market data, so they are not
loaded into the core tables and are not quarantined row by row: a file whose header
lacks a needed column, or a row whose date or number does not parse, fails the whole
file with :class:`ParseError` naming the file, the line and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from transforms.columns import LINE
from transforms.parse.common import ParseError, decode, header_of, read_table, typed_rows


@dataclass(frozen=True)
class ReferenceFile:
    """One published file: its name pattern and the columns read (name -> output)."""

    pattern: str
    columns: Mapping[str, str]


SP_VIX_FUTURES = ReferenceFile(
    "sp500_vix_futures_indices_ER_daily_*.csv", {"SPVXSP": "SPVXSP", "SPVXMP": "SPVXMP"}
)
CBOE_DAILY = ReferenceFile(
    "cboe_strategy_benchmarks_daily_*.csv", {"PUT": "PUT", "CNDR": "CNDR", "SPTR": "SPTR"}
)
CBOE_MONTHLY = ReferenceFile(
    "cboe_strategy_benchmarks_monthly_*_PCRA.csv", {"PUT": "PUT", "CNDR": "CNDR"}
)
VXTH = ReferenceFile(
    "cboe_vxth_daily_with_allocations_*.csv",
    {
        "VXTH": "VXTH",
        "Expiration": "expiry",
        "Strike": "strike",
        "CallMid": "mid",
        "NumberOfCalls": "number_of_calls",
    },
)
DATE_COLUMNS = frozenset({"Expiration"})


def parse_reference(data: bytes, *, location: str, file: ReferenceFile) -> pl.DataFrame:
    """``date`` plus the file's columns (renamed), sorted by date; NaN cells are null."""
    text = decode(data, location=location)
    header = header_of(text)
    missing = [c for c in ("Date", *file.columns) if c not in header]
    if missing:
        raise ParseError(location, f"missing column(s) {', '.join(missing)} in the header")
    frame = read_table(text, location=location, header=header).with_columns(
        pl.col(c).replace({"nan": None, "NaN": None, "": None}) for c in file.columns
    )
    casts: dict[str, tuple[str, pl.DataType | str]] = {"date": ("Date", "%Y-%m-%d")}
    for src, out in file.columns.items():
        casts[out] = (src, "%Y-%m-%d" if src in DATE_COLUMNS else pl.Float64())
    typed, rejects = typed_rows(frame, casts)
    if not rejects.is_empty():
        row = rejects.row(0, named=True)
        raise ParseError(location, f"line {row['line']}: {row['reason']}")
    if typed["date"].null_count():
        line = typed.filter(pl.col("date").is_null())[LINE][0]
        raise ParseError(location, f"line {line}: missing date")
    dupes = typed.filter(pl.col("date").is_duplicated())
    if not dupes.is_empty():
        raise ParseError(location, f"line {dupes[LINE][0]}: date {dupes['date'][0]} repeated")
    return typed.select("date", *file.columns.values()).sort("date")
