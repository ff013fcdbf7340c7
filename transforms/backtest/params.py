"""Backtest parameters: one flat, frozen record, every field a default and a sweep dimension.

Defaults are the methodology's (``../shared/docs/methodology.md`` sections 1-3) except
where a field's comment says otherwise. Units: money in dollars, SPX and VX prices in
index points, deltas unsigned, vega in dollars per vol (SPX) or VIX point.

Fields fall in two kinds (:data:`PATH_FIELDS`): those that change the condor path or the
calendar of the run (the vectorised engine groups configurations by them and simulates
the condor once per group), and the rest, which vary freely across configurations.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import operator
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import partial
from typing import Annotated, Any, get_type_hints

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from transforms.backtest import DEFAULT_BANDS, DEFAULT_HEDGE_RATIOS
from transforms.calibration import FITTED
from transforms.options.smile import SmileParams


@dataclass(frozen=True)
class Domain:
    """The values a numeric parameter may take: finite, within [low, high] (an end is
    open where its flag says so)."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        return (
            f"{'(' if self.low_open else '['}{self.low:g}, "
            f"{self.high:g}{')' if self.high_open else ']'}"
        )


def _closed(low: float, high: float) -> Domain:
    return Domain(low, high)


def _positive(high: float) -> Domain:
    return Domain(0.0, high, low_open=True)


SHARE = _closed(0, 1)
MONEY = _closed(0, 1_000)  # a commission or fee per contract, dollars
POINTS = _closed(0, 100)  # a half-spread, offset or width in index or VIX points
SCALE = _closed(0, 10)  # a multiplier, a ratio or a scaler's extra


@dataclass(frozen=True, slots=True)
class BacktestParams:
    """Every parameter of a book (what each means, its unit and the methodology section
    it implements: :data:`DOCS`; the values it may take: :data:`DOMAINS`)."""

    # --- the run
    start_date: date = date(2004, 3, 26)
    end_date: date | None = None
    initial_equity: float = 1_000_000.0
    # --- equity sleeve
    equity_weight: float = 1.0
    div_yield: float = 0.018
    # --- core: SPX iron condor
    lots: int = 50
    margin_target: float = 0.10
    target_dte: int = 45
    max_open: int = 1
    short_delta: float = 0.15
    wing_width: float = 50.0
    wing_delta: float = 0.0
    wing_pct: float = 0.08
    profit_take: float = 0.5
    stop_multiple: float = 2.0
    exit_dte: int = 21
    hold_to_expiry: bool = False
    spx_commission: float = 1.50
    spx_spread_model: bool = True
    spx_half_spread: float = 0.10
    spx_spread_scale: float = 1.0
    spx_fill: float = 1.0
    strike_grid: float = 5.0
    smile_atm_ratio: float = FITTED.smile_atm_ratio
    smile_put_skew: float = FITTED.smile_put_skew
    smile_call_skew: float = FITTED.smile_call_skew
    fomc_rule: bool = True
    # --- second engine: sizing
    hedge_ratio: float = 0.20
    hedge_on_equity: bool = False
    futures_share: float = 0.5
    # --- futures ladder
    ladder_w2: float = 0.4
    ladder_w3: float = 0.4
    ladder_w4: float = 0.2
    roll_days: int = 5
    contango_guard_pct: float = 0.0
    vx_commission: float = 2.0
    vx_half_spread: float = 0.025
    vx_margin: float = 8_000.0
    beta_window: int = 60
    beta_fallback: float = 0.6
    # --- VIX calls (front-month series held to expiry)
    call_delta: float = 0.30
    call_otm_points: float = 0.0
    call_spread_width: float = 0.0
    vol_of_vol: float = 0.90
    vix_call_skew: float = FITTED.vix_call_skew
    call_commission: float = 1.0
    call_half_spread: float = 0.05
    call_delta_floor: float = 0.15
    # --- adaptive scalers
    breadth_scale: float = 0.20
    rsi_threshold: float = 30.0
    rsi_extra_calls: float = 0.5
    cpi_z_threshold: float = 2.0
    cpi_call_scale: float = 0.25
    # --- the R-squared controller
    controller: bool = True
    controller_halflife: float = 0.0
    r2_window: int = 60
    band_low: float = 0.45
    band_high: float = 0.65
    h_step: float = 0.02
    h_min: float = 0.0
    h_max: float = 0.40
    # --- liquidity reserve
    reserve: float = 0.20
    reserve_counts_margin: bool = True

    def __post_init__(self) -> None:
        _refuse([*_outside({name: getattr(self, name) for name in DOMAINS}), *self._conflicts()])

    def _conflicts(self) -> list[str]:
        """What the values of several fields break together."""
        problems = []
        if self.end_date is not None and self.end_date <= self.start_date:
            problems.append(f"end_date {self.end_date} is not after start_date {self.start_date}")
        if not self.h_min <= self.h_max:
            problems.append(f"need h_min <= h_max, got {self.h_min}, {self.h_max}")
        if not self.band_low <= self.band_high:
            problems.append(f"R-squared band {self.band_low}-{self.band_high}: need low <= high")
        if self.exit_dte >= self.target_dte:
            problems.append(f"exit_dte {self.exit_dte} >= target_dte {self.target_dte}")
        if self.wing_pct > 0 and self.wing_delta > 0:
            problems.append("choose one of wing_pct and wing_delta (set the other to 0)")
        return problems

    @property
    def smile(self) -> SmileParams:
        return SmileParams(
            atm_ratio=self.smile_atm_ratio,
            put_skew=self.smile_put_skew,
            call_skew=self.smile_call_skew,
        )

    @property
    def ladder(self) -> tuple[float, float, float]:
        return (self.ladder_w2, self.ladder_w3, self.ladder_w4)


