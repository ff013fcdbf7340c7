from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from transforms.parse import ParsedBatch, ParseError, identify, parse
from transforms.parse.fed import NOTATION_VOTE, UNSCHEDULED, parse_calendar
from transforms.parse.fred import parse_first_releases


def _parse_file(path: Path, holidays: frozenset[date], name: str | None = None) -> ParsedBatch:
    data = path.read_bytes()
    kind = identify(name or path.name, data, holidays=holidays)
    assert kind is not None and kind.parse is not None, path
    return parse(kind, data, location=str(path))


def _parse_bytes(name: str, data: bytes, holidays: frozenset[date]) -> ParsedBatch:
    kind = identify(name, data, holidays=holidays)
    assert kind is not None and kind.parse is not None, name
    return parse(kind, data, location=name)


def _agree(vendor: pl.DataFrame, normalised: pl.DataFrame, key: list[str], cols: list[str]) -> int:
    """Number of overlapping keys; asserts every value agrees to 1e-9 (nulls equal)."""
    joined = vendor.join(normalised, on=key, how="inner", suffix="_n")
    for c in cols:
        diff = joined.filter(
            ~(
                (pl.col(c).is_null() & pl.col(f"{c}_n").is_null())
                | ((pl.col(c) - pl.col(f"{c}_n")).abs() < 1e-9)
            )
        )
        assert diff.height == 0, (c, diff.select(*key, c, f"{c}_n").head())
    return joined.height


