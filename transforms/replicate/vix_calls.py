"""VIX calls against real quotes, and the Cboe VIX Tail Hedge Index (VXTH).

**The calls.** Cboe's VXTH file lists, for each day, the one-month VIX call the index
holds (expiry, strike) with its real bid/ask/mid. Each is priced with the engine's own
model (:func:`transforms.options.vix.call_value`: Black-76 on the VX future of the same
expiry, ATM vol VVIX / 100, else ``vol_of_vol``, and the call skew), with the time and
rate conventions of the backtest (calendar days / 365, the T-bill rate). The error is
model minus real mid, in VIX points.

**Calibration.** :func:`calibrate` picks the call skew (the model's one free parameter
where VVIX prints) minimising the root-mean-square error over a calibration window; the
evaluation window reports the same statistics out of sample. The windows must not
overlap.

**VXTH** (Cboe's rules): an S&P 500 total-return position plus one-month 30-delta VIX
calls, bought on each VIX option expiry (the roll) and held to the next, where they
settle at the VX final settlement. The calls' weight in the portfolio at the roll is
set by the front VX future: 0 below 15, 1 % from 15 to 30, 0.5 % from 30 to 50, 0 above.
The S&P total return is a proxy: SPX close to close plus the engine's dividend yield.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

from transforms.backtest.market import Market
from transforms.calibration import fit_vix_call_skew
from transforms.options.vix import base_vol, call_strike, call_value

F64 = NDArray[np.float64]

MONEYNESS_EDGES = (1.0, 1.1, 1.25, 1.5)  # strike / future
VIX_EDGES = (15.0, 20.0, 30.0)


@dataclass(frozen=True)
class CallModel:
    vol_of_vol: float
    skew: float


def _session(market: Market, days: pl.Series) -> NDArray[np.int64]:
    d = days.to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(market.dates, d)
    pos = np.minimum(pos, market.days - 1)
    return np.where(market.dates[pos] == d, pos, -1)


def _contract(market: Market, expiries: pl.Series) -> NDArray[np.int64]:
    e = expiries.to_numpy().astype("datetime64[D]")
    col = {d: j for j, d in enumerate(market.expiry.astype("datetime64[D]"))}
    return np.array([col.get(x, -1) for x in e], dtype=np.int64)


def quoted_calls(market: Market, quotes: pl.DataFrame) -> pl.DataFrame:
    """The quotes (``date, expiry, strike, mid``) joined to the market: the matching VX
    future, years to expiry, rate, VVIX and VIX. Rows the market cannot price (no
    session, no settlement for that expiry, expiry day or after, no strike, no mid) are
    dropped."""
    i = _session(market, quotes["date"])
    j = _contract(market, quotes["expiry"])
    ok = (i >= 0) & (j >= 0)
    ii, jj = np.where(ok, i, 0), np.where(ok, j, 0)
    day = quotes["date"].to_numpy().astype("datetime64[D]")
    t = (quotes["expiry"].to_numpy().astype("datetime64[D]") - day).astype(np.float64) / 365.0
    out = quotes.with_columns(
        pl.Series("forward", np.where(ok, market.settle[ii, jj], np.nan)),
        pl.Series("t", t),
        pl.Series("rate", market.rate[ii]),
        pl.Series("vvix", np.where(ok, market.vvix[ii], np.nan)),
        pl.Series("vix", np.where(ok, market.vix[ii], np.nan)),
    )
    return out.filter(
        pl.col("forward").is_finite()
        & (pl.col("t") > 0)
        & (pl.col("strike") > 0)  # the source has strike 0 on some 2016 days
        & (pl.col("mid") > 0)
    ).with_columns((pl.col("strike") / pl.col("forward")).alias("moneyness"))


def model_price(calls: pl.DataFrame, model: CallModel) -> F64:
    price, _ = call_value(
        strike=calls["strike"].to_numpy(),
        forward=calls["forward"].to_numpy(),
        t=calls["t"].to_numpy(),
        rate=calls["rate"].to_numpy(),
        base=base_vol(calls["vvix"].to_numpy(), vol_of_vol=model.vol_of_vol),
        skew=model.skew,
    )
    return price


def priced(calls: pl.DataFrame, model: CallModel) -> pl.DataFrame:
    """``calls`` with ``model`` price and ``error`` (model - mid, VIX points)."""
    return calls.with_columns(pl.Series("model", model_price(calls, model))).with_columns(
        (pl.col("model") - pl.col("mid")).alias("error")
    )


def _bucket(col: str, edges: tuple[float, ...], fmt: str) -> pl.Expr:
    """Label of the interval [edge_k, edge_k+1) that holds ``col``."""
    c = pl.col(col)
    expr: pl.Expr = pl.lit(f">= {fmt.format(edges[-1])}")
    for a, b in reversed(list(itertools.pairwise(edges))):
        expr = pl.when(c < b).then(pl.lit(f"{fmt.format(a)}-{fmt.format(b)}")).otherwise(expr)
    return pl.when(c < edges[0]).then(pl.lit(f"< {fmt.format(edges[0])}")).otherwise(expr)


def error_table(calls: pl.DataFrame) -> pl.DataFrame:
    """Error statistics by moneyness (strike / future) and by VIX regime, plus "all"."""

    def stats(by: pl.Expr, kind: str) -> pl.DataFrame:
        return (
            calls.group_by(by.alias("bucket"))
            .agg(
                pl.len().alias("n"),
                pl.col("mid").mean().alias("mean_mid"),
                pl.col("error").mean().alias("mean_error"),
                pl.col("error").abs().mean().alias("mean_abs_error"),
                (pl.col("error") ** 2).mean().sqrt().alias("rmse"),
                (pl.col("error") / pl.col("mid")).median().alias("median_rel_error"),
            )
            .with_columns(pl.lit(kind).alias("by"))
            .sort("bucket")
        )

    return pl.concat(
        [
            stats(pl.lit("all"), "all"),
            stats(_bucket("moneyness", MONEYNESS_EDGES, "{:.2f}"), "moneyness"),
            stats(_bucket("vix", VIX_EDGES, "{:.0f}"), "vix"),
        ]
    ).select(
        "by", "bucket", "n", "mean_mid", "mean_error", "mean_abs_error", "rmse", "median_rel_error"
    )


def window(calls: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    return calls.filter(pl.col("date").is_between(first, last))


def calibrate(calls: pl.DataFrame, *, vol_of_vol: float) -> tuple[CallModel, float]:
    """The call skew minimising RMSE on ``calls``
    (:func:`transforms.calibration.fit_vix_call_skew`); the model and its RMSE."""
    mid = calls["mid"].to_numpy()

    def rmse(skew: float) -> float:
        error = model_price(calls, CallModel(vol_of_vol, skew)) - mid
        return float(np.sqrt(np.mean(error**2)))

    skew = fit_vix_call_skew(rmse)
    return CallModel(vol_of_vol=vol_of_vol, skew=skew), rmse(skew)


# --- VXTH --------------------------------------------------------------------------------

WEIGHTS = ((15.0, 0.0), (30.0, 0.01), (50.0, 0.005), (float("inf"), 0.0))
"""(upper bound of the front VX future, call weight) at the roll: Cboe's VXTH schedule."""


