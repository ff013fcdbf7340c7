"""Parsers for FRED downloads: the graph CSV and the API's JSON observations.

Graph CSV: ``observation_date,<SERIES>`` (older downloads: ``DATE,<SERIES>``); a blank
or ``.`` value is a day or month without an observation and is skipped, not rejected.

First releases: the API's observations with ``output_type=4`` (initial release only) and
the whole real-time span give each month's first vintage; its ``realtime_start`` is the
day that month's print became public, the release date of :data:`RELEASE_FRED_IDS`.
"""

from __future__ import annotations

import json

import polars as pl

from transforms.columns import (
    LINE,
    LOCATION,
    MACRO_MONTHLY,
    RAW,
    RELEASE_DATES,
    SPX_DAILY,
    TBILL_3M_DAILY,
    Series,
)
from transforms.parse.common import (
    Cast,
    ParsedBatch,
    ParseError,
    conform,
    decode,
    header_of,
    read_table,
    typed_rows,
)

ISO = "%Y-%m-%d"

# FRED id -> (canonical table, series id inside it).
FRED_SERIES: dict[str, tuple[Series, str]] = {
    "SP500": (SPX_DAILY, "SP500"),  # closes only, the last ten years (S&P's licence)
    "DTB3": (TBILL_3M_DAILY, "DTB3"),
    "CPIAUCSL": (MACRO_MONTHLY, "CPIAUCSL"),
    "CPIAUCNS": (MACRO_MONTHLY, "CPIAUCNSA"),
    "PPIACO": (MACRO_MONTHLY, "PPIACO"),
    "PPIFIS": (MACRO_MONTHLY, "PPIFIS"),
    "WPSFD49207": (MACRO_MONTHLY, "WPSFD49207"),
}
DATE_COLUMNS = ("observation_date", "DATE")
# Release -> the FRED id whose first vintages date it (the longest-vintaged series of each).
RELEASE_FRED_IDS: dict[str, str] = {"CPI": "CPIAUCSL", "PPI": "PPIACO"}
# A first vintage this many days or more after its month began is not that month's
# release: ALFRED's vintages start in the 1990s and give older months that first date.
FIRST_RELEASE_MAX_DAYS = 100


def fred_id_of_header(text: str) -> str | None:
    header = header_of(text)
    if len(header) == 2 and header[0] in DATE_COLUMNS and header[1] in FRED_SERIES:
        return header[1]
    return None


def _typed(frame: pl.DataFrame, fred_id: str, date_col: str, location: str) -> ParsedBatch:
    series, series_id = FRED_SERIES[fred_id]
    blank = pl.col(fred_id).is_null() | pl.col(fred_id).str.strip_chars().is_in(["", "."])
    observed = frame.filter(~blank)
    casts: dict[str, tuple[str, Cast]]
    if series is TBILL_3M_DAILY:
        casts = {"date": (date_col, ISO), "rate_pct": (fred_id, pl.Float64())}
    elif series is SPX_DAILY:  # open, high, low and volume: not published (null)
        casts = {"date": (date_col, ISO), "close": (fred_id, pl.Float64())}
    else:
        observed = observed.with_columns(pl.lit(series_id).alias("_series_id"))
        casts = {
            "series_id": ("_series_id", pl.String()),
            "reference_month": (date_col, ISO),
            "value": (fred_id, pl.Float64()),
        }
    good, rejects = typed_rows(observed, casts)
    return ParsedBatch(
        series,
        location,
        conform(good, series),
        rejects,
        frame.height,
        rows_skipped=frame.height - observed.height,
    )


def parse_graph_csv(data: bytes, *, location: str) -> ParsedBatch:
    text = decode(data, location=location)
    fred_id = fred_id_of_header(text)
    if fred_id is None:
        known = ", ".join(FRED_SERIES)
        raise ParseError(
            location,
            f"unexpected header {','.join(header_of(text))[:80]!r}: expected "
            f"'observation_date,<ID>' with ID one of {known}",
        )
    header = header_of(text)
    frame = read_table(text, location=location, header=header)
    return _typed(frame, fred_id, header[0], location)


def _observations(data: bytes, location: str) -> list[dict[str, object]]:
    try:
        observations = json.loads(data)["observations"]
        if not isinstance(observations, list):
            raise TypeError("observations is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(location, f"not a FRED observations JSON document ({exc})") from exc
    return observations


def _numbered(frame: pl.DataFrame, columns: list[str], location: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE),
        pl.concat_str(columns, separator=",").alias(RAW),
        pl.lit(location).alias(LOCATION),
    )


def parse_api_json(data: bytes, *, location: str, fred_id: str) -> ParsedBatch:
    """``/fred/series/observations?file_type=json`` for ``fred_id``."""
    observations = _observations(data, location)
    frame = pl.DataFrame(
        {
            "observation_date": [str(o.get("date", "")) for o in observations],
            fred_id: [str(o.get("value", "")) for o in observations],
        },
        schema={"observation_date": pl.String(), fred_id: pl.String()},
    )
    frame = _numbered(frame, ["observation_date", fred_id], location)
    return _typed(frame, fred_id, "observation_date", location)


def parse_first_releases(data: bytes, *, location: str, release: str) -> ParsedBatch:
    """``/fred/series/observations?output_type=4&realtime_start=1776-07-04&...`` for the
    FRED id of ``release``: one release date per reference month. Months without a
    value, and months whose first vintage came :data:`FIRST_RELEASE_MAX_DAYS` or more
    after the month began (older than ALFRED's vintages), are skipped."""
    observations = _observations(data, location)
    columns = ["realtime_start", "date", "value"]
    frame = _numbered(
        pl.DataFrame(
            {c: [str(o.get(c, "")) for o in observations] for c in columns},
            schema=dict.fromkeys(columns, pl.String()),
        ),
        columns,
        location,
    )
    observed = frame.filter(~pl.col("value").str.strip_chars().is_in(["", "."]))
    good, rejects = typed_rows(
        observed.with_columns(pl.lit(release).alias("_release")),
        {
            "release": ("_release", pl.String()),
            "reference_month": ("date", ISO),
            "release_date": ("realtime_start", ISO),
        },
    )
    days = (pl.col("release_date") - pl.col("reference_month")).dt.total_days()
    released = good.filter(days < FIRST_RELEASE_MAX_DAYS)
    return ParsedBatch(
        RELEASE_DATES,
        location,
        conform(released, RELEASE_DATES),
        rejects,
        frame.height,
        rows_skipped=frame.height - observed.height + good.height - released.height,
    )
