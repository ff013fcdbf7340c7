"""Row rules applied at ingest: which parsed rows are malformed, and which copy wins.

A malformed row goes to quarantine with its reason; the rest of its file loads. The
rules here are about single rows or a row and its immediate neighbours; the data
contracts over whole tables are the Great Expectations suites in ``expectations/``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.columns import LINE, LOCATION, RAW, VX_FUTURES, Series
from transforms.parse.common import REJECT_SCHEMA, ParsedBatch, as_rejects, join_reasons


@dataclass(frozen=True)
class SpikeRule:
    """A VX settle "far outside its contract's neighbours" (a bad exchange print).

    A settle is a spike when it differs from both the previous and the next settle of
    the same contract by more than a factor ``jump`` while those two neighbours are
    within a factor ``calm`` of each other. Defaults catch 1.00 among ~22 and 18.14
    among ~35 (2008 prints), and no real move in 2004-2026 (2018-02-05 and 2020-03
    moves persisted, so their neighbours disagree).
    """

    jump: float = 1.6
    calm: float = 1.25


@dataclass(frozen=True)
class RowRules:
    spike: SpikeRule = SpikeRule()


def _positive_prices(series: Series) -> list[pl.Expr]:
    return [
        pl.when(pl.col(c) <= 0).then(pl.format(f"non-positive {c}: {{}}", pl.col(c)))
        for c in series.prices
    ]


def _finite(series: Series) -> list[pl.Expr]:
    return [
        pl.when(~pl.col(c).is_finite()).then(pl.format(f"non-finite {c}: {{}}", pl.col(c)))
        for c, t in series.schema.items()
        if t == pl.Float64()
    ]


def _counts(series: Series) -> list[pl.Expr]:
    return [
        pl.when(pl.col(c) < 0).then(pl.format(f"negative {c}: {{}}", pl.col(c)))
        for c in series.counts
    ]


def _since(series: Series) -> list[pl.Expr]:
    first = next(c for c in series.key if series.schema[c] == pl.Date())
    return [
        pl.when(pl.col(first) < series.since).then(
            pl.format(
                f"{first} {{}} before the series' earliest plausible date {series.since}",
                pl.col(first),
            )
        )
    ]


def _required(series: Series) -> list[pl.Expr]:
    return [pl.when(pl.col(c).is_null()).then(pl.lit(f"missing {c}")) for c in series.required]


def _ohlc(series: Series) -> list[pl.Expr]:
    if not series.ohlc:
        return []
    return [
        pl.when(pl.col("high") < pl.col("low")).then(
            pl.format("high {} below low {}", pl.col("high"), pl.col("low"))
        )
    ]


def _vx_spike(rule: SpikeRule) -> pl.Expr:
    by = ["contract"]
    prev = pl.col("settle").shift(1).over(by, order_by="trade_date")
    nxt = pl.col("settle").shift(-1).over(by, order_by="trade_date")
    jump, calm = math.log(rule.jump), math.log(rule.calm)
    s = pl.col("settle")
    spike = (
        ((s / prev).log().abs() > jump)
        & ((s / nxt).log().abs() > jump)
        & ((prev / nxt).log().abs() < calm)
        & ~pl.col("suspect_settle").fill_null(False)
    )
    return pl.when(spike).then(
        pl.format("settle {} far outside its neighbours {} and {}", s, prev, nxt)
    )


def _not_after(series: Series, as_of: date | None) -> list[pl.Expr]:
    if series.observed is None or as_of is None:
        return []
    return [
        pl.when(pl.col(series.observed) > as_of).then(
            pl.format(
                f"date after the run's as-of date {as_of}: {series.observed} {{}}",
                pl.col(series.observed),
            )
        )
    ]


def split_malformed(
    frame: pl.DataFrame,
    series: Series,
    *,
    as_of: date | None = None,
    rules: RowRules = RowRules(),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, rejects) of a parsed frame of ``series``.

    Rules: required fields present; float fields finite; prices strictly positive;
    counts not negative; high not below low; no row dated before the series'
    ``since`` nor an observation after ``as_of`` (the run's as-of date); no key repeated with
    conflicting values inside one file (every conflicting copy is rejected; exact
    repeats collapse to one row); for VX, no settle spike.
    Rows flagged ``suspect_settle`` by the data are kept, flagged.
    """
    checks = [
        *_required(series),
        *_finite(series),
        *_positive_prices(series),
        *_counts(series),
        *_ohlc(series),
        *_since(series),
        *_not_after(series, as_of),
    ]
    if series is VX_FUTURES:
        checks.append(_vx_spike(rules.spike))
    key = list(series.key)
    with_reason = frame.with_columns(join_reasons(checks).alias("_reason"))
    # Exact repeats inside one file collapse to their first line.
    deduped = with_reason.unique(
        subset=[*series.columns, LOCATION], keep="first", maintain_order=True
    )
    groups = [*key, LOCATION]
    conflicts = (
        deduped.group_by(groups)
        .agg(
            pl.col(LINE).sort().cast(pl.String).str.join(", ").alias("_lines"), pl.len().alias("_n")
        )
        .filter(pl.col("_n") > 1)
    )
    flagged = deduped.join(conflicts, on=groups, how="left").with_columns(
        join_reasons(
            [
                pl.col("_reason"),
                pl.when(pl.col("_n").is_not_null()).then(
                    pl.format("duplicate key with conflicting values (lines {})", pl.col("_lines"))
                ),
            ]
        ).alias("_reason")
    )
    bad = pl.col("_reason").is_not_null()
    rejects = as_rejects(flagged.filter(bad), pl.col("_reason"))
    good = flagged.filter(~bad).drop("_reason", "_lines", "_n")
    return good, rejects