def test_every_vendor_file_is_recognised_and_parses_cleanly(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    files = sorted(p for p in (shared_data / "vendor").rglob("*") if p.is_file())
    assert len(files) == 11
    for path in files:
        batch = _parse_file(path, holidays)
        assert batch.frame.height > 100, path
        assert batch.rejects.height == 0, (path, batch.rejects)


@pytest.mark.parametrize(
    ("vendor", "normalised", "cols", "min_overlap"),
    [
        ("cboe/VIX_History.csv", "vix_daily.csv", ["open", "high", "low", "close"], 9200),
        ("cboe/VIX3M_History.csv", "vix3m_daily.csv", ["open", "high", "low", "close"], 4200),
        ("cboe/VVIX_History.csv", "vvix_daily.csv", ["close"], 5000),
        ("fred/DTB3.csv", "tbill_3m_daily.csv", ["rate_pct"], 6500),
    ],
)
def test_vendor_index_files_agree_with_normalised(
    shared_data: Path,
    holidays: frozenset[date],
    vendor: str,
    normalised: str,
    cols: list[str],
    min_overlap: int,
) -> None:
    v = _parse_file(shared_data / "vendor" / vendor, holidays).frame
    n = _parse_file(shared_data / normalised, holidays).frame
    assert _agree(v, n, ["date"], cols) >= min_overlap


def test_vendor_vx_files_agree_with_normalised_both_formats(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    normalised = _parse_file(shared_data / "vx_futures_daily.csv.gz", holidays).frame
    cols = ["open", "high", "low", "close", "settle", "change", "volume", "efp", "open_interest"]
    files = sorted((shared_data / "vendor" / "cboe" / "vx").glob("*.csv"))
    assert {p.name[:4] for p in files} == {"CFE_", "VX_2"}
    for path in files:
        v = _parse_file(path, holidays).frame
        contract = v["contract"][0]
        n = normalised.filter(pl.col("contract") == contract)
        overlap = _agree(v, n, ["trade_date", "contract"], cols)
        # Every kept vendor row is in the normalised file (placeholders are dropped by both).
        assert overlap == v.height == n.height, path
        assert (v["expiry"] == n["expiry"][0]).all()
        assert (v["contract_type"] == "monthly").all()


def test_pre_2007_archive_prices_are_rescaled(shared_data: Path, holidays: frozenset[date]) -> None:
    k06 = _parse_file(shared_data / "vendor" / "cboe" / "vx" / "CFE_K06_VX.csv", holidays).frame
    first = k06.filter(pl.col("trade_date") == date(2005, 8, 22)).row(0, named=True)
    # File: 163.50,165.80,163.50,165.80,165.40 at 10x the VIX level.
    assert first["open"] == pytest.approx(16.35)
    assert first["settle"] == pytest.approx(16.54)
    assert first["volume"] == 30  # volume is not rescaled
    final = k06.filter(pl.col("trade_date") == date(2006, 5, 17)).row(0, named=True)
    assert final["settle"] == pytest.approx(14.025)
    assert final["open"] is None and final["high"] is None  # no trade that day


def test_no_trade_rows_lose_bid_offer_high_low(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    v = _parse_file(shared_data / "vendor" / "cboe" / "vx" / "VX_2017-10-18.csv", holidays).frame
    row = v.filter(pl.col("trade_date") == date(2017, 1, 23)).row(0, named=True)
    assert (row["open"], row["high"], row["low"], row["close"]) == (None, None, None, None)
    assert row["settle"] == 19.55


def test_files_recognised_by_content_and_name_anywhere(holidays: frozenset[date]) -> None:
    fred = b"observation_date,CPIAUCSL\n2020-01-01,258.8\n2020-02-01,.\n"
    kind = identify("download (3).csv", fred, holidays=holidays)
    assert kind is not None and kind.format == "FRED CPIAUCSL"
    batch = parse(kind, fred, location="x")
    assert batch.frame.height == 1 and batch.rows_skipped == 1
    assert identify("notes.txt", b"hello", holidays=holidays) is None
    assert identify("VX_2020-03-18.csv.gz", b"", holidays=holidays) is not None
    weekly = identify("VX_2020-03-25.csv", b"", holidays=holidays)
    assert weekly is not None and "VX_W_20200325" in weekly.format


def test_older_fred_header_and_dot_missing(holidays: frozenset[date]) -> None:
    data = b"DATE,DTB3\n2001-09-11,.\n2001-09-12,2.55\n"
    batch = _parse_bytes("DTB3.csv", data, holidays)
    assert batch.frame["rate_pct"].to_list() == [2.55]
    assert batch.rows_skipped == 1


def test_fred_api_json() -> None:
    from transforms.parse.fred import parse_api_json

    doc = {
        "observations": [
            {"date": "2024-01-01", "value": "309.7"},
            {"date": "2024-02-01", "value": "."},
        ]
    }
    batch = parse_api_json(json.dumps(doc).encode(), location="api", fred_id="CPIAUCNS")
    assert batch.frame.select("series_id", "value").rows() == [("CPIAUCNSA", 309.7)]
    with pytest.raises(ParseError, match="api: not a FRED observations JSON"):
        parse_api_json(b"<html>", location="api", fred_id="DTB3")


# ----------------------------------------------------------------------- bad input


def test_unparseable_fields_are_rejected_with_line_and_reason(holidays: frozenset[date]) -> None:
    data = (
        b"date,open,high,low,close\n"
        b"2020-01-02,12.0,13.0,11.5,12.5\n"
        b"2020-13-45,12.0,13.0,11.5,12.5\n"
        b"2020-01-06,12.0,abc,11.5,12.5\n"
        b"2020-01-07,12.1,13.1,11.6,12.6\n"
    )
    batch = _parse_bytes("vix_daily.csv", data, holidays)
    assert batch.frame["date"].to_list() == [date(2020, 1, 2), date(2020, 1, 7)]
    rejects = batch.rejects.sort("line").rows(named=True)
    assert [r["line"] for r in rejects] == [3, 4]
    assert rejects[0]["reason"] == "unparseable date in column 'date': '2020-13-45'"
    assert rejects[1]["reason"] == "unparseable float64 in column 'high': 'abc'"
    assert rejects[1]["raw"] == "2020-01-06,12.0,abc,11.5,12.5"
    assert rejects[1]["location"] == "vix_daily.csv"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("vix_daily.csv", b"Date,Close\n2020-01-02,12\n", "unexpected header"),
        (
            "spx_daily.csv.gz",
            gzip.compress(b"date,open,high,low,close,volume\n" * 500, mtime=0)[:60],
            "truncated gzip",
        ),
        (
            "VIX_History.csv",
            b"<!DOCTYPE html><html><body>Access denied</body></html>",
            "not a CSV file",
        ),
        ("VX_2020-03-18.csv", b"", "file is empty"),
        ("DTB3.csv", b"observation_date,UNRATE\n2020-01-01,3.5\n", "unexpected header"),
        ("vvix_daily.csv", b"date,close\n2020-01-02,1,2,3\n", "malformed CSV"),
    ],
)
def test_unreadable_files_fail_naming_the_file(
    holidays: frozenset[date], name: str, data: bytes, message: str
) -> None:
    kind = identify(name, data, holidays=holidays)
    if kind is None:  # a FRED file is recognised by content; force the FRED parser
        from transforms.parse.fred import parse_graph_csv

        with pytest.raises(ParseError, match=message) as err:
            parse_graph_csv(data, location=name)
    else:
        with pytest.raises(ParseError, match=message) as err:
            parse(kind, data, location=name)
    assert str(err.value).startswith(f"{name}: ")


# --- published reference files --------------------------------------------------------

REF_HEADER = "Date,SPVXSP,SPVIX2ME,SPVXMP\n"


def _reference(body: str) -> pl.DataFrame:
    from transforms.parse.reference import SP_VIX_FUTURES, parse_reference

    return parse_reference(body.encode(), location="ref.csv", file=SP_VIX_FUTURES)


def test_reference_file_is_typed_sorted_and_keeps_nan_as_null() -> None:
    frame = _reference(REF_HEADER + "2006-01-04,95.5,1,nan\n2006-01-03,100.0,1,90.25\n")
    assert frame.columns == ["date", "SPVXSP", "SPVXMP"]
    assert frame.rows() == [(date(2006, 1, 3), 100.0, 90.25), (date(2006, 1, 4), 95.5, None)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Date,SPVXSP\n2006-01-03,1\n", "ref.csv: missing column(s) SPVXMP in the header"),
        (REF_HEADER + "2006-01-03,1,1,2\n2006-13-03,1,1,2\n", "ref.csv: line 3: unparseable date"),
        (
            REF_HEADER + "2006-01-03,1,1,x\n",
            "ref.csv: line 2: unparseable float64 in column 'SPVXMP': 'x'",
        ),
        (REF_HEADER + "2006-01-03,1,1,2\n,1,1,2\n", "ref.csv: line 3: missing date"),
        (REF_HEADER + "2006-01-03,1,1,2\n2006-01-03,1,1,3\n", "line 2: date 2006-01-03 repeated"),
    ],
)
def test_reference_file_errors_name_the_file_line_and_rule(body: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        _reference(body)
    assert message in str(err.value)


def _fed_row(month: str, days: str, extra: str = "") -> str:
    return (
        '<div class="row fomc-meeting">'
        f'<div class="fomc-meeting__month col-xs-5"><strong>{month}</strong></div>'
        f'<div class="fomc-meeting__date col-xs-4">{days}</div>{extra}</div>\n'
    )


def test_fed_calendar_rows_date_each_meeting_by_its_last_day() -> None:
    page = (
        "<html><body><h4><a>2023 FOMC Meetings</a></h4>\n"
        + _fed_row("Oct/Nov", "31-1*", '<a href="/x">Press Conference</a>')
        + _fed_row("March", "15 (unscheduled)")
        + _fed_row("Smarch", "3-4")
        + "<h4>2020 FOMC Meetings</h4>\n"
        + _fed_row("March", "31 (notation vote)")
        + "</body></html>"
    ).encode()
    batch = parse_calendar(page, location="fomccalendars.htm")
    rows = batch.frame.select("date", "scheduled", "press_conference", "sep", "event_type")
    assert rows.rows() == [
        (date(2023, 11, 1), True, True, True, "FOMC announcement"),
        (date(2023, 3, 15), False, None, False, UNSCHEDULED),
        (date(2020, 3, 31), False, None, False, NOTATION_VOTE),
    ]
    # A row that cannot be dated is rejected by line and reason, not guessed.
    assert batch.rejects.select("line", "reason").rows() == [
        (4, "unreadable meeting date 'Smarch' '3-4'")
    ]
    with pytest.raises(ParseError, match="no FOMC meeting found"):
        parse_calendar(b"<html><body>Service unavailable</body></html>", location="f.htm")


def test_first_releases_keep_months_released_after_they_ended() -> None:
    doc = {
        "observations": [
            {"realtime_start": "1996-12-03", "date": "1990-01-01", "value": "127.5"},
            {"realtime_start": "2025-12-18", "date": "2025-10-01", "value": "."},
            {"realtime_start": "2025-12-18", "date": "2025-11-01", "value": "324.1"},
            {"realtime_start": "2025-13-01", "date": "2025-12-01", "value": "325.0"},
        ]
    }
    batch = parse_first_releases(json.dumps(doc).encode(), location="api", release="CPI")
    assert batch.frame.select("release", "reference_month", "release_date").rows() == [
        ("CPI", date(2025, 11, 1), date(2025, 12, 18))
    ]
    assert batch.rows_skipped == 2 and batch.rejects["line"].to_list() == [4]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ("date,close\n2020-01-02,1\n".encode("utf-16"), 1),
        ("date,close\n2020-01-02,1\n2020-01-03,é\n".encode("latin-1"), 3),
    ],
)
def test_a_file_that_is_not_utf8_is_refused_naming_the_line(data: bytes, line: int) -> None:
    with pytest.raises(ParseError, match=rf"vix_daily.csv: line {line}: not UTF-8 text"):
        _parse_bytes("vix_daily.csv", data, frozenset())


