"""Where data comes from: a folder, the publishers' live downloads, or a synthetic market.

Every source answers the same questions: :meth:`Source.plan` — which inputs exist for
which series (in precedence order: the first copy of a key wins), and which files were
seen but not loaded and why; :meth:`Source.fetch` — the bytes of one input (``None``
when a live input turns out not to exist), which the ingest fingerprints to skip
unchanged inputs; :meth:`Source.parse` — those bytes as a :class:`ParsedBatch`.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import polars as pl

from flows import settings
from transforms.columns import (
    BY_NAME,
    FOMC_MEETINGS,
    MACRO_MONTHLY,
    NYSE_BREADTH,
    RELEASE_DATES,
    SP500_BREADTH,
    TRADING_CALENDAR,
)
from transforms.macro import date_releases
from transforms.parse import (
    FileKind,
    ParsedBatch,
    ParseError,
    empty_rejects,
    fed,
    fred,
    identify,
    parse,
)
from transforms.parse.common import check_size, generated
from transforms.quality import split_malformed
from transforms.synthetic import synthetic_market
from transforms.vx import monthly_expiries

log = logging.getLogger("alvh.sources")


@dataclass(frozen=True)
class Item:
    """One input of one series: a file path, a URL, or a generated table."""

    series: str
    location: str
    kind: FileKind | None = None
    url: str | None = None
    immutable: bool = False


@dataclass
class Plan:
    items: dict[str, list[Item]] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    absent: dict[str, str] = field(default_factory=dict)
    """Series this source cannot provide, and why (what to do instead)."""

    def add(self, item: Item) -> None:
        self.items.setdefault(item.series, []).append(item)


class Source(ABC):
    label: str

    @abstractmethod
    def plan(self, *, holidays: Collection[date]) -> Plan: ...

    @abstractmethod
    def fetch(self, item: Item) -> bytes | None: ...

    def parse(self, item: Item, data: bytes) -> ParsedBatch:
        assert item.kind is not None
        return parse(item.kind, data, location=item.location)


# --------------------------------------------------------------------------- folder


class DirSource(Source):
    """A folder in the layout of ``../shared/data`` and/or publishers' files, any depth.

    Files are recognised by name pattern and header wherever they sit. Curated
    (normalised) files take precedence over raw publisher files for the same key.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = f"dir:{root}"

    def plan(self, *, holidays: Collection[date]) -> Plan:
        plan = Plan()
        found: list[tuple[int, str, Item]] = []
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or any(
                p.startswith(".") for p in path.relative_to(self.root).parts
            ):
                continue
            with path.open("rb") as fh:
                head = fh.read(1 << 16)
            kind = identify(path.name, head, holidays=holidays)
            if kind is None:
                plan.ignored.append((str(path), "not a recognised series file"))
            elif kind.series is None:
                plan.ignored.append((str(path), kind.skip or "not loaded"))
            else:
                rank = 0 if kind.curated else 1
                found.append((rank, str(path), Item(kind.series.name, str(path), kind)))
        for _, _, item in sorted(found, key=lambda t: (t[0], t[1])):
            plan.add(item)
        return plan

    def fetch(self, item: Item) -> bytes:
        path = Path(item.location)
        check_size(item.location, path.stat().st_size)  # before it is read
        return path.read_bytes()


# --------------------------------------------------------------------------- synthetic


class SyntheticSource(Source):
    """The seeded synthetic market of :mod:`transforms.synthetic` on NYSE sessions."""

    def __init__(self, *, seed: int, start: date, end: date) -> None:
        self.seed, self.start, self.end = seed, start, end
        self.label = f"synthetic:seed={seed},{start}..{end}"
        self._frames: dict[str, pl.DataFrame] | None = None

    def plan(self, *, holidays: Collection[date]) -> Plan:
        days = pl.date_range(self.start, self.end, eager=True)
        sessions = [d for d in days.to_list() if d.weekday() < 5 and d not in holidays]
        self._frames = synthetic_market(
            sessions=sessions, holidays=holidays, rng=np.random.default_rng(self.seed)
        )
        plan = Plan()
        for name in self._frames:
            plan.add(Item(name, self.label))
        return plan

    def fetch(self, item: Item) -> bytes:
        """The generator's identity: the same seed and span give the same market."""
        return self.label.encode()

    def parse(self, item: Item, data: bytes) -> ParsedBatch:
        assert self._frames is not None, "plan() first"
        frame = self._frames[item.series]
        return ParsedBatch(
            BY_NAME[item.series],
            item.location,
            generated(frame, location=item.location),
            empty_rejects(),
            frame.height,
        )


