"""The weekly market review: the VX curve now, a week and a month ago; contango and roll
yield; VIX and its RSI; the A/D-line MACD; the CPI-PPI spread's z-score; the next FOMC
date; and a sentence per scaler on whether it would fire this week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl


@dataclass(frozen=True)
class MarketPage:
    as_of: date
    curves: pl.DataFrame  # label, month, settle (M1..M9 on three dates)
    term: pl.DataFrame  # date, contango_pct, roll_yield_m1, roll_yield_m2
    vix: pl.DataFrame  # date, vix_close, vix_rsi_14
    breadth: pl.DataFrame  # date, ad_macd, ad_macd_signal, ad_macd_hist
    breadth_end: date | None  # the last session with breadth data
    macro: pl.DataFrame  # public_date, reference_month, cpi_ppi_spread, cpi_ppi_z
    next_fomc: date | None
    scalers: list[str]
    notes: list[str]


def _on_or_before(frame: pl.DataFrame, col: str, day: date) -> date | None:
    out = frame.filter(pl.col(col) <= day)[col].max()
    return out if isinstance(out, date) else None


def market_page(
    *,
    signals: pl.DataFrame,
    term_structure: pl.DataFrame,
    macro: pl.DataFrame,
    fomc: list[date],
    params: dict[str, Any],
    years: int = 2,
) -> MarketPage:
    """Figures as of the last signals session; series over the trailing ``years``."""
    s = signals.sort("date")
    as_of: date = s["date"].max()  # type: ignore[assignment]
    since = as_of - timedelta(days=365 * years)
    recent = s.filter(pl.col("date") >= since)
    notes: list[str] = []
    curve_end: date | None = term_structure["trade_date"].max()  # type: ignore[assignment]
    if curve_end is not None and curve_end < as_of:
        notes.append(f"VX settlements end {curve_end}: the curves are as of that day and before")
    anchor = min(as_of, curve_end) if curve_end is not None else as_of
    labels = {}
    for label, back in (("latest", 0), ("a week before", 7), ("a month before", 30)):
        day = _on_or_before(term_structure, "trade_date", anchor - timedelta(days=back))
        if day is not None:
            labels[f"{label} ({day})"] = day
    curves = (
        pl.concat(
            [
                term_structure.filter(pl.col("trade_date") == day)
                .select(pl.lit(label).alias("label"), "month", "settle")
                .sort("month")
                for label, day in labels.items()
            ]
        )
        if labels
        else pl.DataFrame()
    )
    breadth = recent.select("date", "ad_macd", "ad_macd_signal", "ad_macd_hist").drop_nulls(
        "ad_macd"
    )
    breadth_end = s.drop_nulls("ad_macd")["date"].max()
    if breadth_end is None or breadth_end < as_of:  # type: ignore[operator]
        notes.append(
            f"NYSE breadth data ends {breadth_end!s}: the A/D MACD and the breadth-divergence "
            "scaler have nothing newer"
        )
        if breadth.is_empty():
            breadth = (
                s.drop_nulls("ad_macd")
                .tail(500)
                .select("date", "ad_macd", "ad_macd_signal", "ad_macd_hist")
            )
    last = s.row(-1, named=True)
    upcoming = sorted(d for d in fomc if d > as_of)
    rsi_threshold = float(params.get("rsi_threshold", 30.0))
    z_threshold = float(params.get("cpi_z_threshold", 2.0))
    rsi_row = s.drop_nulls("vix_rsi_14").tail(1)
    z_row = s.drop_nulls("cpi_ppi_z").tail(1)
    rsi = float(rsi_row["vix_rsi_14"][0]) if rsi_row.height else None
    z = float(z_row["cpi_ppi_z"][0]) if z_row.height else None
    rsi_fires = rsi is not None and rsi < rsi_threshold
    z_fires = z is not None and abs(z) > z_threshold
    breadth_text = (
        "fires (A/D MACD histogram narrowing while SPX rises)."
        if last["breadth_divergence"]
        else "does not fire" + (" (no breadth data this week)." if breadth_end != as_of else ".")
    )
    scalers = [
        "Breadth divergence: " + breadth_text,
        (
            f"VIX RSI(14) {rsi:.1f} on {rsi_row['date'][0]}: "
            + ("below" if rsi_fires else "not below")
            + f" {rsi_threshold:g}, so the extra calls "
            + ("are bought." if rsi_fires else "are not bought.")
        )
        if rsi is not None
        else "VIX RSI: no value in the data.",
        (
            f"CPI-PPI z-score {z:.2f} (as of {z_row['date'][0]}): "
            + ("beyond" if z_fires else "within")
            + f" ±{z_threshold:g}, so the call component is "
            + ("scaled up." if z_fires else "not scaled.")
        )
        if z is not None
        else "CPI-PPI z-score: no value in the data.",
        "FOMC: "
        + (
            f"next announcement {upcoming[0]}; no entries, rolls or re-hedges that day."
            if upcoming
            else "no announcement date ahead in the data."
        ),
    ]
    return MarketPage(
        as_of=as_of,
        curves=curves,
        term=recent.select("date", "contango_pct", "roll_yield_m1", "roll_yield_m2"),
        vix=recent.select("date", "vix_close", "vix_rsi_14"),
        breadth=breadth,
        breadth_end=breadth_end,  # type: ignore[arg-type]
        macro=macro.sort("public_date")
        .filter(pl.col("public_date").is_between(since - timedelta(days=365 * 3), as_of))
        .select("public_date", "reference_month", "cpi_ppi_spread", "cpi_ppi_z"),
        next_fomc=upcoming[0] if upcoming else None,
        scalers=scalers,
        notes=notes,
    )
