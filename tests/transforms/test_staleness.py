"""Staleness per input: daily series to the session (less their publication lag),
monthly prints by their release, the FOMC calendar by its horizon."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from transforms.staleness import INPUTS, input_staleness, latest_public_month

SESSIONS = [date(2026, 11, 25) + timedelta(days=k) for k in range(10)]
SESSIONS = [d for d in SESSIONS if d.weekday() < 5 and d != date(2026, 11, 26)]  # Thanksgiving


def test_each_input_is_stale_by_its_own_threshold() -> None:
    session = date(2026, 12, 2)
    last = {
        "SPX": session,
        "VIX": date(2026, 12, 1),  # one session old: stale
        "VX futures": session,
        "VIX3M": session,
        "VVIX": None,  # never loaded
        "T-bill 3m": date(2026, 12, 1),  # published the next day: current
        "breadth": date(2020, 2, 10),
        "CPI": date(2026, 10, 1),  # October's print is public by November 30: current
        "PPI": date(2026, 9, 1),
        "FOMC calendar": date(2026, 12, 9),  # 7 days ahead: under the 90-day horizon
    }
    status = input_staleness(last, session=session, sessions=SESSIONS)
    assert status["input"].to_list() == [i.name for i in INPUTS]
    stale = dict(zip(status["input"], status["stale"], strict=True))
    assert stale == {
        "SPX": False, "VIX": True, "VX futures": False, "VIX3M": False, "VVIX": True,
        "T-bill 3m": False, "breadth": True, "CPI": False, "PPI": True, "FOMC calendar": True,
    }  # fmt: skip
    expected = dict(zip(status["input"], status["expected"], strict=True))
    assert expected["T-bill 3m"] == date(2026, 12, 1) and expected["SPX"] == session
    assert expected["CPI"] == date(2026, 10, 1)
    assert status.filter(pl.col("required"))["input"].to_list() == ["SPX", "VIX", "VX futures"]


def test_a_listed_release_makes_a_print_public_before_the_lag_rule() -> None:
    assert latest_public_month(date(2026, 12, 2)) == date(2026, 10, 1)
    assert latest_public_month(date(2026, 11, 29)) == date(2026, 9, 1)
    listed = pl.DataFrame(
        {"reference_month": [date(2026, 10, 1)], "release_date": [date(2026, 11, 13)]}
    )
    assert latest_public_month(date(2026, 11, 20), release_dates=listed) == date(2026, 10, 1)
    assert latest_public_month(date(2026, 11, 12), release_dates=listed) == date(2026, 9, 1)
