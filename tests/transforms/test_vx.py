from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from transforms.vx import (
    constant_maturity,
    contract_for_expiry,
    contract_from_code,
    monthly_contract,
    term_structure,
    vx_expiry,
)

# Computed (not exchange-published) calendar rows the rule disagrees with, and why.
CALENDAR_EXCEPTIONS = {
    # Juneteenth 2027 is a Saturday; NYSE observes it on Friday 2027-06-18, so the
    # settlement Friday moves to Thursday and the expiry to Tuesday 2027-05-18. The
    # data folder's calendar models holidays only on their own date.
    "VXK27": date(2027, 5, 18),
}


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2014, 3, date(2014, 3, 18)),  # Good Friday 2014-04-18
        (2019, 3, date(2019, 3, 19)),  # Good Friday 2019-04-19
        (2022, 3, date(2022, 3, 15)),  # Good Friday 2022-04-15
        (2025, 3, date(2025, 3, 18)),  # Good Friday 2025-04-18
        (2026, 5, date(2026, 5, 19)),  # Juneteenth 2026-06-19 is the third Friday
        (2024, 6, date(2024, 6, 18)),  # the Wednesday 2024-06-19 is Juneteenth
        (2020, 3, date(2020, 3, 18)),
        (2008, 11, date(2008, 11, 19)),
    ],
)
def test_expiry_rule_holiday_shifts(
    holidays: frozenset[date], year: int, month: int, expected: date
) -> None:
    assert vx_expiry(year, month, holidays=holidays) == expected


def test_expiry_rule_agrees_with_every_expiry_in_the_data(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    contracts = pl.read_csv(shared_data / "vx_contracts.csv", try_parse_dates=True)
    monthly = contracts.filter(pl.col("contract_type") == "monthly")
    assert monthly.height > 250
    for row in monthly.iter_rows(named=True):
        exp: date = row["expiry"]
        assert vx_expiry(exp.year, exp.month, holidays=holidays) == exp, row["contract"]
        assert monthly_contract(exp.year, exp.month) == row["contract"]
    weekly = contracts.filter(pl.col("contract_type") == "weekly")
    for row in weekly.iter_rows(named=True):
        found = contract_for_expiry(row["expiry"], holidays=holidays)
        assert (found.contract, found.contract_type) == (row["contract"], "weekly")

    calendar = pl.read_csv(shared_data / "vx_expiration_calendar.csv", try_parse_dates=True)
    for row in calendar.iter_rows(named=True):
        ours = vx_expiry(row["contract_year"], row["contract_month"], holidays=holidays)
        assert ours == CALENDAR_EXCEPTIONS.get(row["contract"], row["expiry_rule"]), row


def test_contract_from_archive_code(holidays: frozenset[date]) -> None:
    c = contract_from_code("k", 6, holidays=holidays)
    assert (c.contract, c.contract_type, c.expiry) == ("VXK06", "monthly", date(2006, 5, 17))


def _reference_curve(shared_data: Path) -> pl.DataFrame:
    ref = pl.read_csv(shared_data / "vx_term_structure_daily.csv.gz", infer_schema=False)
    return pl.concat(
        ref.select(
            pl.col("trade_date").str.to_date(),
            pl.lit(i, dtype=pl.Int32).alias("month"),
            pl.col(f"M{i}_expiry").str.to_date().alias("expiry"),
            pl.col(f"M{i}_settle").cast(pl.Float64).alias("settle"),
        )
        for i in range(1, 10)
    ).drop_nulls("settle")


def test_term_structure_reproduces_the_published_curve_file(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    from transforms.parse import identify, parse

    path = shared_data / "vx_futures_daily.csv.gz"
    kind = identify(path.name, b"", holidays=holidays)
    assert kind is not None
    vx = parse(kind, path.read_bytes(), location=str(path)).frame
    ours = term_structure(vx)
    ref = _reference_curve(shared_data)
    joined = ref.join(ours, on=["trade_date", "month"], how="full", coalesce=True)
    assert ours.height == ref.height == 45027
    assert joined.filter(pl.col("expiry") != pl.col("expiry_right")).height == 0
    assert joined.filter((pl.col("settle") - pl.col("settle_right")).abs() > 1e-12).height == 0
    # Suspect prints never enter the curve.
    assert (
        ours.filter((pl.col("trade_date") == date(2008, 4, 21)) & (pl.col("settle") < 2)).height
        == 0
    )


def _curve(rows: list[tuple[date, int, str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "trade_date": t,
                "month": m,
                "contract": c,
                "expiry": e,
                "days_to_expiry": (e - t).days,
                "settle": s,
            }
            for t, m, c, e, s in rows
        ],
        schema={
            "trade_date": pl.Date,
            "month": pl.Int32,
            "contract": pl.String,
            "expiry": pl.Date,
            "days_to_expiry": pl.Int32,
            "settle": pl.Float64,
        },
    )


def test_constant_maturity_by_hand() -> None:
    t1, t2 = date(2017, 6, 1), date(2020, 3, 16)
    curve = _curve(
        [
            # 2017-06-01: M1 20 days (12.0), M2 48 days (13.4):
            # w = (48 - 30) / (48 - 20) = 0.642857; 0.642857*12 + 0.357143*13.4 = 12.5
            (t1, 1, "VXM17", date(2017, 6, 21), 12.0),
            (t1, 2, "VXN17", date(2017, 7, 19), 13.4),
            (t1, 3, "VXQ17", date(2017, 8, 16), 14.0),
            # 2020-03-16: M1 2 days, M2 exactly 30 days -> M2 alone (w = 1).
            (t2, 1, "VXH20", date(2020, 3, 18), 72.625),
            (t2, 2, "VXJ20", date(2020, 4, 15), 59.15),
            (t2, 3, "VXK20", date(2020, 5, 20), 44.875),
        ]
    )
    cm = constant_maturity(curve).sort("trade_date")
    first, second = cm.row(0, named=True), cm.row(1, named=True)
    assert first["near_contract"] == "VXM17" and first["far_contract"] == "VXN17"
    assert first["near_weight"] == pytest.approx(18 / 28, abs=1e-12)
    assert first["settle"] == pytest.approx(18 / 28 * 12.0 + 10 / 28 * 13.4, abs=1e-12)
    assert second["settle"] == pytest.approx(59.15, abs=1e-12)
    assert (second["near_contract"], second["far_contract"]) == ("VXJ20", "VXK20")


def test_constant_maturity_right_after_expiry_uses_m1_without_extrapolating() -> None:
    t = date(2021, 1, 21)
    curve = _curve(
        [
            (t, 1, "VXG21", date(2021, 2, 24), 24.0),  # 34 days
            (t, 2, "VXH21", date(2021, 3, 17), 25.0),
        ]
    )
    row = constant_maturity(curve).row(0, named=True)
    assert row["settle"] == 24.0
    assert row["near_weight"] == 1.0
    assert row["far_contract"] is None