# --------------------------------------------------------------------------- live


class FetchError(RuntimeError):
    pass


class DeadlineExceeded(Exception):
    """A download did not complete within its total deadline."""


@dataclass(frozen=True)
class Extent:
    """What a downloaded file holds: its valid rows and its last observation date."""

    rows: int
    last: date | None


Check = Callable[[bytes], Extent]
"""Parses a download and applies its row rules; raises ParseError if it is not usable."""


@dataclass(frozen=True)
class Http:
    """Downloads with a total deadline, retries with exponential backoff, and a file cache.

    A download enters the cache only after ``check`` (when given) parsed it and found it
    usable, and only if it is not shorter or earlier than the cached copy (``force``
    accepts it anyway). Immutable files (expired VX contracts) are served from the cache
    forever, once their check passed; others are re-downloaded when older than
    ``max_age``. When a download fails after its retries and a usable cached copy
    exists, the copy is used and a warning logged. Each attempt must complete within
    ``deadline`` seconds in all (a server that drips bytes cannot hold a run forever).
    """

    cache: Path
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    deadline: float = 120.0
    max_age: timedelta = timedelta(hours=12)
    force: bool = False

    def _cache_file(self, url: str) -> Path:
        parsed = httpx.URL(url)
        name = parsed.path.strip("/").replace("/", "__") or "index"
        if parsed.query:
            name += "__" + parsed.query.decode().replace("&", "_").replace("=", "-")
        return self.cache / (parsed.host or "local") / name

    @staticmethod
    def _usable(path: Path, check: Check | None) -> tuple[bytes, Extent | None] | None:
        """The cached copy and its extent, or None if absent or no longer usable."""
        if not path.is_file():
            return None
        data = path.read_bytes()
        try:
            return data, check(data) if check else None
        except (ParseError, FetchError) as exc:
            log.warning("discarding the cached copy %s: %s", path, exc)
            path.unlink()
            return None

    def _download(self, url: str) -> tuple[int, bytes]:
        deadline = time.monotonic() + self.deadline
        timeout = httpx.Timeout(min(self.timeout, self.deadline))
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                check_size(url.split("?", 1)[0], len(body))
                if time.monotonic() > deadline:
                    raise DeadlineExceeded(f"incomplete after the {self.deadline:g} s deadline")
            return response.status_code, bytes(body)

    def _accept(
        self, shown: str, body: bytes, check: Check | None, kept: tuple[bytes, Extent | None] | None
    ) -> None:
        """Raise FetchError unless ``body`` may replace the cached copy."""
        if check is None:
            return
        try:
            new = check(body)
        except ParseError as exc:
            raise FetchError(
                f"{shown}: the download is not a usable file ({exc.reason}); nothing cached"
            ) from None
        old = kept[1] if kept else None
        if old is None or self.force:
            return
        if new.rows < old.rows or (new.last and old.last and new.last < old.last):
            raise FetchError(
                f"{shown}: the download has {new.rows} rows to {new.last}, fewer or earlier "
                f"than the cached copy ({old.rows} rows to {old.last}): a truncated download? "
                "The cached copy is kept; --force accepts the download"
            )

    def get(
        self, url: str, *, shown: str, immutable: bool = False, check: Check | None = None
    ) -> bytes | None:
        """Bytes at ``url`` (``None`` on 404); ``shown`` is the URL as it may be logged."""
        cached = self._cache_file(shown)
        kept = self._usable(cached, check)
        if kept is not None:
            age = datetime.now() - datetime.fromtimestamp(cached.stat().st_mtime)
            if immutable or age < self.max_age:
                return kept[0]
        error = ""
        for attempt in range(self.retries + 1):
            try:
                status, body = self._download(url)
            except DeadlineExceeded as exc:
                error = f"DeadlineExceeded: {exc}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__  # its text holds the URL, which may hold a key
            else:
                if status == 404:
                    return None
                if status < 400:
                    self._accept(shown, body, check, kept)
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    tmp = cached.with_suffix(".part")
                    try:
                        tmp.write_bytes(body)
                        tmp.replace(cached)
                    finally:
                        tmp.unlink(missing_ok=True)
                    return body
                error = f"HTTP {status}"
                if status < 500 and status != 429:
                    break
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        if kept is not None:
            log.warning("download of %s failed (%s); using the cached copy", shown, error)
            return kept[0]
        raise FetchError(f"{shown}: download failed after {self.retries + 1} attempts ({error})")


