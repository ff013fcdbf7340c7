"""Parsers for files as Cboe publishes them.

* Index histories (``VIX_History.csv``, ``VIX3M_History.csv``, ``VVIX_History.csv``):
  ``DATE,OPEN,HIGH,LOW,CLOSE`` (VVIX: ``DATE,VVIX``), dates ``MM/DD/YYYY``.
* Per-expiry VX files, current format (``VX_<expiry>.csv``) and the old CFE archive
  (``CFE_<M><YY>_VX.csv``): ``Trade Date,Futures,Open,High,Low,Close,Settle,Change,
  Total Volume,EFP,Open Interest``. Current files use ISO dates, the archive
  ``MM/DD/YYYY``.

VX cleaning, identical for both formats (it reproduces the normalised file):
* a price of 0 means "no value" and becomes null; on a day without a trade
  (open = close = 0) High/Low hold bid/offer-like values and become null;
* before 2007-03-26 CFE quoted 10x the VIX level: prices and change are divided by 10
  (the contract was rescaled 1:10 that day; volume and open interest are unchanged);
* rows with no settle, no volume and no open interest are placeholders and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import polars as pl

from transforms.columns import VIX3M_DAILY, VIX_DAILY, VVIX_DAILY, VX_FUTURES, Series
from transforms.parse.common import ParsedBatch, conform, decode, header_of, read_table, typed_rows
from transforms.vx import ContractId, contract_for_expiry, contract_from_code

US_DATE = "%m/%d/%Y"
ISO = "%Y-%m-%d"
RESCALE_DATE = date(2007, 3, 26)
PRE_RESCALE_FACTOR = 10.0

INDEX_SERIES: dict[str, Series] = {
    "VIX": VIX_DAILY,
    "VIX3M": VIX3M_DAILY,
    "VXV": VIX3M_DAILY,
    "VVIX": VVIX_DAILY,
}

VX_HEADER = [
    "Trade Date",
    "Futures",
    "Open",
    "High",
    "Low",
    "Close",
    "Settle",
    "Change",
    "Total Volume",
    "EFP",
    "Open Interest",
]


def parse_index_history(data: bytes, *, location: str, index: str) -> ParsedBatch:
    """A Cboe index history file for ``index`` (VIX, VIX3M/VXV or VVIX)."""
    series = INDEX_SERIES[index]
    text = decode(data, location=location)
    if series is VVIX_DAILY:
        # Cboe has shipped VVIX both as DATE,VVIX and as DATE,OPEN,HIGH,LOW,CLOSE.
        header = header_of(text)
        if header == ["DATE", "VVIX"]:
            frame = read_table(text, location=location, header=header)
            good, rejects = typed_rows(
                frame, {"date": ("DATE", US_DATE), "close": ("VVIX", pl.Float64())}
            )
            return ParsedBatch(series, location, conform(good, series), rejects, frame.height)
    frame = read_table(text, location=location, header=["DATE", "OPEN", "HIGH", "LOW", "CLOSE"])
    casts = {"date": ("DATE", US_DATE)} | {
        c.lower(): (c, pl.Float64()) for c in ("OPEN", "HIGH", "LOW", "CLOSE")
    }
    good, rejects = typed_rows(frame, casts)
    return ParsedBatch(series, location, conform(good, series), rejects, frame.height)


def parse_vx_file(
    data: bytes,
    *,
    location: str,
    contract: ContractId,
    date_format: str,
) -> ParsedBatch:
    """One per-contract VX file (either format) for a known contract."""
    frame = read_table(decode(data, location=location), location=location, header=VX_HEADER)
    good, rejects = typed_rows(
        frame,
        {
            "trade_date": ("Trade Date", date_format),
            "open": ("Open", pl.Float64()),
            "high": ("High", pl.Float64()),
            "low": ("Low", pl.Float64()),
            "close": ("Close", pl.Float64()),
            "settle": ("Settle", pl.Float64()),
            "change": ("Change", pl.Float64()),
            "volume": ("Total Volume", pl.Int64()),
            "efp": ("EFP", pl.Int64()),
            "open_interest": ("Open Interest", pl.Int64()),
        },
    )
    cleaned = _clean_vx(good, contract)
    return ParsedBatch(
        VX_FUTURES,
        location,
        cleaned,
        rejects,
        rows_read=frame.height,
        rows_skipped=good.height - cleaned.height,
    )


def _clean_vx(frame: pl.DataFrame, contract: ContractId) -> pl.DataFrame:
    prices = ["open", "high", "low", "close", "settle"]
    zero_to_null = [
        pl.when(pl.col(c) == 0).then(None).otherwise(pl.col(c)).alias(c) for c in prices
    ]
    no_trade = pl.col("open").is_null() & pl.col("close").is_null()
    scale = pl.when(pl.col("trade_date") < RESCALE_DATE).then(PRE_RESCALE_FACTOR).otherwise(1.0)
    cleaned = (
        frame.with_columns(zero_to_null)
        .with_columns(
            pl.when(no_trade).then(None).otherwise(pl.col("high")).alias("high"),
            pl.when(no_trade).then(None).otherwise(pl.col("low")).alias("low"),
        )
        .with_columns([(pl.col(c) / scale).alias(c) for c in [*prices, "change"]])
        .filter(
            pl.col("settle").is_not_null()
            | (pl.col("volume").fill_null(0) > 0)
            | (pl.col("open_interest").fill_null(0) > 0)
        )
        .with_columns(
            pl.lit(contract.contract).alias("contract"),
            pl.lit(contract.contract_type).alias("contract_type"),
            pl.lit(contract.expiry).alias("expiry"),
            pl.lit(False).alias("suspect_settle"),
        )
    )
    return conform(cleaned, VX_FUTURES)


def vx_contract_of(name: str, *, holidays: Collection[date]) -> tuple[ContractId, str] | None:
    """The contract and date format a VX file name implies, or None if it is not one."""
    if m := re.fullmatch(r"VX_(\d{4})-(\d{2})-(\d{2})\.csv(?:\.gz)?", name):
        expiry = date(int(m[1]), int(m[2]), int(m[3]))
        return contract_for_expiry(expiry, holidays=holidays), ISO
    if m := re.fullmatch(r"CFE_([FGHJKMNQUVXZ])(\d{2})_VX\.csv(?:\.gz)?", name, re.IGNORECASE):
        return contract_from_code(m[1], int(m[2]), holidays=holidays), US_DATE
    return None
