"""The deployments `alvh serve` serves, declared in one place next to the pipeline.

- ``pipeline/daily``: 18:30 America/New_York on NYSE sessions; ingest (live by default),
  signals, the saved books' backtests;
- ``pipeline/weekly-review``: 19:30 on the week's last session; the same, then the weekly
  sweep (``grids/weekly.toml``);
- ``sweep/ad-hoc``: no schedule; from the UI or ``prefect deployment run``.

Schedules come from the exchange calendar (XNYS), never from hard-coded dates: the daily
rule runs on weekdays except the NYSE holidays of the coming years, the weekly rule on
Fridays, moved to the week's last session where Friday is a holiday. They are rebuilt
each time `alvh serve` starts; beyond their horizon the flows' own calendar check
(``sessions_only``, ``week_end_only``) still ends a non-session run at once.

Concurrency: `alvh serve` runs one flow run at a time (the runner's limit), so no two
served runs write the warehouse together; a deployment whose previous run is still
running or queued when its next run is due cancels the new run (``CANCEL_NEW``) rather
than stacking it, and the next run catches up, since every ingest reads the whole
history and skips what is unchanged.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import RRuleSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.backtest import sweep_flow
from flows.pipeline import pipeline_flow
from flows.settings import EXCHANGE_TZ

DAILY_AT = time(18, 30)  # after the 16:00 close, once the publishers' day files are out
WEEKLY_AT = time(19, 30)  # after the daily run of the same evening
HORIZON_YEARS = 3
WEEKLY_GRID = Path(__file__).resolve().parents[1] / "grids" / "weekly.toml"


def _stamp(day: date, at: time) -> str:
    return datetime.combine(day, at).strftime("%Y%m%dT%H%M%S")


def _sessions(start: date, end: date) -> list[date]:
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS", start=start.isoformat(), end=end.isoformat())
    return [d.date() for d in cal.sessions]


def session_schedules(today: date) -> tuple[RRuleSchedule, RRuleSchedule]:
    """(daily, weekly) schedules from ``today`` over the coming years' NYSE calendar."""
    end = date(today.year + HORIZON_YEARS, 12, 31)
    sessions = set(_sessions(today, end))
    weekdays = [today + timedelta(days=i) for i in range((end - today).days + 1)]
    holidays = [d for d in weekdays if d.weekday() < 5 and d not in sessions]
    daily = [f"DTSTART:{_stamp(today, DAILY_AT)}", "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"]
    if holidays:
        daily.append("EXDATE:" + ",".join(_stamp(d, DAILY_AT) for d in holidays))
    closed_fridays = [d for d in holidays if d.weekday() == 4]
    week_ends = [  # the last session before each closed Friday, in the same week
        max(s for s in sessions if s.isocalendar()[:2] == f.isocalendar()[:2] and s < f)
        for f in closed_fridays
        if any(s.isocalendar()[:2] == f.isocalendar()[:2] for s in sessions)
    ]
    weekly = [f"DTSTART:{_stamp(today, WEEKLY_AT)}", "RRULE:FREQ=WEEKLY;BYDAY=FR"]
    if closed_fridays:
        weekly.append("EXDATE:" + ",".join(_stamp(d, WEEKLY_AT) for d in closed_fridays))
    if week_ends:
        weekly.append("RDATE:" + ",".join(_stamp(d, WEEKLY_AT) for d in week_ends))
    zone = str(EXCHANGE_TZ)
    return (
        RRuleSchedule(rrule="\n".join(daily), timezone=zone),
        RRuleSchedule(rrule="\n".join(weekly), timezone=zone),
    )


def deployments(*, source: str, db: Path | None, today: date) -> list[RunnerDeployment]:
    """The three deployments, their pipeline runs reading ``source`` into ``db``."""
    daily, weekly = session_schedules(today)
    one_at_a_time = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    common: dict[str, Any] = {"source": source, **({"db": str(db)} if db else {})}
    return [
        pipeline_flow.to_deployment(
            "daily",
            schedule=daily,
            parameters={"params": {**common, "sessions_only": True}},
            concurrency_limit=one_at_a_time,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="After the US close on NYSE sessions: ingest, signals, backtests.",
        ),
        pipeline_flow.to_deployment(
            "weekly-review",
            schedule=weekly,
            parameters={
                "params": {**common, "week_end_only": True, "sweep_grid": str(WEEKLY_GRID)}
            },
            concurrency_limit=one_at_a_time,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="After the week's last session: the daily steps and the weekly sweep.",
        ),
        sweep_flow.to_deployment(
            "ad-hoc",
            parameters={"request": {**({"db": str(db)} if db else {})}},
            concurrency_limit=one_at_a_time,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="A sweep on demand: request.values (fixed parameters) and "
            'request.dimensions ({"hedge_ratio": "0:0.4:0.1", "r2_band": ["0.45-0.65"]}).',
        ),
    ]
