"""Trading costs of SPX options: a half-spread per leg fitted on real quotes of four eras.

**The model.** The quoted half-spread of an SPX option (index points) is

    log half_spread = intercept + a log price + b log dte + c log(VIX / 20)
                      + intraday x [quote taken intraday] + era(day)

floored at half the 0.05 tick, with ``price`` the option's mid (index points), ``dte`` its
calendar days to expiry, VIX the day's close and ``era(day)`` the offset of the latest
quote sample dated on or before the day (the earliest sample's before it): a backtest
day is priced with the market structure known on it, never with a later one.

**The samples** (``ALVH_OPTION_QUOTES``, README there, and the 2011 iVolatility week in
``../shared/data``): one day of 2004 (VIX 18.2, 25-point strikes), five days of 2011
(VIX 17.0-17.6), one day of 2016 (VIX 27.6, one expiry) and ten days of 2019 (VIX
12.4-20.6; one end-of-day snapshot, nine intraday). Quoted rows (bid > 0, ask > bid,
not interpolated) with |delta| 0.02-0.50 and 10-400 days to expiry; least squares on
the logs with each sample weighted equally (the 2019 sample has 50x the quotes of 2004).
:func:`fit_spread_model` fits it; ``alvh calibrate`` runs it on the files and stores
the estimate and each sample's error in ``results.calibrations``.

**What one week per era can and cannot identify.**

* Price and days to expiry: identified within every sample (hundreds of strikes and
  expiries on each day).
* VIX: identified only *within* samples, by the 2019 days (VIX 12.4 to 20.6) and the
  2011 week; across eras the era offsets absorb it, so the model cannot tell "2016 was
  cheaper" from "spreads at VIX 28 are narrower than the 2019 slope says". Crisis
  spreads (VIX above 30) are extrapolated: ``spx_spread_scale`` > 1 is the stress test.
* Era: one offset per sample, i.e. per one day (2004, 2016) or one week (2011). A
  sample is a snapshot of its era, not an average over it; the step from one era to the
  next is dated at the later sample, where the market may have changed years earlier.
* Quote type: the intraday term is identified by 2019 alone (one end-of-day snapshot
  against nine intraday), so it also carries that one day's idiosyncrasy. Backtests mark
  at the close and use end-of-day spreads (``intraday`` false).
* Calls against puts, and the side of the book actually filled: not identified. What a
  trader pays is ``spx_fill`` times the quoted half-spread (1 = crossing the spread;
  working orders nearer the mid pay less), a sweep dimension.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
REFERENCE_VIX = 20.0  # the VIX term is log(VIX / REFERENCE_VIX)
MIN_QUOTES = 10  # a sample needs this many usable quotes
DTE_RANGE = (10, 400)  # calendar days to expiry fitted
DELTA_RANGE = (0.02, 0.5)  # |delta| fitted
QUOTE_COLUMNS = ("date", "option_expiration", "bid", "ask", "delta", "isinterpolated")
"""Columns a quote sample needs (the iVolatility layout); ``snapshot`` is optional
(``eod`` or ``intraday``; absent: end of day)."""

Era = tuple[date, float]  # (first day, offset on the log half-spread)


@dataclass(frozen=True)
class SpreadModel:
    """Half-spread per leg (index points): a power law in price, days to expiry and VIX,
    with an offset per era and per quote type. Defaults: :func:`fit_spread_model` on the
    four samples, rounded to 3 dp (``alvh calibrate`` reproduces them)."""

    intercept: float = -2.127
    price_elasticity: float = 0.331
    dte_elasticity: float = 0.190
    vix_elasticity: float = 1.143
    intraday: float = -0.515
    eras: tuple[Era, ...] = field(
        default_factory=lambda: (
            (date(2004, 1, 2), 0.0),
            (date(2011, 1, 3), 0.581),
            (date(2016, 1, 20), -0.298),
            (date(2019, 4, 26), -0.500),
        )
    )
    floor: float = 0.025

    def era(self, day: date) -> float:
        """The offset in force on ``day``: the latest era starting on or before it (the
        first era before the first sample)."""
        starts = [d for d, _ in self.eras]
        return self.eras[max(bisect_right(starts, day) - 1, 0)][1]

    def half_spread(
        self,
        price: ArrayLike,
        dte: ArrayLike,
        *,
        vix: ArrayLike,
        day: date,
        intraday: bool = False,
    ) -> F64:
        """Quoted half-spread of options with mid ``price`` and ``dte`` calendar days on
        ``day``, with the VIX at ``vix``."""
        p = np.maximum(np.asarray(price, dtype=np.float64), 1e-6)
        d = np.maximum(np.asarray(dte, dtype=np.float64), 1.0)
        v = np.maximum(np.asarray(vix, dtype=np.float64), 1.0)
        log = (
            self.intercept
            + self.era(day)
            + (self.intraday if intraday else 0.0)
            + self.price_elasticity * np.log(p)
            + self.dte_elasticity * np.log(d)
            + self.vix_elasticity * np.log(v / REFERENCE_VIX)
        )
        return np.asarray(np.maximum(np.exp(log), self.floor), dtype=np.float64)


SPREAD_MODEL = SpreadModel()
"""The fitted default (:func:`fit_spread_model` on the four samples, rounded to 3 dp)."""


@dataclass(frozen=True)
class SampleError:
    """How the fitted model prices one sample's quotes."""

    name: str
    first: date
    last: date
    vix: tuple[float, float]  # lowest and highest VIX close of its days
    quotes: int
    intraday_share: float
    median_quoted: float  # median quoted half-spread (points)
    median_fitted: float
    rmse: float  # index points
    median_relative_error: float  # |model / quoted - 1|, median
    bias: float  # mean of log(model / quoted)