DOMAINS: dict[str, Domain] = {
    "initial_equity": _positive(1e12),
    "equity_weight": SCALE,
    "div_yield": _closed(0, 0.2),
    "lots": _closed(0, 100_000),
    "margin_target": SHARE,
    "target_dte": _closed(1, 365),
    "max_open": _closed(0, 100),
    "short_delta": Domain(0, 0.5, low_open=True, high_open=True),
    "wing_width": _positive(5_000),
    "wing_delta": Domain(0, 0.5, high_open=True),
    "wing_pct": _closed(0, 0.5),
    "profit_take": SHARE,
    "stop_multiple": POINTS,
    "exit_dte": _closed(0, 365),
    "spx_commission": MONEY,
    "spx_half_spread": POINTS,
    "spx_spread_scale": POINTS,
    "spx_fill": SHARE,
    "strike_grid": _positive(1_000),
    "smile_atm_ratio": _positive(5),
    "smile_put_skew": _closed(-50, 50),
    "smile_call_skew": _closed(-50, 50),
    "hedge_ratio": SCALE,
    "futures_share": SHARE,
    "ladder_w2": SHARE,
    "ladder_w3": SHARE,
    "ladder_w4": SHARE,
    "roll_days": _closed(0, 30),
    "contango_guard_pct": POINTS,  # percent
    "vx_commission": MONEY,
    "vx_half_spread": POINTS,
    "vx_margin": _positive(1_000_000),
    "beta_window": _closed(2, 2_520),
    "beta_fallback": SCALE,
    "call_delta": Domain(0, 1, low_open=True, high_open=True),
    "call_otm_points": POINTS,
    "call_spread_width": POINTS,
    "vol_of_vol": _positive(10),
    "vix_call_skew": _closed(-50, 50),
    "call_commission": MONEY,
    "call_half_spread": POINTS,
    "call_delta_floor": Domain(0, 1, low_open=True, high_open=True),
    "breadth_scale": SCALE,
    "rsi_threshold": POINTS,
    "rsi_extra_calls": SCALE,
    "cpi_z_threshold": _closed(0, 20),
    "cpi_call_scale": SCALE,
    "controller_halflife": _closed(0, 2_520),
    "r2_window": _closed(3, 2_520),
    "band_low": SHARE,
    "band_high": SHARE,
    "h_step": SHARE,
    "h_min": SCALE,
    "h_max": SCALE,
    "reserve": Domain(0, 1, high_open=True),
}
"""The domain of every numeric parameter (dates and switches are typed only): a value
outside it is refused by :class:`BacktestParams`, naming the parameter, the value and
the domain, before it reaches an engine, a result or the trial registry."""