def call_weight(front_future: float) -> float:
    for bound, weight in WEIGHTS:
        if front_future < bound:
            return weight
    return 0.0


def vix_option_expiries(market: Market) -> NDArray[np.int64]:
    """Session index of each monthly VX settlement inside the run (the VXTH rolls)."""
    pos = np.unique(market.expiry_pos[market.expiry_pos >= 0])
    return pos.astype(np.int64)


def _call_price(market: Market, model: CallModel, i: int, strike: float, front: int) -> float:
    """The engine's price at session ``i``'s close of the call on contract ``front``."""
    t = float((market.expiry[front] - market.dates[i]).astype(np.int64)) / 365.0
    price, _ = call_value(
        strike=strike,
        forward=market.settle[i, front],
        t=t,
        rate=market.rate[i],
        base=base_vol(market.vvix[i], vol_of_vol=model.vol_of_vol),
        skew=model.skew,
    )
    return float(price)


def tail_hedge(
    market: Market,
    *,
    model: CallModel,
    call_delta: float,
    div_yield: float,
    base: float,
    quotes: pl.DataFrame | None = None,
) -> F64:
    """VXTH level per session from the first roll in the market (``base`` there, NaN
    before). With ``quotes`` (``date, expiry, strike, mid``), the calls are the index's
    own (strike, expiry) valued at their real mids: the index mechanics alone. Without,
    the engine picks the strike (the listed strike nearest ``call_delta``,
    :func:`call_strike`) and prices it with ``model``."""
    rolls = vix_option_expiries(market)
    if rolls.size < 2:
        raise ValueError("VXTH needs at least two VIX expiries in the run")
    dates = market.dates.astype("datetime64[D]")
    days = np.diff(dates).astype(np.float64)
    spx_growth = market.spx[1:] / market.spx[:-1] * np.exp(div_yield * days / 365.0)
    real = None
    if quotes is not None:
        real = {
            (d, e): (k, m)
            for d, e, k, m in quotes.select("date", "expiry", "strike", "mid").iter_rows()
        }
    level = np.full(market.days, np.nan)
    level[rolls[0]] = base
    for a, b in zip(rolls, np.append(rolls[1:], market.days - 1), strict=True):
        value = level[a]
        front = market.chain[a, 0]  # the contract settling next (today's has expired)
        forward = float(market.settle[a, front])
        expiry = market.expiry[front]
        if real is not None:
            strike, cost = real.get((dates[a].item(), expiry.item()), (np.nan, np.nan))
        else:
            strike = float(
                call_strike(
                    forward=forward,
                    t=float((expiry - dates[a]).astype(np.int64)) / 365.0,
                    rate=market.rate[a],
                    base=base_vol(market.vvix[a], vol_of_vol=model.vol_of_vol),
                    skew=model.skew,
                    target_delta=call_delta,
                    otm_points=0.0,
                )[0]
            )
            cost = _call_price(market, model, a, strike, front)
        weight = call_weight(forward) if np.isfinite(cost) and cost > 0 else 0.0
        calls = weight * value / cost if weight > 0 else 0.0
        equity = value - calls * cost if calls > 0 else value
        mark = cost
        for i in range(a + 1, b + 1):
            equity *= spx_growth[i - 1]
            if calls == 0:
                mark = 0.0
            elif i == market.expiry_pos[front]:
                mark = max(float(market.final[front]) - strike, 0.0)
            elif real is not None:  # a day without a quote keeps the last mid
                mark = real.get((dates[i].item(), expiry.item()), (strike, mark))[1]
            else:
                mark = _call_price(market, model, i, strike, front)
            level[i] = equity + calls * mark
    return level
