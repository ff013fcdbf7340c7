"""The Federal Reserve's FOMC calendar page (``/monetarypolicy/fomccalendars.htm``).

The page lists, under a heading ``<YEAR> FOMC Meetings`` per year (the last five years
and the next), one ``fomc-meeting`` row per meeting: a month cell (``January``,
``Apr/May``) and a day cell (``28-29``; ``*`` marks a meeting with a Summary of Economic
Projections; ``(unscheduled)`` or ``(notation vote)`` mark the others). The statement is
released on a meeting's last day, which is the row's ``date``. ``press_conference`` is
true where the row links one (held meetings) and unknown (null) otherwise: the page
does not announce future press conferences.
"""

from __future__ import annotations

import html
import re
from datetime import date

import polars as pl

from transforms.columns import FOMC_MEETINGS, LINE, LOCATION, RAW
from transforms.parse.common import ParsedBatch, ParseError, as_rejects, conform, decode

_YEAR = re.compile(r">\s*(\d{4})\s+FOMC\s+Meetings\s*<", re.I)
_ROW = re.compile(r"<div[^>]*class=\"[^\"]*\bfomc-meeting\b[^\"]*\"", re.I)
_CELL = r"<div[^>]*class=\"[^\"]*\bfomc-meeting__{}\b[^\"]*\"[^>]*>(.*?)</div>"
_MONTH_CELL = re.compile(_CELL.format("month"), re.I | re.S)
_DAYS_CELL = re.compile(_CELL.format("date"), re.I | re.S)
_DAYS = re.compile(r"^(\d{1,2})(?:\s*[-\u2013]\s*(\d{1,2}))?")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}

ANNOUNCEMENT = "FOMC announcement"
UNSCHEDULED = "Unscheduled meeting"
NOTATION_VOTE = "Notation vote"


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _meeting(year: int, row: str) -> dict[str, object]:
    """One row's fields, or ``reason`` naming why it is not a meeting date."""
    month_cell, days_cell = _MONTH_CELL.search(row), _DAYS_CELL.search(row)
    if month_cell is None or days_cell is None:
        return {"reason": "a meeting row without its month or day cell"}
    month_text, days_text = _text(month_cell.group(1)), _text(days_cell.group(1))
    month = _MONTHS.get(month_text.split("/")[-1].strip()[:3].lower())
    days = _DAYS.match(days_text)
    if month is None or days is None:
        return {"reason": f"unreadable meeting date {month_text!r} {days_text!r}"}
    try:
        day = date(year, month, int(days.group(2) or days.group(1)))
    except ValueError:
        return {"reason": f"no such day: {month_text} {days_text} {year}"}
    flags = days_text.lower()
    kind = (
        UNSCHEDULED
        if "unscheduled" in flags
        else NOTATION_VOTE
        if "notation" in flags
        else ANNOUNCEMENT
    )
    return {
        "date": day,
        "scheduled": kind == ANNOUNCEMENT,
        "press_conference": True if "press conference" in _text(row).lower() else None,
        "sep": "*" in days_text,
        "event_type": kind,
    }


def parse_calendar(data: bytes, *, location: str) -> ParsedBatch:
    """The meetings of every year on the page; a row that cannot be dated is rejected."""
    text = decode(data, location=location, markup=True)
    years = list(_YEAR.finditer(text))
    rows: list[dict[str, object]] = []
    for k, heading in enumerate(years):
        end = years[k + 1].start() if k + 1 < len(years) else len(text)
        starts = [m.start() for m in _ROW.finditer(text, heading.end(), end)]
        for i, start in enumerate(starts):
            row = text[start : starts[i + 1] if i + 1 < len(starts) else end]
            rows.append(
                {
                    **_meeting(int(heading.group(1)), row),
                    LINE: text.count("\n", 0, start) + 1,
                    RAW: _text(row)[:200],
                    LOCATION: location,
                }
            )
    if not rows:
        raise ParseError(
            location,
            "no FOMC meeting found: not the Federal Reserve's calendar page "
            "('<YEAR> FOMC Meetings' headings over 'fomc-meeting' rows)",
        )
    schema = {
        **FOMC_MEETINGS.schema,
        "reason": pl.String(),
        LINE: pl.Int64(),
        RAW: pl.String(),
        LOCATION: pl.String(),
    }
    frame = pl.DataFrame(rows, schema=schema)
    bad = pl.col("reason").is_not_null()
    return ParsedBatch(
        FOMC_MEETINGS,
        location,
        conform(frame.filter(~bad), FOMC_MEETINGS),
        as_rejects(frame.filter(bad), pl.col("reason")),
        frame.height,
    )
