"""The live source against a local HTTP server on 127.0.0.1 serving the vendor samples.

No test touches the internet: the server answers Cboe's and FRED's URL paths from
``../shared/data/vendor/`` and ``tests/fixtures/vendor/`` (samples the shared folder
lacks) and 404 for everything it does not have.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest

from flows.ingest import IngestFailed, IngestParams, ingest_flow
from flows.sources import FED_CALENDAR_PATH, FetchError, Http, Item, LiveSource
from transforms.columns import INGESTED

Query = Callable[..., pl.DataFrame]
SECRET = "k3y-that-must-never-be-logged"
# After the vendor samples' last rows (2026-07-22): a row dated after the as-of date is
# quarantined.
AS_OF = date(2026, 8, 1)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
SP500_ROWS = 43  # the closes of tests/fixtures/vendor/fred/SP500.csv (and one empty day)


class VendorServer:
    """Serves vendor files under the publishers' paths; can fail a path N times."""

    def __init__(self, vendor: Path) -> None:
        self.vendor = vendor
        self.hits: Counter[str] = Counter()
        self.fail: dict[str, int] = {}
        self.html: set[str] = set()  # paths answered by an HTML page with status 200
        self.lines: dict[str, int] = {}  # paths cut after N lines (a matching length)
        self.drip: set[str] = set()  # paths answered one byte every 0.2 s (at most 5 s)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = server.answer(self.path)
                path = urlparse(self.path).path
                if path in server.html:
                    body = (
                        b"<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>"
                    )
                if path in server.lines:
                    body = b"".join(body.splitlines(keepends=True)[: server.lines[path]])
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if path in server.drip:
                    for i in range(min(len(body), 25)):
                        try:
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.2)
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, raw_path: str) -> tuple[int, bytes]:
        url = urlparse(raw_path)
        self.hits[url.path] += 1
        if self.fail.get(url.path, 0) > 0:
            self.fail[url.path] -= 1
            return 503, b"busy"
        query = parse_qs(url.query)
        name = url.path.rsplit("/", 1)[-1]
        cboe = self.vendor / "cboe"
        if url.path.startswith("/api/global/us_indices/daily_prices/"):
            path = cboe / name
        elif url.path.startswith("/data/us/futures/market_statistics/historical_data/VX/"):
            path = cboe / "vx" / name
        elif url.path == "/graph/fredgraph.csv":
            path = self._fred(query["id"][0])
        elif url.path == "/fred/series/observations":
            if query.get("api_key") != [SECRET]:
                return (
                    400,
                    b'{"error_message": "Bad Request. The value for variable api_key is not registered."}',
                )
            if query.get("output_type") == ["4"]:  # ALFRED's first releases
                path = FIXTURES / "fred" / "first_releases" / f"{query['series_id'][0]}.json"
                return (200, path.read_bytes()) if path.is_file() else (404, b"not found")
            path = self._fred(query["series_id"][0])
            if path.is_file():
                rows = list(csv.reader(io.StringIO(path.read_text())))[1:]
                obs = [{"date": d, "value": v or "."} for d, v in rows]
                return 200, json.dumps({"observations": obs}).encode()
        elif url.path == FED_CALENDAR_PATH:
            path = FIXTURES / "fed" / url.path.lstrip("/")
        else:
            return 404, b"not found"
        return (200, path.read_bytes()) if path.is_file() else (404, b"not found")

    def _fred(self, fred_id: str) -> Path:
        shared = self.vendor / "fred" / f"{fred_id}.csv"
        return shared if shared.is_file() else FIXTURES / "fred" / f"{fred_id}.csv"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[VendorServer]:
    srv = VendorServer(shared_data / "vendor")
    monkeypatch.setenv("ALVH_CBOE_URL", srv.url)
    monkeypatch.setenv("ALVH_FRED_URL", srv.url)
    monkeypatch.setenv("ALVH_FRED_API_URL", srv.url)
    monkeypatch.setenv("ALVH_FED_URL", srv.url)
    monkeypatch.setenv("ALVH_CACHE", str(tmp_path / "cache"))
    yield srv
    srv.close()