@dataclass(frozen=True)
class SpreadFit:
    model: SpreadModel
    terms: dict[str, tuple[float, float]]  # term -> (estimate, standard error)
    samples: tuple[SampleError, ...]

    @property
    def quotes(self) -> int:
        return sum(s.quotes for s in self.samples)


def quoted_half_spreads(chain: pl.DataFrame) -> pl.DataFrame:
    """The sample's usable quotes: ``day``, ``price`` (mid), ``dte``, ``half_spread`` and
    ``intraday``; the rows the fit uses."""
    missing = [c for c in QUOTE_COLUMNS if c not in chain.columns]
    if missing:
        raise ValueError(f"a quote sample needs the columns {missing}")
    snapshot = pl.col("snapshot") if "snapshot" in chain.columns else pl.lit("eod")
    return (
        chain.filter(
            pl.col("isinterpolated").is_null()
            & (pl.col("bid") > 0)
            & (pl.col("ask") > pl.col("bid"))
        )
        .select(
            pl.col("date").alias("day"),
            ((pl.col("ask") + pl.col("bid")) / 2).alias("price"),
            (pl.col("option_expiration") - pl.col("date")).dt.total_days().alias("dte"),
            pl.col("delta").abs().alias("abs_delta"),
            ((pl.col("ask") - pl.col("bid")) / 2).alias("half_spread"),
            (snapshot == "intraday").alias("intraday"),
        )
        .filter(pl.col("abs_delta").is_between(*DELTA_RANGE) & pl.col("dte").is_between(*DTE_RANGE))
    )