@dataclass(frozen=True)
class Doc:
    """What a parameter means, in which unit, and the section of
    ``../shared/docs/methodology.md`` it implements ("-" where none does)."""

    unit: str
    section: str
    meaning: str


def _docs(section: str, **entries: tuple[str, str]) -> dict[str, Doc]:
    return {name: Doc(unit, section, meaning) for name, (unit, meaning) in entries.items()}


DOCS: dict[str, Doc] = {
    **_docs(
        "1 the book",
        start_date=("date", "first session of the run (the first VX settlement in the data)"),
        end_date=("date", "last session; none: the last day with SPX, VIX and VX data"),
        initial_equity=("dollars", "the account's starting equity"),
        equity_weight=(
            "multiplier",
            "long SPX exposure as a share of equity (close to close plus the dividend "
            "accrual); 0: a pure options book",
        ),
        div_yield=("fraction a year", "SPX dividend yield, also the Black-Scholes q"),
    ),
    **_docs(
        "2 core: size",
        lots=("lots", "fixed condor lots, used when margin_target is 0 (the seeds' 50)"),
        margin_target=(
            "fraction",
            "> 0: lots at entry = this share of the condor's capital (the book's equity "
            "without its second engine) committed as margin; 0.10 chosen on 2004-2011 only",
        ),
    ),
    **_docs(
        "2 core: entry and strikes",
        target_dte=("calendar days", "days to expiry of a new condor"),
        max_open=("condors", "condors open at once (one new each week at most)"),
        short_delta=("|delta|", "short put and short call strikes"),
        wing_width=("index points", "fixed wing width, when wing_pct and wing_delta are 0"),
        wing_delta=("|delta|", "> 0: long wings at this delta instead of a fixed width"),
        wing_pct=(
            "fraction of spot",
            "> 0: long wings this far from spot (0.04 = 4 %); 0.08 chosen on 2004-2011 only",
        ),
        strike_grid=("index points", "the listed strikes' step"),
    ),
    **_docs(
        "2 core: exits",
        profit_take=("fraction of credit", "close when this share of the credit is earned"),
        stop_multiple=("multiple of credit", "close when the loss reaches this multiple"),
        exit_dte=("calendar days", "close at this many days to expiry"),
        hold_to_expiry=("switch", "no profit take, stop or time exit"),
    ),
    **_docs(
        "2 core: costs",
        spx_commission=("dollars per contract", "commission and fees per option contract"),
        spx_spread_model=(
            "switch",
            "half-spread per leg from the chain fit (transforms/options/costs.py)",
        ),
        spx_half_spread=(
            "index points per leg",
            "flat half-spread when spx_spread_model is off",
        ),
        spx_spread_scale=("multiplier", "scales the half-spread in force (a cost stress)"),
        spx_fill=(
            "share of the half-spread",
            "what a fill pays of the scaled half-spread: 1 crosses, below 1 works the order",
        ),
    ),
    **_docs(
        "2 core: pricing",
        smile_atm_ratio=("vol / VIX", "ATM vol = this x VIX (fitted: transforms/calibration.py)"),
        smile_put_skew=("per log-moneyness", "vol added below the forward (fitted)"),
        smile_call_skew=("per log-moneyness", "vol added above the forward (fitted)"),
    ),
    **_docs(
        "3 second engine: sizing",
        hedge_ratio=(
            "multiplier",
            "hedge vega = this x |condor vega| (or per $100k of equity: hedge_on_equity)",
        ),
        hedge_on_equity=(
            "switch",
            "size the hedge to the portfolio: hedge vega = hedge_ratio x $1,000 per VIX point "
            "per $100k of equity (a VX ladder per $ of equity), not to the condor's vega",
        ),
        futures_share=("fraction", "share of hedge vega in futures, the rest in calls"),
    ),
    **_docs(
        "3 second engine: futures ladder",
        ladder_w2=("fraction", "weight of month 2 (months counted past roll_days)"),
        ladder_w3=("fraction", "weight of month 3"),
        ladder_w4=("fraction", "weight of month 4"),
        roll_days=("sessions", "roll a contract this many sessions before its expiry"),
        contango_guard_pct=(
            "percent",
            "> 0: an M1-M2 contango above this shifts the ladder one month out",
        ),
        vx_commission=("dollars per contract", "per futures trade"),
        vx_half_spread=("VIX points per contract", "per futures trade"),
        vx_margin=("dollars per contract", "futures margin"),
        beta_window=("sessions", "VX-vs-VIX changes behind each month's term beta"),
        beta_fallback=("beta", "term beta before a full window exists"),
    ),
    **_docs(
        "3 second engine: VIX calls",
        call_delta=("delta", "calls bought at this delta (front month, held to expiry)"),
        call_otm_points=("VIX points", "> 0: strike = future + this, not by delta"),
        call_spread_width=("VIX points", "> 0: a debit spread, short call this much higher"),
        vol_of_vol=("vol", "VIX option vol where VVIX has no print"),
        vix_call_skew=(
            "per log-moneyness",
            "vol(K) = base x max(1 + skew ln(K/F), 0.5) (fitted)",
        ),
        call_commission=("dollars per contract", "per option trade"),
        call_half_spread=("VIX points per contract", "per option trade"),
        call_delta_floor=(
            "delta",
            "sizing never divides by a smaller delta (a call decayed to 0.05 would "
            "otherwise be bought up six-fold)",
        ),
    ),
    **_docs(
        "3 second engine: adaptive scalers",
        breadth_scale=("fraction", "breadth divergence: the whole second engine x (1 + this)"),
        rsi_threshold=("RSI points", "VIX RSI(14) below this adds calls"),
        rsi_extra_calls=("fraction", "calls x (1 + this) while VIX RSI is below threshold"),
        cpi_z_threshold=("z-score", "|CPI-PPI z| above this scales the calls"),
        cpi_call_scale=("fraction", "calls x (1 + this) while |z| is above threshold"),
        fomc_rule=("switch", "no entries, rolls or re-hedges on FOMC announcement days"),
    ),
    **_docs(
        "3 second engine: R-squared controller",
        controller=("switch", "move h weekly to keep the rolling R-squared in the band"),
        controller_halflife=(
            "sessions",
            "0: the weekly controller on the rolling R-squared; above 0: a daily controller "
            "on the R-squared of exponentially weighted moments with this half-life, the "
            "hedge re-sized every session",
        ),
        r2_window=("sessions", "window of the rolling R-squared against SPX"),
        band_low=("R-squared", "below this, lower h by a step"),
        band_high=("R-squared", "above this, raise h by a step"),
        h_step=("multiplier", "the controller's step in h"),
        h_min=("multiplier", "the controller's floor for h"),
        h_max=("multiplier", "the controller's ceiling for h"),
    ),
    **_docs(
        "3 second engine: liquidity reserve",
        reserve=("fraction of equity", "free cash kept; a hedge that would breach it is cut"),
        reserve_counts_margin=("switch", "condor margin counts as committed cash"),
    ),
}
"""What every parameter means, its unit and its methodology section (``alvh params``
prints them with the defaults and :data:`DOMAINS`)."""

