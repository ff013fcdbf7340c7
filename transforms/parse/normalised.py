"""Parsers for the normalised layout of ``../shared/data`` (see its README).

These files were cleaned upstream; the parsers still type every field and reject rows
that do not parse, so a hand-edited copy cannot slip a bad value in.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from transforms.columns import (
    FOMC_MEETINGS,
    NYSE_BREADTH,
    RELEASE_DATES,
    SP500_BREADTH,
    SPX_DAILY,
    TBILL_3M_DAILY,
    VIX3M_DAILY,
    VIX_DAILY,
    VVIX_DAILY,
    VX_FUTURES,
    Series,
)
from transforms.parse.common import (
    Cast,
    ParsedBatch,
    conform,
    decode,
    read_table,
    typed_rows,
)

ISO = "%Y-%m-%d"
F64 = pl.Float64()
I64 = pl.Int64()
BOOL = pl.Boolean()
STR = pl.String()


def _same_names(series: Series, dates: tuple[str, ...] = ("date",)) -> dict[str, tuple[str, Cast]]:
    return {c: (c, ISO if c in dates else t) for c, t in series.schema.items()}


def _simple(
    series: Series, header: list[str], casts: dict[str, tuple[str, Cast]]
) -> Callable[..., ParsedBatch]:
    """A parser for a file with ``header`` whose columns cast one-to-one."""

    def parse(data: bytes, *, location: str) -> ParsedBatch:
        frame = read_table(decode(data, location=location), location=location, header=header)
        good, rejects = typed_rows(frame, casts)
        return ParsedBatch(series, location, conform(good, series), rejects, frame.height)

    return parse


_OHLC_HEADER = ["date", "open", "high", "low", "close"]

parse_spx_daily = _simple(SPX_DAILY, [*_OHLC_HEADER, "volume"], _same_names(SPX_DAILY))
parse_vix_daily = _simple(VIX_DAILY, _OHLC_HEADER, _same_names(VIX_DAILY))
parse_vix3m_daily = _simple(VIX3M_DAILY, _OHLC_HEADER, _same_names(VIX3M_DAILY))
parse_vvix_daily = _simple(VVIX_DAILY, ["date", "close"], _same_names(VVIX_DAILY))
parse_nyse_breadth = _simple(NYSE_BREADTH, list(NYSE_BREADTH.schema), _same_names(NYSE_BREADTH))
parse_sp500_breadth = _simple(SP500_BREADTH, list(SP500_BREADTH.schema), _same_names(SP500_BREADTH))
parse_fomc_meetings = _simple(
    FOMC_MEETINGS,
    [
        "date",
        "scheduled",
        "press_conference",
        "sep",
        "event_type",
        "source",
        "is_future_as_of_source",
    ],
    _same_names(FOMC_MEETINGS),
)

_VX_HEADER = [
    "trade_date",
    "contract",
    "contract_type",
    "expiry",
    "days_to_expiry",
    "open",
    "high",
    "low",
    "close",
    "settle",
    "change",
    "volume",
    "efp",
    "open_interest",
    "suspect_settle",
    "source",
]
parse_vx_futures = _simple(
    VX_FUTURES, _VX_HEADER, _same_names(VX_FUTURES, dates=("trade_date", "expiry"))
)


def parse_tbill(data: bytes, *, location: str) -> ParsedBatch:
    """``date,DTB3``; a blank rate is a bond-market holiday (no observation), skipped."""
    frame = read_table(decode(data, location=location), location=location, header=["date", "DTB3"])
    blank = pl.col("DTB3").is_null() | (pl.col("DTB3").str.strip_chars().is_in(["", "."]))
    observed = frame.filter(~blank)
    good, rejects = typed_rows(observed, {"date": ("date", ISO), "rate_pct": ("DTB3", F64)})
    return ParsedBatch(
        TBILL_3M_DAILY,
        location,
        conform(good, TBILL_3M_DAILY),
        rejects,
        frame.height,
        rows_skipped=frame.height - observed.height,
    )


def parse_release_dates(data: bytes, *, location: str, release: str) -> ParsedBatch:
    """``release_date,reference_month(YYYY-MM),note``: the dates of one release."""
    frame = read_table(
        decode(data, location=location),
        location=location,
        header=["release_date", "reference_month", "note"],
    ).with_columns((pl.col("reference_month").str.strip_chars() + "-01").alias("reference_month"))
    good, rejects = typed_rows(
        frame,
        {
            "reference_month": ("reference_month", ISO),
            "release_date": ("release_date", ISO),
            "note": ("note", STR),
        },
    )
    good = good.with_columns(pl.lit(release).alias("release"))
    return ParsedBatch(RELEASE_DATES, location, conform(good, RELEASE_DATES), rejects, frame.height)


def wide_monthly(
    data: bytes, *, location: str, header: list[str], series_columns: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    """Long (series_id, reference_month, value) rows of a wide monthly file.

    ``series_columns`` maps a file column to a series id. A blank cell is a month
    the series has no value for (before its start, or never published): skipped.
    Returns the typed rows, rejects, cells read and cells skipped.
    """
    frame = read_table(decode(data, location=location), location=location, header=header)
    long = frame.unpivot(
        index=["date", "_line", "_raw", "_location"],
        on=list(series_columns),
        variable_name="column",
        value_name="cell",
    ).with_columns(pl.col("column").replace_strict(series_columns).alias("series_id"))
    blank = pl.col("cell").is_null() | pl.col("cell").str.strip_chars().is_in(["", "."])
    present = long.filter(~blank)
    good, rejects = typed_rows(
        present,
        {
            "series_id": ("series_id", STR),
            "reference_month": ("date", ISO),
            "value": ("cell", F64),
        },
    )
    return good, rejects, long.height, long.height - present.height


CPI_HEADER = ["date", "CPIAUCSL", "CPIAUCNSA", "CPIAUCSL_source", "CPIAUCNSA_source"]
PPI_HEADER = ["date", "PPIACO", "PPIFIS", "WPSFD49207", "PPIACO_source"]
