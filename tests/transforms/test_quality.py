from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from transforms.columns import LINE, LOCATION, RAW, SPX_DAILY, VX_FUTURES
from transforms.parse.common import conform
from transforms.quality import disagreeing_copies, resolve_precedence, split_malformed


def _spx(rows: list[tuple[object, ...]], location: str = "spx.csv") -> pl.DataFrame:
    frame = pl.DataFrame(
        rows, schema=["date", "open", "high", "low", "close", "volume"], orient="row"
    ).with_columns(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(LINE),
        pl.lit("raw").alias(RAW),
        pl.lit(location).alias(LOCATION),
    )
    return conform(frame, SPX_DAILY)


def test_malformed_rows_are_rejected_with_reasons() -> None:
    d = date(2020, 1, 2)
    frame = _spx(
        [
            (d, 10.0, 11.0, 9.0, 10.5, 100),
            (d + timedelta(1), 10.0, 9.0, 11.0, 10.5, 100),  # high < low
            (d + timedelta(2), 10.0, 11.0, 9.0, -1.0, 100),  # negative close
            (d + timedelta(3), 10.0, 11.0, 9.0, None, 100),  # missing close
            (d + timedelta(4), 0.0, 11.0, 9.0, 10.0, 100),  # zero open
        ]
    )
    good, rejects = split_malformed(frame, SPX_DAILY)
    assert good["date"].to_list() == [d]
    reasons = dict(zip(rejects["line"].to_list(), rejects["reason"].to_list(), strict=True))
    assert reasons == {
        3: "high 9.0 below low 11.0",
        4: "non-positive close: -1.0",
        5: "missing close",
        6: "non-positive open: 0.0",
    }


def test_non_finite_negative_counts_and_impossible_dates_are_rejected_by_row() -> None:
    d = date(2020, 1, 2)
    nan, inf = float("nan"), float("inf")
    frame = _spx(
        [
            (d, 10.0, 11.0, 9.0, 10.5, 100),
            (d + timedelta(1), 10.0, 11.0, 9.0, nan, 100),
            (d + timedelta(2), 10.0, inf, 9.0, 10.5, 100),
            (d + timedelta(3), 10.0, 11.0, 9.0, 10.5, -5),
            (date(1, 1, 1), 10.0, 11.0, 9.0, 10.5, 100),
        ]
    )
    good, rejects = split_malformed(frame, SPX_DAILY)
    assert good["date"].to_list() == [d]
    assert rejects.select("line", "reason").rows() == [
        (3, "non-finite close: NaN"),
        (4, "non-finite high: inf"),
        (5, "negative volume: -5"),
        (6, "date 0001-01-01 before the series' earliest plausible date 1927-12-30"),
    ]


def test_conflicting_duplicates_in_one_file_are_all_rejected() -> None:
    d = date(2020, 1, 2)
    frame = _spx(
        [
            (d, 10.0, 11.0, 9.0, 10.5, 100),
            (d, 10.0, 11.0, 9.0, 10.7, 100),  # same key, other close
            (d + timedelta(1), 10.0, 11.0, 9.0, 10.5, 100),
            (d + timedelta(1), 10.0, 11.0, 9.0, 10.5, 100),  # exact repeat: collapses
        ]
    )
    good, rejects = split_malformed(frame, SPX_DAILY)
    assert good["date"].to_list() == [d + timedelta(1)]
    assert sorted(rejects["line"].to_list()) == [2, 3]
    assert set(rejects["reason"]) == {"duplicate key with conflicting values (lines 2, 3)"}


def test_same_key_in_two_files_is_not_a_conflict_and_first_file_wins() -> None:
    d = date(2020, 1, 2)
    curated = _spx([(d, 10.0, 11.0, 9.0, 10.5, 100)], "curated.csv")
    vendor = _spx(
        [(d, 10.0, 11.0, 9.0, 10.6, 100), (d + timedelta(1), 1.0, 2.0, 1.0, 1.5, 1)], "vendor.csv"
    )
    both = pl.concat([curated, vendor])
    good, rejects = split_malformed(both, SPX_DAILY)
    assert rejects.height == 0
    assert good.height == 3
    resolved = resolve_precedence([curated, vendor], SPX_DAILY)
    assert resolved.select("date", "close", LOCATION).rows() == [
        (d, 10.5, "curated.csv"),
        (d + timedelta(1), 1.5, "vendor.csv"),
    ]


def test_two_files_of_one_kind_that_disagree_are_named() -> None:
    d = date(2020, 1, 2)
    a = _spx([(d, 10.0, 11.0, 9.0, 10.5, 100), (d + timedelta(1), 1.0, 2.0, 1.0, 1.5, 1)], "a.csv")
    b = _spx([(d, 10.0, 11.0, 9.0, 20.5, 100), (d + timedelta(1), 1.0, 2.0, 1.0, 1.5, 1)], "b.csv")
    assert disagreeing_copies([a, b], [0, 0], SPX_DAILY) == [
        "1 keys differ between a.csv and b.csv (e.g. date=2020-01-02: line 2 against line 2)"
    ]
    # identical copies agree; a curated file over a publisher's is precedence, not ambiguity
    assert (
        disagreeing_copies([a, a.with_columns(pl.lit("c.csv").alias(LOCATION))], [0, 0], SPX_DAILY)
        == []
    )
    assert disagreeing_copies([a, b], [0, 1], SPX_DAILY) == []