def _vendor_rows(shared_data: Path, pattern: str) -> int:
    return sum(len(p.read_text().splitlines()) - 1 for p in (shared_data / "vendor").rglob(pattern))


def test_live_ingest_from_local_server(
    server: VendorServer, shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    # A stored calendar (as in the history) lists a 2026 meeting the Fed's page moved.
    stored = tmp_path / "stored"
    stored.mkdir()
    (stored / "fomc_meetings.csv").write_text(
        "date,scheduled,press_conference,sep,event_type,source,is_future_as_of_source\n"
        "2026-05-06,1,,,FOMC announcement,history,True\n"
        "2026-06-17,1,,,FOMC announcement,history,True\n"
    )
    ingest_flow(IngestParams(source=f"dir:{stored}", db=db, as_of=AS_OF))
    lines = ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    live = sql(db, "SELECT * FROM ingest_runs WHERE source = 'live'")
    runs = {r["series"]: r for r in live.iter_rows(named=True)}
    for series, pattern in (("vix_daily", "VIX_History.csv"), ("vvix_daily", "VVIX_History.csv")):
        assert runs[series]["rows_inserted"] == _vendor_rows(shared_data, pattern)
    # Five current-format VX files are served; the other listed expiries answer 404.
    assert sql(db, "SELECT count(DISTINCT contract) FROM core.vx_futures").row(0) == (5,)
    assert runs["vx_futures"]["rows_inserted"] == _vendor_rows(shared_data, "VX_20*.csv")
    assert runs["tbill_3m_daily"]["rows_inserted"] == 6521
    # No FRED key: no release dates (and the sample serves no CPI or PPI); no breadth feed.
    for absent in ("nyse_breadth", "sp500_breadth", "macro_monthly", "release_dates"):
        assert runs[absent]["status"] == "absent", absent
    assert any(
        line.startswith("release_dates: absent from live") and "FRED_API_KEY" in line
        for line in lines
    )
    assert any(
        line.startswith("nyse_breadth: absent from live") and "dir:" in line for line in lines
    )
    # The Fed's calendar page: 16 meetings of 2025-2026 and a notation vote; the stored
    # 2026-05-06 is not on it (the page has 2026-04-29): kept, and named.
    fomc = runs["fomc_meetings"]
    assert (fomc["rows_inserted"], fomc["rows_updated"]) == (16, 1)
    assert sql(
        db, "SELECT count(*), min(date), max(date) FROM core.fomc_meetings WHERE scheduled"
    ).row(0) == (17, date(2025, 1, 29), date(2026, 12, 9))
    assert any(
        "1 stored scheduled meetings are not on this calendar for their year: 2026-05-06" in line
        for line in lines
    )
    assert runs["spx_daily"]["rows_inserted"] == SP500_ROWS  # FRED's SP500: closes only
    assert sql(db, "SELECT count(*) FROM core.spx_daily WHERE open IS NOT NULL").row(0) == (0,)
    assert (
        sql(db, "SELECT source FROM core.vix_daily LIMIT 1")
        .row(0)[0]
        .endswith("/api/global/us_indices/daily_prices/VIX_History.csv")
    )

    # Second run: downloaded files come from the cache (expired VX contracts forever).
    vx_path = "/data/us/futures/market_statistics/historical_data/VX/VX_2020-03-18.csv"
    index_path = "/api/global/us_indices/daily_prices/VIX_History.csv"
    assert server.hits[vx_path] == 1 and server.hits[index_path] == 1
    ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    assert server.hits[vx_path] == 1 and server.hits[index_path] == 1


def test_download_retries_with_backoff_then_succeeds(server: VendorServer, tmp_path: Path) -> None:
    path = "/api/global/us_indices/daily_prices/VVIX_History.csv"
    server.fail[path] = 2
    http = Http(cache=tmp_path / "c", retries=3, backoff=0.01)
    data = http.get(server.url + path, shown=server.url + path)
    assert data is not None and data.startswith(b"DATE,VVIX")
    assert server.hits[path] == 3


def test_download_that_keeps_failing_names_the_url(server: VendorServer, tmp_path: Path) -> None:
    path = "/api/global/us_indices/daily_prices/VIX_History.csv"
    server.fail[path] = 10
    http = Http(cache=tmp_path / "c", retries=2, backoff=0.01)
    with pytest.raises(
        FetchError, match=r"VIX_History.csv: download failed after 3 attempts \(HTTP 503\)"
    ):
        http.get(server.url + path, shown=server.url + path)
    assert server.hits[path] == 3


def test_stale_cache_is_used_when_the_publisher_is_down(
    server: VendorServer, tmp_path: Path
) -> None:
    path = "/api/global/us_indices/daily_prices/VVIX_History.csv"
    http = Http(
        cache=tmp_path / "c", retries=1, backoff=0.01, max_age=__import__("datetime").timedelta(0)
    )
    first = http.get(server.url + path, shown=server.url + path)
    server.fail[path] = 10
    assert http.get(server.url + path, shown=server.url + path) == first


def test_failed_download_fails_only_its_series(
    server: VendorServer, sql: Query, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.fail["/api/global/us_indices/daily_prices/VIX3M_History.csv"] = 100
    monkeypatch.setenv("ALVH_HTTP_BACKOFF", "0.01")
    db = tmp_path / "w.duckdb"
    with pytest.raises(IngestFailed, match=r"vix3m_daily: .*VIX3M_History.csv: download failed"):
        ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    status = dict(sql(db, "SELECT series, status FROM ingest_runs").rows())
    assert status["vix3m_daily"] == "failed" and status["vix_daily"] == "succeeded"


def test_fred_api_key_is_used_and_never_shown(
    server: VendorServer,
    sql: Query,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    db = tmp_path / "w.duckdb"
    with caplog.at_level(logging.DEBUG):
        ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    assert server.hits["/fred/series/observations"] >= 1
    assert sql(db, "SELECT count(*) FROM core.tbill_3m_daily").row(0) == (6521,)
    stored = str(sql(db, "SELECT * FROM ingest_runs").rows()) + str(
        sql(db, "SELECT DISTINCT location FROM raw.rows").rows()
    )
    assert "observations?series_id=DTB3&file_type=json" in stored
    assert SECRET not in stored
    assert SECRET not in caplog.text
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert not any(SECRET in p.name for p in (tmp_path / "cache").rglob("*"))


def test_live_plan_covers_indices_vx_and_fred(
    server: VendorServer, holidays: frozenset[date], tmp_path: Path
) -> None:
    plan = LiveSource(as_of=date(2026, 1, 10), http=Http(cache=tmp_path)).plan(holidays=holidays)
    vx = [i.location.rsplit("/", 1)[-1] for i in plan.items["vx_futures"]]
    assert vx[0] == "VX_2013-01-16.csv" and "VX_2026-09-16.csv" in vx
    assert len(plan.items["vix_daily"]) == len(plan.items["vvix_daily"]) == 1
    assert {i.location.rsplit("=", 1)[-1] for i in plan.items["macro_monthly"]} == {
        "CPIAUCSL",
        "CPIAUCNS",
        "PPIACO",
        "PPIFIS",
    }


def test_with_a_fred_key_every_series_but_breadth_has_a_live_download(
    server: VendorServer, holidays: frozenset[date], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    plan = LiveSource(as_of=AS_OF, http=Http(cache=tmp_path)).plan(holidays=holidays)
    assert set(plan.absent) == {"nyse_breadth", "sp500_breadth"}
    assert {s.name for s in INGESTED} - {"trading_calendar"} - set(plan.items) == set(plan.absent)
    assert [i.location.split("series_id=")[1].split("&")[0] for i in plan.items["spx_daily"]] == [
        "SP500"
    ]
    releases = plan.items["release_dates"]
    assert [i.kind.format for i in releases if i.kind] == [
        "ALFRED CPI first releases (CPIAUCSL)",
        "ALFRED PPI first releases (PPIACO)",
    ]
    assert all("output_type=4" in i.location and SECRET not in i.location for i in releases)
    assert [i.location for i in plan.items["fomc_meetings"]] == [server.url + FED_CALENDAR_PATH]


def test_release_dates_come_from_first_vintages(
    server: VendorServer, sql: Query, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", SECRET)
    db = tmp_path / "w.duckdb"
    ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    got = sql(
        db,
        "SELECT release, count(*), min(reference_month), max(reference_month) "
        "FROM core.release_dates GROUP BY release ORDER BY release",
    ).rows()
    # 1990 (older than the vintages) and October 2025 (never published) are skipped.
    assert got == [
        ("CPI", 22, date(2024, 1, 1), date(2025, 11, 1)),
        ("PPI", 9, date(2025, 1, 1), date(2025, 9, 1)),
    ]
    released = dict(
        sql(
            db,
            "SELECT release, release_date FROM core.release_dates "
            "WHERE reference_month IN ('2025-11-01', '2025-09-01') "
            "AND (release = 'CPI') = (reference_month = '2025-11-01')",
        ).rows()
    )
    assert released == {"CPI": date(2025, 12, 18), "PPI": date(2025, 11, 25)}
    run = sql(db, "SELECT * FROM ingest_runs WHERE series = 'release_dates'").row(0, named=True)
    assert run["status"] == "succeeded" and run["rows_skipped"] == 3


def test_a_fed_calendar_page_without_meetings_fails_by_name_and_is_not_cached(
    server: VendorServer, sql: Query, tmp_path: Path
) -> None:
    server.html.add(FED_CALENDAR_PATH)  # e.g. a maintenance page served with 200
    db = tmp_path / "w.duckdb"
    with pytest.raises(
        IngestFailed,
        match=r"fomc_meetings: .*fomccalendars.htm: the download "
        r"is not a usable file \(no FOMC meeting found",
    ):
        ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    assert sql(db, "SELECT count(*) FROM core.fomc_meetings").row(0) == (0,)
    assert not list((tmp_path / "cache").rglob("*fomccalendars*"))


INDEX = "/api/global/us_indices/daily_prices/{}_History.csv"
VX_MAR20 = "/data/us/futures/market_statistics/historical_data/VX/VX_2020-03-18.csv"


def _item(source: LiveSource, series: str, path: str) -> Item:
    plan = source.plan(holidays=frozenset())
    return next(i for i in plan.items[series] if i.location.endswith(path))


def test_an_html_page_served_with_200_is_refused_and_never_cached(
    server: VendorServer, tmp_path: Path
) -> None:
    path = INDEX.format("VIX3M")
    source = LiveSource(as_of=AS_OF, http=Http(cache=tmp_path / "c", retries=0))
    item = _item(source, "vix3m_daily", path)
    server.html.add(path)
    with pytest.raises(FetchError, match=r"VIX3M_History.csv: the download is not a usable file"):
        source.fetch(item)
    assert not list((tmp_path / "c").rglob("*VIX3M*"))
    server.html.clear()  # the next run against a healthy server succeeds
    data = source.fetch(item)
    assert data is not None and data.startswith(b"DATE,OPEN")


def test_a_truncated_expired_contract_is_never_made_immutable(
    server: VendorServer, tmp_path: Path
) -> None:
    source = LiveSource(as_of=AS_OF, http=Http(cache=tmp_path / "c", retries=0))
    item = _item(source, "vx_futures", VX_MAR20)
    assert item.immutable
    server.lines[VX_MAR20] = 95  # header + 94 of 186 rows
    with pytest.raises(
        FetchError, match=r"ends 2019-11-04, before the contract's expiry 2020-03-18"
    ):
        source.fetch(item)
    assert not list((tmp_path / "c").rglob("*VX_2020-03-18*"))
    del server.lines[VX_MAR20]
    full = source.fetch(item)
    assert full is not None and server.hits[VX_MAR20] == 2
    # A partial copy left in the cache (by an older version) is discarded and fetched again.
    (cached,) = (tmp_path / "c").rglob("*VX_2020-03-18*")
    cached.write_bytes(b"".join(full.splitlines(keepends=True)[:95]))
    assert source.fetch(item) == full and server.hits[VX_MAR20] == 3
    assert source.fetch(item) == full and server.hits[VX_MAR20] == 3  # immutable now


def test_a_download_shorter_than_the_cached_copy_fails_unless_forced(
    server: VendorServer, tmp_path: Path
) -> None:
    from datetime import timedelta

    path = INDEX.format("VIX3M")
    http = Http(cache=tmp_path / "c", retries=0, max_age=timedelta(0))
    source = LiveSource(as_of=AS_OF, http=http)
    item = _item(source, "vix3m_daily", path)
    full = source.fetch(item)
    assert full is not None
    server.lines[path] = 2118  # cut at a line boundary: 2,117 of 4,235 rows
    with pytest.raises(
        FetchError, match=r"2117 rows to 2018-02-14, .*cached copy \(4235 rows to 2026-07-22\)"
    ):
        source.fetch(item)
    (cached,) = (tmp_path / "c").rglob("*VIX3M*")
    assert cached.read_bytes() == full  # the cached copy is kept
    forced = LiveSource(
        as_of=AS_OF, http=Http(cache=tmp_path / "c", max_age=timedelta(0), force=True)
    )
    assert forced.fetch(item) == b"".join(full.splitlines(keepends=True)[:2118])


def test_a_truncated_download_cannot_shrink_the_stored_history(
    server: VendorServer, sql: Query, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    shutil.rmtree(tmp_path / "cache")  # no cached copy to compare with: the warehouse is
    path = INDEX.format("VIX3M")
    server.lines[path] = 2118
    with pytest.raises(
        IngestFailed, match=r"vix3m_daily: nothing loaded: vix3m_daily: the input ends"
    ):
        ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    assert sql(db, "SELECT count(*) FROM core.vix3m_daily").row(0) == (4235,)


def test_a_server_that_drips_bytes_is_cut_off_by_the_deadline(
    server: VendorServer, tmp_path: Path
) -> None:
    path = INDEX.format("VVIX")
    server.drip.add(path)
    http = Http(cache=tmp_path / "c", retries=1, backoff=0.01, deadline=0.8)
    started = time.monotonic()
    with pytest.raises(
        FetchError, match=r"2 attempts \(DeadlineExceeded: incomplete after the 0.8 s"
    ):
        http.get(server.url + path, shown=server.url + path)
    assert time.monotonic() - started < 4


def test_live_spx_extends_the_stored_history_and_keeps_what_fred_lacks(
    server: VendorServer, shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    """FRED's SP500 has closes only: restated days keep their stored open, high, low and
    volume (equal closes: nothing revised); days after the history are added, close only."""
    folder = tmp_path / "history"
    folder.mkdir()
    full = pl.read_csv(shared_data / "spx_daily.csv.gz", try_parse_dates=True)
    full.filter(pl.col("date") <= date(2026, 7, 15)).write_csv(folder / "spx_daily.csv")
    db = tmp_path / "w.duckdb"
    ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=AS_OF))
    before = sql(db, "SELECT * EXCLUDE (source, ingest_run_id) FROM core.spx_daily ORDER BY date")
    ingest_flow(IngestParams(source="live", db=db, as_of=AS_OF))
    run = sql(db, "SELECT * FROM ingest_runs WHERE series = 'spx_daily' ORDER BY started_at")
    last = run.row(-1, named=True)
    assert last["status"] == "succeeded" and last["rows_updated"] == 0
    after = sql(db, "SELECT * EXCLUDE (source, ingest_run_id) FROM core.spx_daily ORDER BY date")
    assert after.filter(pl.col("date") <= date(2026, 7, 15)).equals(before)  # OHLC kept
    new = after.filter(pl.col("date") > date(2026, 7, 15))
    assert new.height == 12 and new["open"].is_null().all() and new["volume"].is_null().all()
    assert (
        new["close"].to_list()
        == full.filter(pl.col("date").is_between(date(2026, 7, 16), date(2026, 7, 31)))[
            "close"
        ].to_list()
    )
    assert sql(db, "SELECT count(*) FROM core.revisions").row(0) == (0,)