CBOE_INDEX_PATH = "/api/global/us_indices/daily_prices/{index}_History.csv"
CBOE_VX_PATH = "/data/us/futures/market_statistics/historical_data/VX/VX_{expiry}.csv"
FED_CALENDAR_PATH = "/monetarypolicy/fomccalendars.htm"
# ALFRED's whole real-time span: with output_type=4 each month's first vintage.
FIRST_RELEASES = {
    "realtime_start": "1776-07-04",
    "realtime_end": "9999-12-31",
    "output_type": "4",
    "file_type": "json",
}
NO_BREADTH_FEED = (
    "no free publisher of daily NYSE or S&P 500 member breadth: drop the files in a "
    "folder and ingest it with --source dir:FOLDER"
)
NO_RELEASE_DATES = (
    "CPI and PPI release dates come from FRED's API (ALFRED's first vintages), which "
    "needs FRED_API_KEY (free at fredaccount.stlouisfed.org); without them CPI and PPI "
    "are dated by the lag rule"
)
LIVE_FRED_IDS = ("SP500", "DTB3", "CPIAUCSL", "CPIAUCNS", "PPIACO", "PPIFIS")
# Cboe's per-expiry VX files in the current format start with the 2013 contracts.
FIRST_LIVE_VX_EXPIRY = date(2013, 1, 1)


class RedactSecret(logging.Filter):
    """Replaces a secret in log records (httpx logs full request URLs at INFO)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "***"), None
        return True


class LiveSource(Source):
    """Publishers' downloads: Cboe index histories and per-expiry VX files, FRED series.

    SPX comes from FRED's ``SP500``: the free daily publisher of the index, closes only
    and only the last ten years (S&P's licence), so it extends a stored history rather
    than replacing it; the open, high, low and volume it lacks stay as stored, and new
    days have none (a backtest settles an expiry at the close where there is no open).
    FOMC dates come from the Federal Reserve's calendar page (the last five years and
    the next). CPI and PPI release dates come from ALFRED's first vintages through
    FRED's API (a free key); without a key they are reported absent, as breadth always
    is (no free publisher: a ``dir:`` drop folder is the route). VX: the monthly
    contracts expiring from 2013 to ``as_of`` + 270 days; a contract the publisher does
    not list (404) is skipped.
    """

    def __init__(self, *, as_of: date, http: Http) -> None:
        self.as_of = as_of
        self.http = http
        self.api_key = settings.fred_api_key()
        self.label = "live"
        if self.api_key:
            logging.getLogger("httpx").addFilter(RedactSecret(self.api_key))

    def plan(self, *, holidays: Collection[date]) -> Plan:
        plan = Plan()
        base = settings.cboe_url()
        for index in ("VIX", "VIX3M", "VVIX"):
            url = base + CBOE_INDEX_PATH.format(index=index)
            kind = identify(f"{index}_History.csv", b"", holidays=holidays)
            assert kind is not None and kind.series is not None
            plan.add(Item(kind.series.name, url, kind, url))
        for c in monthly_expiries(
            FIRST_LIVE_VX_EXPIRY, self.as_of + timedelta(days=270), holidays=holidays
        ):
            url = base + CBOE_VX_PATH.format(expiry=c.expiry.isoformat())
            kind = identify(f"VX_{c.expiry.isoformat()}.csv", b"", holidays=holidays)
            assert kind is not None
            plan.add(
                Item(
                    "vx_futures",
                    url,
                    kind,
                    url,
                    immutable=c.expiry < self.as_of - timedelta(days=7),
                )
            )
        for fred_id in LIVE_FRED_IDS:
            series = fred.FRED_SERIES[fred_id][0]
            if self.api_key:
                kind = FileKind(
                    f"FRED API {fred_id}", series, partial(fred.parse_api_json, fred_id=fred_id)
                )
                plan.add(self._api_item(kind, {"series_id": fred_id, "file_type": "json"}))
            else:
                url = f"{settings.fred_url()}/graph/fredgraph.csv?id={fred_id}"
                kind = FileKind(f"FRED {fred_id}", series, fred.parse_graph_csv)
                plan.add(Item(series.name, url, kind, url))
        for release, fred_id in fred.RELEASE_FRED_IDS.items():
            if not self.api_key:
                plan.absent[RELEASE_DATES.name] = NO_RELEASE_DATES
                break
            kind = FileKind(
                f"ALFRED {release} first releases ({fred_id})",
                RELEASE_DATES,
                partial(fred.parse_first_releases, release=release),
            )
            plan.add(self._api_item(kind, {"series_id": fred_id, **FIRST_RELEASES}))
        url = settings.fed_url() + FED_CALENDAR_PATH
        plan.add(
            Item(
                FOMC_MEETINGS.name,
                url,
                FileKind("Federal Reserve FOMC calendar", FOMC_MEETINGS, fed.parse_calendar),
                url,
            )
        )
        for series in (NYSE_BREADTH, SP500_BREADTH):
            plan.absent[series.name] = NO_BREADTH_FEED
        return plan

    def _api_item(self, kind: FileKind, query: dict[str, str]) -> Item:
        """A FRED API download; its shown location (logged, cached by) lacks the key."""
        assert self.api_key and kind.series is not None
        base = f"{settings.fred_api_url()}/fred/series/observations?"
        shown = base + urlencode(query)
        url = base + urlencode({**query, "api_key": self.api_key})
        return Item(kind.series.name, shown, kind, url)

    def fetch(self, item: Item) -> bytes | None:
        assert item.url is not None
        return self.http.get(
            item.url,
            shown=item.location,
            immutable=item.immutable,
            check=partial(self.extent, item),
        )

    def extent(self, item: Item, data: bytes) -> Extent:
        """Parse a download and apply its row rules: raises ParseError unless it holds
        valid rows (and, for an expired VX contract, runs to the contract's expiry)."""
        batch = self.parse(item, data)
        frame = batch.frame
        if batch.series is MACRO_MONTHLY:  # dated by the lag rule, to check its rows
            frame = date_releases(frame, pl.DataFrame(schema=RELEASE_DATES.schema))
        good, _ = split_malformed(frame, batch.series, as_of=self.as_of)
        if good.is_empty():
            raise ParseError(item.location, f"no valid rows ({batch.rows_read} rows read)")
        observed = batch.series.observed
        last = good[observed].max() if observed else None
        assert last is None or isinstance(last, date)
        if item.immutable and "expiry" in good.columns:
            expiry = good["expiry"].max()
            if last is not None and isinstance(expiry, date) and last < expiry:
                raise ParseError(
                    item.location,
                    f"ends {last}, before the contract's expiry {expiry} (truncated)",
                )
        return Extent(good.height, last)


def check_spec(spec: str) -> None:
    """Raise ValueError (FileNotFoundError for a missing folder) for a ``--source`` that
    cannot work, before any flow starts."""
    if spec.startswith("dir:"):
        root = Path(spec[4:]).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"source folder {root} does not exist or is not a folder")
        return
    if spec in {"live", "synthetic"}:
        return
    if spec.startswith("synthetic:"):
        if not spec.split(":", 1)[1].isdigit():
            raise ValueError(f"synthetic:SEED takes a whole number, got {spec!r}")
        return
    raise ValueError(f"unknown source {spec!r}: expected dir:PATH, live or synthetic[:SEED]")