def test_an_input_beyond_its_size_limit_is_refused_before_it_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.sources import DirSource, Item
    from transforms.limits import INPUT_LIMITS

    monkeypatch.setattr(INPUT_LIMITS, "max_bytes", 2**20)
    bomb = gzip.compress(b"date,open,high,low,close\n" + b"0" * (5 * 2**20))  # 5 KB -> 5 MB
    assert len(bomb) < 2**20
    with pytest.raises(
        ParseError,
        match=r"it decompresses to more, over the 1 MB limit of "
        r"one input file \(ALVH_MAX_INPUT_MB raises it\)",
    ):
        _parse_bytes("vix_daily.csv.gz", bomb, frozenset())
    big = tmp_path / "vix_daily.csv"
    big.write_bytes(b"date,open,high,low,close\n" + b"2020-01-02,1,1,1,1\n" * 60_000)
    with pytest.raises(ParseError, match=r"1,140,025 bytes, over the 1 MB limit"):
        DirSource(tmp_path).fetch(Item("vix_daily", str(big)))
    whole = gzip.compress(b"date,open,high,low,close\n" + b"2020-01-02,1,1,1,1\n" * 99)
    with pytest.raises(ParseError, match="corrupt or truncated gzip data"):
        _parse_bytes("vix_daily.csv.gz", whole[:-12], frozenset())


def test_a_row_of_another_width_is_named_by_its_line() -> None:
    data = b"date,open,high,low,close\n2020-01-02,1,1,1,1\n2020-01-03,1,1,1,1,\n"
    with pytest.raises(ParseError, match=r"malformed CSV: line 3 has 6 fields, the header 5"):
        _parse_bytes("vix_daily.csv", data, frozenset())