def _vx(settles: list[float | None], suspect_at: int | None = None) -> pl.DataFrame:
    start = date(2008, 4, 14)
    rows = [
        {
            "trade_date": start + timedelta(days=i),
            "contract": "VXF09",
            "contract_type": "monthly",
            "expiry": date(2009, 1, 21),
            "settle": s,
            "suspect_settle": i == suspect_at,
            LINE: i + 2,
            RAW: "",
            LOCATION: "vx.csv",
        }
        for i, s in enumerate(settles)
    ]
    return conform(pl.DataFrame(rows), VX_FUTURES)


def test_vx_settle_spike_among_calm_neighbours_is_quarantined() -> None:
    good, rejects = split_malformed(_vx([22.5, 22.6, 1.00, 22.7, 22.4]), VX_FUTURES)
    assert good.height == 4
    assert rejects["line"].to_list() == [4]
    assert rejects["reason"][0] == "settle 1.0 far outside its neighbours 22.6 and 22.7"
    # The 2008-10-30 VXQ09 print: 18.14 between ~35s.
    _, rejects = split_malformed(_vx([35.0, 32.16, 18.14, 35.2]), VX_FUTURES)
    assert rejects["line"].to_list() == [4]


def test_vx_persistent_jump_is_not_a_spike() -> None:
    # 2018-02-05: VIX futures jumped and stayed up; the next settle confirms the move.
    good, rejects = split_malformed(_vx([13.5, 17.7, 33.2, 27.9, 29.0]), VX_FUTURES)
    assert rejects.height == 0 and good.height == 5


def test_rows_flagged_suspect_by_the_data_are_kept_flagged() -> None:
    good, rejects = split_malformed(_vx([22.5, 22.6, 1.00, 22.7], suspect_at=2), VX_FUTURES)
    assert rejects.height == 0
    assert good.filter(pl.col("suspect_settle"))["settle"].to_list() == [1.0]


def test_history_gaps_compare_each_group_along_its_dates() -> None:
    from transforms.quality import HistoryGaps, history_gaps

    days = [date(2020, 1, d) for d in range(1, 11)]
    stored = pl.DataFrame({"date": days})
    incoming = pl.DataFrame({"date": [d for d in days[2:6] if d != days[4]]})
    gaps = history_gaps(stored, incoming, SPX_DAILY)
    assert gaps.inside["date"].to_list() == [days[4]]  # a stored day inside its span
    assert gaps.after["date"].to_list() == days[6:]  # stored days after its last
    assert HistoryGaps.describe(gaps.after) == (
        "4 rows, e.g. 2020-01-07, 2020-01-08, 2020-01-09, ..."
    )
    assert HistoryGaps.describe(gaps.inside) == "1 row, e.g. 2020-01-05"
    # VX: per contract, and only contracts the input covers.
    vx = pl.DataFrame(
        {
            "trade_date": days[:3] * 2,
            "contract": ["VXF20"] * 3 + ["VXG20"] * 3,
        }
    )
    one = vx.filter((pl.col("contract") == "VXF20") & (pl.col("trade_date") < days[2]))
    gaps = history_gaps(vx, one, VX_FUTURES)
    assert gaps.inside.is_empty()
    assert gaps.after.rows() == [(days[2], "VXF20")]


def test_rows_dated_after_the_as_of_date_are_malformed() -> None:
    from transforms.columns import FOMC_MEETINGS

    frame = _spx(
        [(date(2026, 1, 2), 1.0, 2.0, 1.0, 1.5, 0), (date(2031, 1, 1), 1.0, 2.0, 1.0, 1.5, 0)]
    )
    good, bad = split_malformed(frame, SPX_DAILY, as_of=date(2026, 11, 30))
    assert good["date"].to_list() == [date(2026, 1, 2)]
    assert bad.select("line", "reason").rows() == [
        (3, "date after the run's as-of date 2026-11-30: date 2031-01-01")
    ]
    assert FOMC_MEETINGS.observed is None  # scheduled meetings may lie ahead


def test_an_fomc_calendar_that_runs_out_is_named() -> None:
    from transforms.quality import fomc_calendar_staleness

    meetings = pl.DataFrame(
        {
            "date": [date(2026, 10, 28), date(2026, 12, 9), date(2026, 12, 20)],
            "scheduled": [True, True, False],  # the last: unscheduled, not a calendar entry
        }
    )
    assert fomc_calendar_staleness(meetings, as_of=date(2026, 8, 1)) is None
    near = fomc_calendar_staleness(meetings, as_of=date(2026, 11, 1))
    assert near is not None and "is 2026-12-09, 38 days after 2026-11-01 (under 90)" in near
    past = fomc_calendar_staleness(meetings, as_of=date(2027, 1, 15))
    assert past is not None
    assert "the last scheduled meeting listed, 2026-12-09, is in the past" in past
    empty = fomc_calendar_staleness(meetings.clear(), as_of=date(2027, 1, 15))
    assert empty is not None and "no scheduled FOMC meeting is stored" in empty