def resolve_precedence(frames: Sequence[pl.DataFrame], series: Series) -> pl.DataFrame:
    """One row per key from batches in precedence order (first wins), provenance kept."""
    if not frames:
        return pl.DataFrame(
            schema={**series.schema, LINE: pl.Int64(), RAW: pl.String(), LOCATION: pl.String()}
        )
    stacked = pl.concat(
        [f.with_columns(pl.lit(i, dtype=pl.Int32).alias("_rank")) for i, f in enumerate(frames)],
        how="vertical",
    )
    return (
        stacked.sort("_rank", LINE)
        .unique(subset=list(series.key), keep="first", maintain_order=True)
        .drop("_rank")
        .sort(list(series.key))
    )


def disagreeing_copies(
    frames: Sequence[pl.DataFrame], ranks: Sequence[int], series: Series
) -> list[str]:
    """One line per pair of files of equal precedence ``ranks`` that give a key of
    ``series`` different values (precedence settles only curated against publishers'
    files: two copies of one kind that disagree are ambiguous)."""
    if len(frames) < 2:
        return []
    key = list(series.key)
    stacked = pl.concat(
        [
            f.with_columns(pl.lit(r, dtype=pl.Int32).alias("_rank"))
            for f, r in zip(frames, ranks, strict=True)
        ]
    )
    versions = stacked.unique(subset=[*series.columns, "_rank"], keep="first", maintain_order=True)
    clashes = (
        versions.group_by([*key, "_rank"], maintain_order=True)
        .agg(pl.col(LOCATION), pl.col(LINE))
        .filter(pl.col(LOCATION).list.len() > 1)
    )
    lines = []
    by_pair = clashes.with_columns(
        pl.col(LOCATION).list.get(0).alias("_a"), pl.col(LOCATION).list.get(1).alias("_b")
    ).group_by("_a", "_b", maintain_order=True)
    for (a, b), group in by_pair:
        first = group.row(0, named=True)
        shown = " ".join(f"{c}={first[c]}" for c in key)
        lines.append(
            f"{group.height} keys differ between {a} and {b} (e.g. {shown}: line "
            f"{first[LINE][0]} against line {first[LINE][1]})"
        )
    return lines