NAMES: tuple[str, ...] = tuple(f.name for f in fields(BacktestParams))

TYPES: dict[str, Any] = get_type_hints(BacktestParams)
"""Each field's type, resolved from its annotation."""


def _kind(name: str) -> str:
    kind = TYPES[name]
    if kind in (bool, int, float, date):
        return str(kind.__name__)
    if kind == date | None:
        return "date | None"
    raise TypeError(f"parameter {name} has a type no parser reads: {kind}")


FIELDS: dict[str, str] = {name: _kind(name) for name in NAMES}
"""Each field's kind: float, int, bool, date or "date | None" (what :func:`parse_value`
reads, and ``alvh params`` prints)."""
PATH_FIELDS: frozenset[str] = frozenset(
    {
        "start_date",
        "end_date",
        "div_yield",
        "initial_equity",
        "equity_weight",
        "lots",
        "margin_target",
        "target_dte",
        "max_open",
        "short_delta",
        "wing_width",
        "wing_delta",
        "wing_pct",
        "profit_take",
        "stop_multiple",
        "exit_dte",
        "hold_to_expiry",
        "spx_commission",
        "spx_spread_model",
        "spx_half_spread",
        "spx_spread_scale",
        "spx_fill",
        "strike_grid",
        "smile_atm_ratio",
        "smile_put_skew",
        "smile_call_skew",
        "fomc_rule",
        "roll_days",
        "beta_window",
        "beta_fallback",
        "r2_window",
    }
)
"""Fields that fix the condor path, the calendar or an array shape: a sweep group."""