def fit_spread_model(
    samples: dict[str, pl.DataFrame],
    vix: dict[date, float],
    *,
    floor: float = SPREAD_MODEL.floor,
) -> SpreadFit:
    """Weighted least squares of the log half-spread on the model's terms, over the quote
    ``samples`` (name -> chain), each sample weighing the same, with ``vix`` the VIX close
    of every quote day. Each sample is an era starting on its first day; the earliest is
    the base (offset 0). A term the samples do not move (no intraday quotes; one VIX close
    per era) is not identified: it is fixed at 0 and its standard error is NaN."""
    if not samples:
        raise ValueError("a spread fit needs at least one quote sample")
    quotes: list[pl.DataFrame] = []
    for name, chain in samples.items():
        try:
            q = quoted_half_spreads(chain)
        except ValueError as exc:
            raise ValueError(f"quote sample {name}: {exc}") from exc
        if q.height < MIN_QUOTES:
            raise ValueError(
                f"quote sample {name}: {q.height} usable quotes, a fit needs {MIN_QUOTES}"
            )
        absent = sorted({d for d in q["day"].to_list() if d not in vix})
        if absent:
            raise ValueError(f"quote sample {name}: no VIX close for {absent[0]}")
        quotes.append(q.with_columns(pl.lit(name).alias("sample")))
    order = sorted(range(len(quotes)), key=lambda k: quotes[k]["day"].min())  # type: ignore[arg-type, return-value]
    quotes = [quotes[k] for k in order]
    names = [str(q["sample"][0]) for q in quotes]
    firsts: list[date] = [q["day"].min() for q in quotes]  # type: ignore[misc]
    q = pl.concat(quotes)
    n = q.height
    price = q["price"].to_numpy().astype(np.float64)
    dte = q["dte"].to_numpy().astype(np.float64)
    hs = q["half_spread"].to_numpy().astype(np.float64)
    intraday = q["intraday"].to_numpy().astype(np.float64)
    v = np.array([vix[d] for d in q["day"].to_list()], dtype=np.float64)
    sample = q["sample"].to_numpy()
    columns: dict[str, F64] = {
        "intercept": np.ones(n),
        "price_elasticity": np.log(price),
        "dte_elasticity": np.log(dte),
    }
    vix_moves = any(len({vix[d] for d in qq["day"].to_list()}) > 1 for qq in quotes)
    if vix_moves:
        columns["vix_elasticity"] = np.log(v / REFERENCE_VIX)
    if intraday.any() and not intraday.all():
        columns["intraday"] = intraday
    for name in names[1:]:
        columns[f"era {name}"] = (sample == name).astype(np.float64)
    x = np.column_stack(list(columns.values()))
    counts = {name: int((sample == name).sum()) for name in names}
    w = np.array([1.0 / counts[s] for s in sample]) * n / len(names)
    sw = np.sqrt(w)
    y = np.log(hs)
    coef, *_ = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)
    resid = (y - x @ coef) * sw
    sigma2 = float(resid @ resid) / max(n - x.shape[1], 1)
    cov = sigma2 * np.linalg.pinv((x * w[:, None]).T @ x)
    se = np.sqrt(np.diag(cov))
    est = dict(zip(columns, (round(float(c), 3) for c in coef), strict=True))
    terms = {k: (est[k], float(s)) for k, s in zip(columns, se, strict=True)}
    for k in ("vix_elasticity", "intraday"):
        terms.setdefault(k, (0.0, math.nan))
    model = SpreadModel(
        intercept=est["intercept"],
        price_elasticity=est["price_elasticity"],
        dte_elasticity=est["dte_elasticity"],
        vix_elasticity=terms["vix_elasticity"][0],
        intraday=terms["intraday"][0],
        eras=tuple(
            (first, 0.0 if k == 0 else est[f"era {name}"])
            for k, (name, first) in enumerate(zip(names, firsts, strict=True))
        ),
        floor=floor,
    )
    errors = tuple(
        _sample_error(model, name, qq, vix) for name, qq in zip(names, quotes, strict=True)
    )
    return SpreadFit(model=model, terms=terms, samples=errors)


def _sample_error(
    model: SpreadModel, name: str, quotes: pl.DataFrame, vix: dict[date, float]
) -> SampleError:
    fitted, quoted = [], []
    for (day, intraday), part in quotes.group_by(["day", "intraday"], maintain_order=True):
        assert isinstance(day, date)
        fitted.append(
            model.half_spread(
                part["price"].to_numpy(),
                part["dte"].to_numpy(),
                vix=vix[day],
                day=day,
                intraday=bool(intraday),
            )
        )
        quoted.append(part["half_spread"].to_numpy().astype(np.float64))
    f, q = np.concatenate(fitted), np.concatenate(quoted)
    days = quotes["day"].to_list()
    closes = [vix[d] for d in days]
    return SampleError(
        name=name,
        first=min(days),
        last=max(days),
        vix=(min(closes), max(closes)),
        quotes=quotes.height,
        intraday_share=float(np.mean(quotes["intraday"].to_numpy())),
        median_quoted=float(np.median(q)),
        median_fitted=float(np.median(f)),
        rmse=math.sqrt(float(np.mean((f - q) ** 2))),
        median_relative_error=float(np.median(np.abs(f / q - 1))),
        bias=float(np.mean(np.log(f / q))),
    )


def leg_half_spreads(
    prices: ArrayLike,
    dte: float,
    *,
    model: SpreadModel | None,
    flat: float,
    scale: float,
    vix: float,
    day: date,
) -> F64:
    """Half-spread of each leg (points) paid: the fitted model's at the close of ``day``
    (VIX ``vix``), or ``flat``, times ``scale`` (the stress and the fill share)."""
    p = np.asarray(prices, dtype=np.float64)
    base = np.full(p.shape, flat) if model is None else model.half_spread(p, dte, vix=vix, day=day)
    return np.asarray(scale * base, dtype=np.float64)