def concat_rejects(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    return pl.concat(
        [f.select(pl.col(c).cast(t) for c, t in REJECT_SCHEMA.items()) for f in frames],
        how="vertical",
    )


@dataclass(frozen=True)
class HistoryGaps:
    """Stored keys a new input of a series lacks, compared along ``series.observed``
    within each group of the rest of the key (a VX contract, a macro series id); only
    groups the input covers are compared.

    ``inside``: stored rows dated inside the input's span that it lacks (a session a
    newer file dropped; the stored row is kept). ``after``: stored rows dated after the
    input's last observation (the input would shrink the stored history: a truncated
    download or an older file).
    """

    inside: pl.DataFrame
    after: pl.DataFrame

    @staticmethod
    def describe(frame: pl.DataFrame, *, shown: int = 3) -> str:
        """'N rows, e.g. k1, k2, k3' with the key values of the first rows."""
        examples = [" ".join(str(v) for v in row) for row in frame.head(shown).iter_rows()]
        more = ", ..." if frame.height > shown else ""
        rows = "1 row" if frame.height == 1 else f"{frame.height} rows"
        return f"{rows}, e.g. {', '.join(examples)}{more}"


def history_gaps(stored: pl.DataFrame, incoming: pl.DataFrame, series: Series) -> HistoryGaps:
    """What ``incoming`` (one row per key) lacks of ``stored`` (see :class:`HistoryGaps`)."""
    if series.observed is None:
        raise ValueError(f"{series.name} has no observation date to compare histories along")
    obs, keys = series.observed, list(series.key)
    groups = [k for k in keys if k != obs]
    span = incoming.group_by(groups or pl.lit(0).alias("_all")).agg(
        pl.col(obs).min().alias("_first"), pl.col(obs).max().alias("_last")
    )
    absent = stored.select(keys).unique().join(incoming.select(keys), on=keys, how="anti")
    joined = (
        absent.join(span, on=groups, how="inner")
        if groups
        else absent.join(span.drop("_all"), how="cross")
    ).sort(keys)
    inside = joined.filter(pl.col(obs).is_between(pl.col("_first"), pl.col("_last")))
    after = joined.filter(pl.col(obs) > pl.col("_last"))
    return HistoryGaps(inside=inside.select(keys), after=after.select(keys))


PRICE_TOLERANCE = 0.01
"""A decimal value (a price, a level, a rate) an input restates within this share of the
stored one (or within ``ROUNDING``) is a revision; beyond it the input conflicts with the
history. One per cent covers rounding and settlement methods (4-decimal settles from
2021), not a different print."""
COUNT_TOLERANCE = 0.05
"""The same for counts (volume, open interest, issues): preliminary and final figures
differ by up to about 0.5 % in the data (VXF26-VXH26 open interest on 2026-01-07)."""
ROUNDING = 0.005


@dataclass(frozen=True)
class Overlap:
    """Stored rows an input restates with other values: one row per changed value
    (``natural_key``, ``column_name``, ``stored_value``, ``new_value`` as text,
    ``stored_source``, ``location``, ``line``). ``revisions`` are within the column's
    tolerance (or fill or blank a value): kept, the stored value recorded; ``conflicts``
    are beyond it: the input is refused."""

    revisions: pl.DataFrame
    conflicts: pl.DataFrame

    def describe(self, frame: pl.DataFrame, *, shown: int = 3) -> str:
        """'key column stored -> new (file line N)' for the first rows."""
        return "; ".join(
            f"{r['natural_key']} {r['column_name']}: stored {r['stored_value']} "
            f"(from {r['stored_source']}), {r['location']} line {r['line']} says "
            f"{r['new_value']}"
            for r in frame.head(shown).iter_rows(named=True)
        ) + (f"; and {frame.height - shown} more" if frame.height > shown else "")


OVERLAP_SCHEMA = {
    "natural_key": pl.String(),
    "column_name": pl.String(),
    "stored_value": pl.String(),
    "new_value": pl.String(),
    "stored_source": pl.String(),
    "location": pl.String(),
    "line": pl.Int64(),
    "within": pl.Boolean(),
}


def overlap(stored: pl.DataFrame, incoming: pl.DataFrame, series: Series) -> Overlap:
    """Compare ``incoming`` (one row per key, with its file and line) with the ``stored``
    rows of the same keys, value by value (see :class:`Overlap`)."""
    key = list(series.key)
    values = [c for c in series.columns if c not in key]
    both = incoming.select(*key, *values, LOCATION, LINE).join(
        stored.select(*key, *values, pl.col("source").alias("_stored_source")),
        on=key,
        how="inner",
        suffix="_stored",
    )
    natural = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")
    parts = []
    for c in values:
        new, old = pl.col(c), pl.col(f"{c}_stored")
        kind = series.schema[c]
        if kind.is_float() or kind.is_integer():
            tolerance = COUNT_TOLERANCE if kind.is_integer() else PRICE_TOLERANCE
            gap = (new.cast(pl.Float64) - old.cast(pl.Float64)).abs()
            within = gap <= pl.max_horizontal(tolerance * old.cast(pl.Float64).abs(), ROUNDING)
        else:
            within = pl.lit(False)
        changed = both.filter(new.ne_missing(old))
        parts.append(
            changed.select(
                natural.alias("natural_key"),
                pl.lit(c).alias("column_name"),
                old.cast(pl.String).alias("stored_value"),
                new.cast(pl.String).alias("new_value"),
                pl.col("_stored_source").alias("stored_source"),
                pl.col(LOCATION).alias("location"),
                pl.col(LINE).cast(pl.Int64).alias("line"),
                (new.is_null() | old.is_null() | within).fill_null(False).alias("within"),
            )
        )
    rows = pl.concat(parts) if parts else pl.DataFrame(schema=OVERLAP_SCHEMA)
    rows = rows.sort("natural_key", "column_name")
    return Overlap(
        revisions=rows.filter(pl.col("within")).drop("within"),
        conflicts=rows.filter(~pl.col("within")).drop("within"),
    )


def keep_absent_columns(
    incoming: pl.DataFrame, stored: pl.DataFrame, series: Series
) -> pl.DataFrame:
    """``incoming`` with the values of columns it lacks entirely (null on every row: a
    publisher that does not carry them, such as FRED's closes-only SPX) taken from the
    stored rows of the same keys, so an input never blanks what another one stored."""
    key = list(series.key)
    absent = [
        c for c in series.columns if c not in key and incoming[c].null_count() == incoming.height
    ]
    if not absent or incoming.is_empty() or stored.is_empty():
        return incoming
    kept = stored.select(*key, *(pl.col(c).alias(f"{c}__stored") for c in absent))
    return (
        incoming.join(kept, on=key, how="left")
        .with_columns(pl.coalesce(c, f"{c}__stored").alias(c) for c in absent)
        .drop(f"{c}__stored" for c in absent)
    )


FOMC_HORIZON_DAYS = 90
"""The Fed publishes next year's meeting calendar months ahead; a stored calendar whose
last scheduled meeting is closer than this to the run's date is about to run out."""


def fomc_calendar_staleness(
    meetings: pl.DataFrame, *, as_of: date, horizon_days: int = FOMC_HORIZON_DAYS
) -> str | None:
    """A warning when the FOMC calendar (``date``, ``scheduled``) has no scheduled
    meeting after ``as_of`` (the FOMC rule would see none) or none beyond the horizon;
    None when it runs far enough ahead."""
    scheduled = meetings.filter(pl.col("scheduled").fill_null(False))
    last = scheduled["date"].max()
    if not isinstance(last, date):
        return "fomc_meetings: no scheduled FOMC meeting is stored: the FOMC rule is off"
    fix = (
        "ingest --source live (the Federal Reserve's calendar page) or an "
        "fomc_meetings.csv in a dir: source"
    )
    if last < as_of:
        return (
            f"fomc_meetings: the last scheduled meeting listed, {last}, is in the past "
            f"(as of {as_of}): the FOMC rule sees no meeting after it; {fix}"
        )
    if (last - as_of).days < horizon_days:
        return (
            f"fomc_meetings: the last scheduled meeting listed is {last}, "
            f"{(last - as_of).days} days after {as_of} (under {horizon_days}): {fix}"
        )
    return None


def fomc_unlisted(stored: pl.DataFrame, incoming: pl.DataFrame) -> list[date]:
    """Scheduled meetings stored for a year ``incoming`` lists meetings of, which it does
    not list: a calendar that moved a meeting leaves the old date stored (nothing stored
    is deleted), so the ingest names each one."""
    years = incoming.filter(pl.col("scheduled"))["date"].dt.year().unique()
    listed = incoming["date"]
    unlisted = stored.filter(
        pl.col("scheduled").fill_null(False)
        & pl.col("date").dt.year().is_in(years.implode())
        & ~pl.col("date").is_in(listed.implode())
    )
    return sorted(unlisted["date"].to_list())


def without_a_trade(
    keys: pl.DataFrame, stored: pl.DataFrame, series: Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Of stored ``keys`` (rows an input lacks), those of days without a trade (volume 0
    and no close: a contract that only settled, which some publishers omit), and the
    rest; all are the rest for a series without volume and close."""
    key = list(series.key)
    if not {"volume", "close"} <= set(series.schema):
        return keys.clear(), keys
    rows = keys.join(stored.select(*key, "volume", "close"), on=key, how="left")
    idle = (pl.col("volume").fill_null(0) == 0) & pl.col("close").is_null()
    return rows.filter(idle).select(key), rows.filter(~idle).select(key)


def unusable_files(
    batches: Sequence[ParsedBatch],
    goods: Sequence[pl.DataFrame],
    rejects: Sequence[pl.DataFrame],
    *,
    limit: float,
) -> list[str]:
    """One line per file that yields no valid row, or whose share of quarantined rows
    exceeds ``limit`` (``goods`` and ``rejects``: each batch's rows after the row rules),
    naming the file, the counts and its first rejected line."""
    problems = []
    for batch, good, bad in zip(batches, goods, rejects, strict=True):
        n_bad = bad.height
        share = n_bad / (good.height + n_bad) if n_bad else 0.0
        if good.height and share <= limit:
            continue
        example = ""
        if n_bad:
            line, reason = bad.sort("line").select("line", "reason").row(0)
            example = f"; e.g. line {line}: {reason}"
        what = (
            "no valid rows"
            if good.is_empty()
            else f"{share:.1%} of its rows quarantined (limit {limit:.0%}: "
            "ALVH_MAX_QUARANTINE_SHARE)"
        )
        problems.append(
            f"{batch.location}: {what} ({batch.rows_read} rows read, {n_bad} quarantined{example})"
        )
    return problems