KERNEL_FIELDS: tuple[str, ...] = (
    "initial_equity",
    "equity_weight",
    "hedge_ratio",
    "hedge_on_equity",
    "futures_share",
    "ladder_w2",
    "ladder_w3",
    "ladder_w4",
    "contango_guard_pct",
    "vx_commission",
    "vx_half_spread",
    "vx_margin",
    "call_delta",
    "call_otm_points",
    "call_spread_width",
    "vol_of_vol",
    "vix_call_skew",
    "call_commission",
    "call_half_spread",
    "call_delta_floor",
    "breadth_scale",
    "rsi_threshold",
    "rsi_extra_calls",
    "cpi_z_threshold",
    "cpi_call_scale",
    "controller",
    "controller_halflife",
    "band_low",
    "band_high",
    "h_step",
    "h_min",
    "h_max",
    "reserve",
    "reserve_counts_margin",
)
"""Fields the vectorised engine reads per configuration, in its column order
(:mod:`transforms.backtest.vectorised`). Every field is a path field, a kernel field, or
both (``initial_equity``): :func:`unaccounted` names any that is neither, which a sweep
would silently ignore."""


def unaccounted() -> list[str]:
    """Fields neither a path field nor a kernel column (must be none)."""
    return [n for n in NAMES if n not in PATH_FIELDS and n not in KERNEL_FIELDS]


def group_key(p: BacktestParams) -> tuple[object, ...]:
    """Configurations with equal keys share a condor path and a market."""
    return tuple(getattr(p, name) for name in sorted(PATH_FIELDS))


def _known(name: str) -> None:
    if name not in FIELDS:
        close = [n for n in NAMES if name.split("_", maxsplit=1)[0] in n]
        hint = f" (did you mean {', '.join(close[:4])}?)" if close else ""
        raise ValueError(f"unknown parameter {name!r}{hint}")


def parse_value(name: str, value: object) -> object:
    """One field's value typed by the field, from text (``k=v`` on the command line) or
    from a TOML or JSON scalar: a decimal field takes whole numbers too (TOML's ``0`` in
    ``[0, 0.5]`` is 0.0), a whole-number field refuses fractions, neither takes a bool."""
    _known(name)
    kind = FIELDS[name]
    if not isinstance(value, str):
        return _typed(name, kind, value)
    text = value.strip()
    try:
        if kind.startswith("date"):
            if text.lower() in ("", "none") and "None" in kind:
                return None
            return date.fromisoformat(text)
        if kind == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if kind == "int":
            if not text.lstrip("+-").isdigit():
                raise ValueError("expected a whole number")
            return int(text)
        return _number(text)  # NaN and infinities are refused by the domain, naming it
    except ValueError as exc:
        raise ValueError(f"parameter {name}={text!r}: {exc}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number") from None


def _typed(name: str, kind: str, value: object) -> object:
    """A non-text value checked and converted to the field's type."""
    if isinstance(value, bool):
        if kind == "bool":
            return value
    elif isinstance(value, int | float):
        if kind == "float":
            return float(value)
        if kind == "int" and float(value).is_integer():
            return int(value)
    elif kind.startswith("date") and (isinstance(value, date) or value is None):
        return value
    raise ValueError(f"parameter {name} takes a value of type {kind}, got {value!r}")


def _parsed(name: str, value: object) -> object:
    return None if value is None else parse_value(name, value)