def make_source(
    spec: str, *, as_of: date, cache: Path, seed: int, start: date, end: date, force: bool = False
) -> Source:
    """A source from its ``--source`` spelling: ``dir:PATH``, ``live`` or ``synthetic[:SEED]``.
    ``force``: accept live downloads shorter than their cached copies."""
    check_spec(spec)
    if spec.startswith("dir:"):
        return DirSource(Path(spec[4:]).expanduser())
    if spec == "live":
        http = Http(
            cache=cache / "live",
            retries=settings.http_retries(),
            backoff=settings.http_backoff(),
            deadline=settings.http_deadline(),
            force=force,
        )
        return LiveSource(as_of=as_of, http=http)
    if spec == "synthetic" or spec.startswith("synthetic:"):
        seed = int(spec.split(":", 1)[1]) if ":" in spec else seed
        return SyntheticSource(seed=seed, start=start, end=end)
    raise AssertionError(spec)  # check_spec refused it


def trading_calendar(start: date, end: date) -> pl.DataFrame:
    """Every weekday in [start, end] with NYSE (XNYS) and CFE (XCBF) session flags."""
    import exchange_calendars as xc

    days = [d for d in pl.date_range(start, end, eager=True).to_list() if d.weekday() < 5]
    flags = {}
    for name in ("XNYS", "XCBF"):
        cal = xc.get_calendar(name, start=start.isoformat(), end=end.isoformat())
        flags[name] = {d.date() for d in cal.sessions}
    return pl.DataFrame(
        {
            "date": days,
            "nyse_open": [d in flags["XNYS"] for d in days],
            "cfe_open": [d in flags["XCBF"] for d in days],
        },
        schema=TRADING_CALENDAR.schema,
    )
