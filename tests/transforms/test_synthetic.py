from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.columns import BY_NAME, INGESTED, LINE, LOCATION, RAW, TRADING_CALENDAR
from transforms.macro import date_releases
from transforms.quality import split_malformed
from transforms.synthetic import synthetic_market
from transforms.vx import term_structure


@pytest.fixture(scope="module")
def sessions(holidays: frozenset[date]) -> list[date]:
    days = pl.date_range(date(2004, 1, 2), date(2012, 12, 31), eager=True).to_list()
    return [d for d in days if d.weekday() < 5 and d not in holidays]


@pytest.fixture(scope="module")
def market(sessions: list[date], holidays: frozenset[date]) -> dict[str, pl.DataFrame]:
    return synthetic_market(sessions=sessions, holidays=holidays, rng=np.random.default_rng(7))


def test_same_seed_same_market_other_seed_other_market(
    market: dict[str, pl.DataFrame], sessions: list[date], holidays: frozenset[date]
) -> None:
    again = synthetic_market(sessions=sessions, holidays=holidays, rng=np.random.default_rng(7))
    other = synthetic_market(sessions=sessions, holidays=holidays, rng=np.random.default_rng(8))
    for name, frame in market.items():
        assert_frame_equal(frame, again[name])
    assert not market["spx_daily"].equals(other["spx_daily"])


def test_every_series_in_canonical_schema_and_passes_row_rules(
    market: dict[str, pl.DataFrame], sessions: list[date]
) -> None:
    # NYSE breadth runs through the synthetic market's span, so it has no member breadth
    expected = {s.name for s in INGESTED if s is not TRADING_CALENDAR} - {"sp500_breadth"}
    assert set(market) == expected
    for name, frame in market.items():
        series = BY_NAME[name]
        assert frame.schema == pl.Schema(series.schema), name
        dated = (  # macro values are dated at ingest, as real prints are
            date_releases(frame, market["release_dates"]) if name == "macro_monthly" else frame
        )
        framed = dated.with_columns(
            pl.int_range(pl.len()).alias(LINE), pl.lit("").alias(RAW), pl.lit("s").alias(LOCATION)
        )
        _, rejects = split_malformed(framed, series)
        assert rejects.height == 0, (name, rejects.head())
    assert market["spx_daily"]["date"].to_list() == sessions


def test_vx_curve_mostly_contango_and_inverted_in_stress(market: dict[str, pl.DataFrame]) -> None:
    curve = term_structure(market["vx_futures"])
    wide = curve.pivot(on="month", index="trade_date", values="settle").join(
        market["vix_daily"].select(pl.col("date").alias("trade_date"), "close"), on="trade_date"
    )
    contango = (wide["2"] > wide["1"]).mean()
    assert isinstance(contango, float) and contango > 0.6
    stress = wide.filter(pl.col("close") > 30)
    assert stress.height > 0
    inverted = (stress["2"] < stress["1"]).mean()
    assert isinstance(inverted, float) and inverted > 0.8


def test_vx_final_settlement_is_close_to_spot_vix(market: dict[str, pl.DataFrame]) -> None:
    finals = market["vx_futures"].filter(pl.col("trade_date") == pl.col("expiry"))
    joined = finals.join(market["vix_daily"], left_on="trade_date", right_on="date")
    assert joined.height > 50
    assert ((joined["settle"] / joined["close"] - 1).abs() < 0.05).all()


def test_cpi_released_after_its_month(market: dict[str, pl.DataFrame]) -> None:
    rel = market["release_dates"]
    assert (rel["release_date"] > rel["reference_month"].dt.month_end()).all()