class Overrides(BaseModel):
    """Parameter overrides, each typed and parsed as :func:`parse_value` does (a name
    that is no parameter is refused, with the nearest names); an unset or empty field
    keeps the default. :data:`ParamValues` has a field per parameter."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: object) -> object:
        if isinstance(data, Mapping):
            for name in data:
                _known(str(name))
        return data

    def given(self) -> dict[str, object]:
        """The overrides set (their names and typed values)."""
        chosen = {name: getattr(self, name) for name in sorted(self.model_fields_set)}
        return {name: value for name, value in chosen.items() if value is not None}


def _override(name: str) -> Any:
    doc, domain = DOCS[name], DOMAINS.get(name)
    where = f"; in {domain}" if domain else ""
    return (
        Annotated[TYPES[name] | None, BeforeValidator(partial(_parsed, name))],
        Field(None, description=f"{doc.meaning} ({doc.unit}{where}; methodology {doc.section})"),
    )


ParamValues: type[Overrides] = create_model(
    "ParamValues", __base__=Overrides, **{name: _override(name) for name in NAMES}
)
"""The overrides of a backtest, a sweep's fixed values or a saved book, as flow
parameters: one typed, described field per parameter (Prefect's run forms show them)."""


def with_values(base: BacktestParams, values: Mapping[str, object]) -> BacktestParams:
    """``base`` with some fields replaced (validated; text values, as from JSON flow
    parameters, are parsed by the field's type)."""
    unknown = sorted(set(values) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
    typed = {k: parse_value(k, v) for k, v in values.items()}
    return replace(base, **typed)  # type: ignore[arg-type]


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def as_record(params: BacktestParams) -> dict[str, object]:
    """Field -> value, dates as ISO text (JSON- and SQL-friendly)."""
    return {name: _plain(getattr(params, name)) for name in NAMES}


def config_hash(params: BacktestParams) -> str:
    """Stable 16-hex digest of every field: the identity of a configuration."""
    return config_hashes([params])[0]


_SORTED = sorted(NAMES)


def config_hashes(configs: Sequence[BacktestParams]) -> list[str]:
    """Each configuration's :func:`config_hash`: the SHA-256 of its :func:`as_record` as
    compact JSON with sorted keys, each field's JSON written once per distinct value (a
    sweep's fields take a few values each), and each run of fields that no configuration
    changes (one object throughout, as a grid's base gives them) joined once."""
    if not configs:
        return []
    parts: list[str | list[str]] = []  # a run of unchanged fields, joined; a changed field
    for name in _SORTED:
        column = list(map(operator.attrgetter(name), configs))
        key = json.dumps(name) + ":"
        first = column[0]
        if all(value is first for value in column):
            field = key + json.dumps(_plain(first))
            if parts and isinstance(parts[-1], str):
                parts[-1] = f"{parts[-1]},{field}"
            else:
                parts.append(field)
            continue
        written: dict[tuple[type, object], str] = {}
        changed = []
        for value in column:
            at = (type(value), value)
            if at not in written:
                written[at] = key + json.dumps(_plain(value))
            changed.append(written[at])
        parts.append(changed)
    columns = [itertools.repeat(p, len(configs)) if isinstance(p, str) else p for p in parts]
    return [
        hashlib.sha256(("{" + ",".join(fields) + "}").encode()).hexdigest()[:16]
        for fields in zip(*columns, strict=True)
    ]


MAX_CONFIGS = 200_000
"""The most configurations one sweep may hold (and values one range may list) unless its
``max_configs`` allows more: about 1 GB of parameter records, checked before anything
is listed or computed."""


def _bound(what: str, count: float, limit: int, unit: str = "values") -> None:
    if count > limit:
        raise ValueError(
            f"{what} has {count:,.0f} {unit}, more than the {limit:,} a sweep allows "
            "(--max-configs N raises the bound)"
        )


def frange(start: float, stop: float, step: float, *, limit: int = MAX_CONFIGS) -> list[float]:
    """``start:stop:step`` inclusive of ``stop`` (within half a step), rounded to 10 dp;
    at most ``limit`` values."""
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise ValueError(f"range {start}:{stop}:{step} is not finite")
    if step <= 0:
        raise ValueError(f"range step must be positive, got {step}")
    steps = (stop - start) / step + 0.5  # the last value within half a step of stop
    count = int(steps) + 1 if math.isfinite(steps) else math.inf
    _bound(f"the range {start:g}:{stop:g}:{step:g}", count, limit)
    if count < 1:
        raise ValueError(f"empty range {start}:{stop}:{step}")
    return [round(start + i * step, 10) for i in range(int(count))]


def parse_dimension(name: str, text: str, *, limit: int = MAX_CONFIGS) -> list[object]:
    """Values of one sweep dimension: ``a:b:step`` (inclusive) or ``v1,v2,...``."""
    if ":" in text and not FIELDS[name].startswith("date"):
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"{name}: a range is start:stop:step, got {text!r}")
        values: list[object] = []
        for v in frange(*(float(p) for p in parts), limit=limit):
            values.append(int(v) if FIELDS[name] == "int" else v)
        return values
    return [parse_value(name, part) for part in text.split(",") if part.strip()]


def parse_bands(text: str) -> list[tuple[float, float]]:
    """R-squared bands ``0.45-0.65,0.35-0.55`` -> [(0.45, 0.65), (0.35, 0.55)]."""
    bands = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not sep:
            raise ValueError(f"an R-squared band is low-high, got {part!r}")
        bands.append((float(lo), float(hi)))
    return bands


Dimension = tuple[Sequence[str], Sequence[Sequence[object]]]
"""Names that vary together, and their value tuples (a band is two names, one axis)."""

BAND = "r2_band"
"""Sweep dimension name for R-squared bands: (band_low, band_high) pairs."""


JOINT = ","
"""Separates the names of parameters that vary together in one sweep dimension:
``ladder_w2,ladder_w3,ladder_w4``, whose values are rows (``0.4/0.4/0.2,0.6/0.3/0.1`` as
text, a list of lists in a TOML grid)."""


def _names(key: str) -> list[str]:
    """The parameter names of a sweep dimension's key (several, :data:`JOINT`)."""
    return [n.strip() for n in key.split(JOINT)]


def _joint(name: str, spec: str | Sequence[object]) -> Dimension:
    """The dimension of several parameters that vary together (:data:`JOINT`)."""
    names = _names(name)
    for n in names:
        _known(n)
    rows: list[Sequence[object]] = []
    for row in spec.split(",") if isinstance(spec, str) else spec:
        values = row.split("/") if isinstance(row, str) else row
        if not isinstance(values, Sequence) or len(values) != len(names):
            raise ValueError(
                f"sweep dimension {name}: each value is {len(names)} values, one per name "
                f"(a/b/c as text, [a, b, c] in a grid file), got {row!r}"
            )
        rows.append(values)
    return (names, [[parse_value(n, v) for n, v in zip(names, r, strict=True)] for r in rows])


def dimension(name: str, spec: str | Sequence[object], *, limit: int = MAX_CONFIGS) -> Dimension:
    """A sweep dimension from text (``a:b:step``, ``v1,v2``; bands ``lo-hi,lo-hi``;
    parameters that vary together, :data:`JOINT`) or from a list of values (a TOML grid
    file)."""
    if JOINT in name:
        return _joint(name, spec)
    if name == BAND:
        text = spec if isinstance(spec, str) else ",".join(str(v) for v in spec)
        return (["band_low", "band_high"], [list(b) for b in parse_bands(text)])
    _known(name)
    if isinstance(spec, str):
        values = parse_dimension(name, spec, limit=limit)
    else:
        values = [parse_value(name, v) for v in spec]
    return ([name], [[v] for v in values])


def _outside(values: Mapping[str, Any]) -> list[str]:
    """Each value outside its parameter's domain."""
    return [
        f"{name} {value!r} outside {DOMAINS[name]}"
        for name, value in values.items()
        if name in DOMAINS and not DOMAINS[name].admits(value)
    ]


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ValueError("invalid backtest parameters: " + "; ".join(problems))


_SLOT_SETTERS: dict[str, Callable[[BacktestParams, object], None]] = {
    f.name: vars(BacktestParams)[f.name].__set__ for f in fields(BacktestParams)
}


def _with_checked(state: Mapping[str, object]) -> BacktestParams:
    """Parameters with every field from ``state``, whose domains were checked already:
    only the rules between fields run (a grid's values are checked once each, not once
    per configuration as :func:`dataclasses.replace` would). The fields are set through
    their slots, which is what :func:`copy.copy` of a slotted dataclass does at several
    times the cost."""
    out = object.__new__(BacktestParams)
    for name, value in state.items():
        _SLOT_SETTERS[name](out, value)
    _refuse(out._conflicts())
    return out


def expand_grid(
    base: BacktestParams, dimensions: Iterable[Dimension], *, limit: int = MAX_CONFIGS
) -> list[BacktestParams]:
    """The Cartesian product of the dimensions over ``base``, in a deterministic order;
    refused before it is built when it would hold more than ``limit`` configurations."""
    dims = list(dimensions)
    _bound("the grid", math.prod(len(rows) for _, rows in dims), limit, "configurations")
    seen: set[str] = set()
    for names, rows in dims:
        for name in names:
            _known(name)
            if name in seen:
                raise ValueError(f"parameter {name!r} appears in two sweep dimensions")
            seen.add(name)
        if not rows:
            raise ValueError(f"sweep dimension {'/'.join(names)} has no values")
    # each dimension's values typed and checked once, then the rules between fields
    typed = [
        [{n: parse_value(n, v) for n, v in zip(names, row, strict=True)} for row in rows]
        for names, rows in dims
    ]
    _refuse([problem for rows in typed for row in rows for problem in _outside(row)])
    state = {f.name: getattr(base, f.name) for f in fields(BacktestParams)}
    out = []
    for combo in itertools.product(*typed):
        values = dict(state)
        for row in combo:
            values.update(row)
        out.append(_with_checked(values))
    return out


GridSpec = list[tuple[str, object]]
"""Sweep dimensions as written: (name, ``a:b:step`` text, ``v1,v2`` text or a list)."""


def read_grid(text: str, *, where: str) -> tuple[dict[str, object], GridSpec]:
    """The ``[base]`` values and ``[grid]`` dimensions of a TOML grid (``where`` names
    it in errors); every value typed by its parameter."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"grid file {where}: {exc}") from None
    unknown = set(doc) - {"base", "grid"}
    if unknown:
        raise ValueError(
            f"grid file {where}: unknown tables {sorted(unknown)}; use [base] and [grid]"
        )
    try:
        base = {name: parse_value(name, value) for name, value in doc.get("base", {}).items()}
        for name in doc.get("grid", {}):
            for one in _names(name) if name != BAND else []:
                _known(one)
    except ValueError as exc:
        raise ValueError(f"grid file {where}: {exc}") from None
    return base, list(doc.get("grid", {}).items())


def grid_spec(
    specs: GridSpec, *, hedge_ratio: str | None = None, r2_band: str | None = None
) -> GridSpec:
    """A sweep's dimensions as written: ``specs``, plus hedge ratios and R-squared bands
    (the given ones, else the defaults, unless ``specs`` already sweeps them). Compact
    (ranges stay ``a:b:step``): this is what travels to Prefect."""
    specs = list(specs)
    named = {one for name, _ in specs for one in _names(name)}
    if hedge_ratio or "hedge_ratio" not in named:
        specs.append(("hedge_ratio", hedge_ratio or DEFAULT_HEDGE_RATIOS))
    if r2_band or not named & {BAND, "band_low", "band_high"}:
        specs.append((BAND, r2_band or DEFAULT_BANDS))
    return specs


def sweep_dimensions(
    specs: GridSpec,
    *,
    hedge_ratio: str | None = None,
    r2_band: str | None = None,
    limit: int = MAX_CONFIGS,
) -> list[tuple[list[str], list[list[object]]]]:
    """The dimensions of a sweep (:func:`grid_spec`), each listed."""
    out = []
    for name, spec in grid_spec(specs, hedge_ratio=hedge_ratio, r2_band=r2_band):
        values: str | Sequence[object] = (
            spec if isinstance(spec, str | list | tuple) else [spec]  # one value: one row
        )
        names, rows = dimension(name, values, limit=limit)
        out.append((list(names), [list(r) for r in rows]))
    return out
