"""Vendor bytes -> canonical frames.

:func:`identify` recognises a file by its name pattern and its header wherever it sits
in a folder; :func:`parse` turns its bytes into a :class:`ParsedBatch`. A file whose name
says what it is but whose content does not match fails with :class:`ParseError`.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from functools import partial

from transforms.columns import (
    FOMC_MEETINGS,
    MACRO_MONTHLY,
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
from transforms.parse import cboe, fred, normalised
from transforms.parse.common import (
    REJECT_SCHEMA,
    ParsedBatch,
    ParseError,
    conform,
    empty_rejects,
    header_of,
)

__all__ = [
    "REJECT_SCHEMA",
    "FileKind",
    "ParseError",
    "ParsedBatch",
    "empty_rejects",
    "identify",
]

Parser = Callable[[bytes], ParsedBatch]


@dataclass(frozen=True)
class FileKind:
    """What a file is: its format, the table it feeds and how to parse it.

    ``skip`` is set for files that are recognised but deliberately not loaded
    (derived or reference files), with the reason. ``curated`` files (the cleaned layout
    of ../shared/data) take precedence over publishers' raw files for the same key.
    """

    format: str
    series: Series | None
    parse: Callable[..., ParsedBatch] | None
    skip: str | None = None
    curated: bool = False


def _macro_wide(header: list[str], columns: dict[str, str]) -> Callable[..., ParsedBatch]:
    def parse(data: bytes, *, location: str) -> ParsedBatch:
        good, rejects, read, skipped = normalised.wide_monthly(
            data, location=location, header=header, series_columns=columns
        )
        return ParsedBatch(
            MACRO_MONTHLY, location, conform(good, MACRO_MONTHLY), rejects, read, skipped
        )

    return parse


_NORMALISED: list[tuple[str, str, Series, Callable[..., ParsedBatch]]] = [
    (r"spx_daily", "normalised SPX daily", SPX_DAILY, normalised.parse_spx_daily),
    (r"vix_daily", "normalised VIX daily", VIX_DAILY, normalised.parse_vix_daily),
    (
        r"vix3m_daily",
        "normalised VIX3M daily",
        VIX3M_DAILY,
        normalised.parse_vix3m_daily,
    ),
    (r"vvix_daily", "normalised VVIX daily", VVIX_DAILY, normalised.parse_vvix_daily),
    (
        r"vx_futures_daily",
        "normalised VX futures",
        VX_FUTURES,
        normalised.parse_vx_futures,
    ),
    (
        r"nyse_breadth_daily",
        "normalised NYSE breadth",
        NYSE_BREADTH,
        normalised.parse_nyse_breadth,
    ),
    (
        r"sp500_member_breadth_daily",
        "S&P 500 member breadth",
        SP500_BREADTH,
        normalised.parse_sp500_breadth,
    ),
    (
        r"cpi_monthly",
        "normalised CPI monthly",
        MACRO_MONTHLY,
        _macro_wide(normalised.CPI_HEADER, {"CPIAUCSL": "CPIAUCSL", "CPIAUCNSA": "CPIAUCNSA"}),
    ),
    (
        r"ppi_monthly",
        "normalised PPI monthly",
        MACRO_MONTHLY,
        _macro_wide(
            normalised.PPI_HEADER,
            {"PPIACO": "PPIACO", "PPIFIS": "PPIFIS", "WPSFD49207": "WPSFD49207"},
        ),
    ),
    (
        r"cpi_release_dates(?:_partial)?",
        "CPI release dates",
        RELEASE_DATES,
        partial(normalised.parse_release_dates, release="CPI"),
    ),
    (
        r"ppi_release_dates(?:_partial)?",
        "PPI release dates",
        RELEASE_DATES,
        partial(normalised.parse_release_dates, release="PPI"),
    ),
    (
        r"tbill_3m_daily",
        "normalised 3-month T-bill",
        TBILL_3M_DAILY,
        normalised.parse_tbill,
    ),
    (r"fomc_meetings", "FOMC meetings", FOMC_MEETINGS, normalised.parse_fomc_meetings),
]

_SKIPPED: list[tuple[str, str, str]] = [
    (r"vx_term_structure_daily", "VX term structure", "derived: rebuilt from per-contract settles"),
    (r"vx_contracts", "VX contract list", "reference: contracts are derived from the futures rows"),
    (
        r"vx_expiration_calendar",
        "VX expiry calendar",
        "reference: expiries come from the rule in transforms.vx",
    ),
    (r"spx_options_eod_sample.*", "SPX option chain sample", "option chains are not a series"),
]

_CSV = r"\.csv(?:\.gz)?"
_INDEX_HISTORY = re.compile(r"(VIX|VIX3M|VXV|VVIX)_History" + _CSV, re.IGNORECASE)


def head_text(data: bytes, size: int = 4096) -> str:
    """The first characters of a (possibly gzip-compressed) file, '' if unreadable."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = zlib.decompressobj(wbits=31).decompress(data[: 1 << 16], size)
        return data[:size].decode("utf-8-sig", errors="replace")
    except (zlib.error, gzip.BadGzipFile, EOFError):
        return ""


def identify(name: str, data: bytes, *, holidays: Collection[date]) -> FileKind | None:
    """Recognise a file by name pattern and content; None if it is not a known kind."""
    for pattern, label, series, parser in _NORMALISED:
        if re.fullmatch(pattern + _CSV, name, re.IGNORECASE):
            return FileKind(label, series, parser, curated=True)
    for pattern, label, reason in _SKIPPED:
        if re.fullmatch(pattern + _CSV, name, re.IGNORECASE):
            return FileKind(label, None, None, skip=reason)
    if m := _INDEX_HISTORY.fullmatch(name):
        index = m[1].upper()
        return FileKind(
            f"Cboe {index} history",
            cboe.INDEX_SERIES[index],
            partial(cboe.parse_index_history, index=index),
        )
    if found := cboe.vx_contract_of(name, holidays=holidays):
        contract, date_format = found
        label = "Cboe VX per-expiry" if date_format == cboe.ISO else "CFE archive VX"
        return FileKind(
            f"{label} ({contract.contract})",
            VX_FUTURES,
            partial(cboe.parse_vx_file, contract=contract, date_format=date_format),
        )
    head = head_text(data)
    if fred_id := fred.fred_id_of_header(head):
        return FileKind(f"FRED {fred_id}", fred.FRED_SERIES[fred_id][0], fred.parse_graph_csv)
    if name.lower().endswith((".csv", ".csv.gz")) and header_of(head) == cboe.VX_HEADER:
        return FileKind(
            "VX file with an unrecognised name",
            None,
            None,
            skip="VX columns but the name gives no expiry (expected VX_<YYYY-MM-DD>.csv "
            "or CFE_<M><YY>_VX.csv)",
        )
    return None


def parse(kind: FileKind, data: bytes, *, location: str) -> ParsedBatch:
    if kind.parse is None:
        raise ParseError(location, f"{kind.format} is not loaded: {kind.skip}")
    return kind.parse(data, location=location)
