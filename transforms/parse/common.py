"""Shared machinery of the parsers: bytes -> all-string frame -> typed frame + rejects.

A parser never drops a bad row silently: a row that cannot be typed goes to the
rejects frame with its line number (1 = header line), its raw text and the rule it
broke. A file that cannot be read at all raises :class:`ParseError` naming the file.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from transforms.columns import LINE, LOCATION, RAW, Series
from transforms.limits import INPUT_LIMITS, LIMIT_SETTING

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "location": pl.String(),
    "line": pl.Int64(),
    "raw": pl.String(),
    "reason": pl.String(),
}


def _too_big(size: str) -> str:
    mb = INPUT_LIMITS.max_bytes / 2**20
    return f"{size}, over the {mb:g} MB limit of one input file ({LIMIT_SETTING} raises it)"


def check_size(location: str, size: int) -> None:
    """Raise ParseError for an input of ``size`` bytes beyond :data:`INPUT_LIMITS`."""
    if size > INPUT_LIMITS.max_bytes:
        raise ParseError(location, _too_big(f"{size:,} bytes"))


def _gunzip(data: bytes, location: str) -> bytes:
    """Every gzip member of ``data``, refused once it decompresses beyond the limit."""
    out = bytearray()
    rest = data
    while rest:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflate.decompress(rest, INPUT_LIMITS.max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise ParseError(location, f"corrupt or truncated gzip data ({exc})") from exc
        if len(out) > INPUT_LIMITS.max_bytes:
            raise ParseError(location, _too_big("it decompresses to more"))
        if not inflate.eof:
            raise ParseError(location, "corrupt or truncated gzip data (it ends mid-stream)")
        rest = inflate.unused_data
    return bytes(out)


class ParseError(ValueError):
    """The whole file is unreadable; nothing of it may be loaded."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


@dataclass(frozen=True)
class ParsedBatch:
    """Rows of one file typed to ``series.schema`` (plus provenance), and its rejects."""

    series: Series
    location: str
    frame: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    rows_skipped: int = 0


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def decode(data: bytes, *, location: str, markup: bool = False) -> str:
    """Bytes of a CSV file (gzip-compressed or not; ``markup``: an HTML page) as text."""
    check_size(location, len(data))
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, location)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(
            location,
            f"line {line}: not UTF-8 text (byte {data[exc.start : exc.start + 1]!r} cannot "
            "be decoded; save the file as UTF-8)",
        ) from exc
    if not text.strip():
        raise ParseError(location, "file is empty")
    head = text.lstrip()[:200].lower()
    if not markup and head.startswith(("<!doctype", "<html", "<?xml", "{")):
        raise ParseError(location, f"not a CSV file: starts with {text.strip()[:60]!r}")
    return text


def header_of(text: str) -> list[str]:
    first = text.split("\n", 1)[0].strip().rstrip("\r")
    return [c.strip() for c in first.split(",")]


def _ragged_line(text: str, fields: int) -> str:
    """``: line N has M fields, the header K`` for the first row of another width."""
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if row and len(row) != fields:
            return f": line {number} has {len(row)} fields, the header {fields}"
    return ""


def read_table(text: str, *, location: str, header: Sequence[str]) -> pl.DataFrame:
    """All-string frame of a CSV with exactly ``header``; adds line, raw text, location."""
    found = header_of(text)
    if found != list(header):
        raise ParseError(
            location,
            f"unexpected header: expected {','.join(header)!r}, found {','.join(found)[:120]!r}",
        )
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            infer_schema=False,
            truncate_ragged_lines=False,
            comment_prefix=None,
        )
    except pl.exceptions.PolarsError as exc:
        where = _ragged_line(text, len(header))
        raise ParseError(location, f"malformed CSV{where} ({str(exc).splitlines()[0]})") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return frame.with_columns(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(LINE),
        pl.concat_str([pl.col(c).fill_null("") for c in header], separator=",").alias(RAW),
        pl.lit(location, dtype=pl.String).alias(LOCATION),
    )


# How a raw string column becomes a typed one: a dtype, or a date format.
Cast = pl.DataType | str


def _typed(col: str, cast: Cast) -> pl.Expr:
    raw = pl.col(col).str.strip_chars()
    if isinstance(cast, str):
        return raw.str.strptime(pl.Date, cast, strict=False)
    if cast == pl.Boolean():
        low = raw.str.to_lowercase()
        return (
            pl.when(low.is_in(["true", "1", "yes"]))
            .then(True)
            .when(low.is_in(["false", "0", "no"]))
            .then(False)
            .otherwise(None)
        )
    if cast in (pl.Int64(), pl.Int32()):
        # Integers are sometimes written "12.0"; accept only whole values.
        as_float = raw.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.round(0)).then(as_float).cast(cast, strict=False)
    return raw.cast(cast, strict=False)


def join_reasons(reasons: Sequence[pl.Expr]) -> pl.Expr:
    """The reasons that apply to a row, joined by "; " (null when none applies)."""
    if not reasons:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def typed_rows(
    frame: pl.DataFrame, casts: Mapping[str, tuple[str, Cast]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast string columns; a non-empty field that does not cast rejects its row.

    ``casts`` maps output column -> (input column, dtype or date format). Returns the
    typed frame (output columns plus provenance) and the rejects.
    """
    out = []
    problems = []
    for name, (src, cast) in casts.items():
        value = _typed(src, cast).alias(name)
        out.append(value)
        raw = pl.col(src).str.strip_chars()
        bad = raw.is_not_null() & (raw != "") & value.is_null()
        kind = "date" if isinstance(cast, str) else str(cast).lower()
        problems.append(
            pl.when(bad).then(pl.format(f"unparseable {kind} in column '{src}': '{{}}'", raw))
        )
    typed = frame.with_columns(join_reasons(problems).alias("_reason")).select(
        *out, LINE, RAW, LOCATION, "_reason"
    )
    bad_rows = typed.filter(pl.col("_reason").is_not_null())
    good = typed.filter(pl.col("_reason").is_null()).drop("_reason")
    return good, as_rejects(bad_rows, pl.col("_reason"))


def as_rejects(frame: pl.DataFrame, reason: pl.Expr) -> pl.DataFrame:
    """Rows of a parsed frame in the reject schema, with ``reason``."""
    return frame.select(
        pl.col(LOCATION).alias("location"),
        pl.col(LINE).cast(pl.Int64).alias("line"),
        pl.col(RAW).alias("raw"),
        reason.cast(pl.String).alias("reason"),
    )


def generated(frame: pl.DataFrame, *, location: str) -> pl.DataFrame:
    """Provenance for a frame that was computed, not read: lines 1.., no raw text."""
    return frame.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE),
        pl.lit("").alias(RAW),
        pl.lit(location).alias(LOCATION),
    )


def conform(frame: pl.DataFrame, series: Series) -> pl.DataFrame:
    """Columns of ``series`` in order (missing ones null) plus provenance columns."""
    exprs = [
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in series.schema.items()
    ]
    return frame.select(*exprs, LINE, RAW, LOCATION)
