from __future__ import annotations

import calendar
from datetime import date

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from transforms.macro import RULE_CALENDAR, RULE_LAG, RULE_UNCONFIRMED, ReleaseLag, date_releases

RELEASES = pl.DataFrame(
    {
        "release": ["CPI", "CPI", "PPI"],
        "reference_month": [date(2024, 3, 1), date(2025, 11, 1), date(2025, 9, 1)],
        "release_date": [date(2024, 4, 10), date(2025, 12, 12), date(2025, 11, 25)],
        "note": [None, "schedule date; release postponed", None],
    }
)


def _rows(series_id: str, months: list[date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "series_id": [series_id] * len(months),
            "reference_month": months,
            "value": [1.0] * len(months),
        }
    )


def test_release_calendar_unconfirmed_dates_and_lag_rule() -> None:
    cpi = date_releases(
        _rows("CPIAUCSL", [date(2024, 3, 1), date(2025, 11, 1), date(2024, 4, 1)]), RELEASES
    )
    got = {
        r["reference_month"]: (r["public_date"], r["public_date_rule"])
        for r in cpi.iter_rows(named=True)
    }
    assert got[date(2024, 3, 1)] == (date(2024, 4, 10), RULE_CALENDAR)
    # Listed date carries a caveat: the later of it and the lag rule.
    assert got[date(2025, 11, 1)] == (date(2025, 12, 31), RULE_UNCONFIRMED)
    # Not in the calendar: end of the following month.
    assert got[date(2024, 4, 1)] == (date(2024, 5, 31), RULE_LAG)


def test_each_series_is_dated_by_its_own_release() -> None:
    # March 2024 has a CPI release date but no PPI one: PPI falls back to the lag rule.
    ppi = date_releases(_rows("PPIACO", [date(2024, 3, 1), date(2025, 9, 1)]), RELEASES)
    assert ppi.select("public_date", "public_date_rule").rows() == [
        (date(2024, 4, 30), RULE_LAG),
        # September 2025's PPI, delayed by the shutdown: public on its release, after the
        # lag rule's date (the lag rule alone would have used it a month early).
        (date(2025, 11, 25), RULE_CALENDAR),
    ]
    cpi = date_releases(_rows("CPIAUCSL", [date(2025, 9, 1)]), RELEASES)
    assert cpi["public_date_rule"].to_list() == [RULE_LAG]


@given(
    year=st.integers(1913, 2030),
    month=st.integers(1, 12),
    lag=st.integers(1, 3),
    series=st.sampled_from(["CPIAUCSL", "CPIAUCNSA", "PPIACO", "PPIFIS"]),
)
def test_every_value_becomes_public_after_its_month_ends(
    year: int, month: int, lag: int, series: str
) -> None:
    ref = date(year, month, 1)
    out = date_releases(_rows(series, [ref]), RELEASES, lag=ReleaseLag(months_after=lag))
    public = out["public_date"][0]
    month_end = date(year, month, calendar.monthrange(year, month)[1])
    assert public > month_end
    assert out["public_date_rule"][0] in {RULE_CALENDAR, RULE_LAG, RULE_UNCONFIRMED}
