"""Today's book: where the saved book stands at the last session of its latest run, and
what the rules call for on the next session.

Break-evens of the combined structure at the condor's expiry: over a grid of SPX
levels S, the condor's P&L if it settles at S (its value now less its settlement value,
times 100 x lots) plus the second engine's first-order P&L, ``hedge vega x dVIX``, with
the VIX move implied by S through the trailing one-year regression of daily VIX changes
on SPX returns (points per 1 % of SPX). The hedge's own decay to that date and a VIX
that does not follow the regression are outside this sketch; the page says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from transforms.backtest.condor import settlement


@dataclass(frozen=True)
class TodayPage:
    as_of: date
    r2: float | None
    band: tuple[float, float]
    r2_history: pl.DataFrame  # date, r2 (the last year)
    positions: pl.DataFrame  # instrument, quantity, detail
    greeks: dict[str, float]
    payoff: pl.DataFrame  # spx, condor, hedge, combined (dollars at the condor's expiry)
    break_evens: list[float]
    condor_break_evens: list[float]
    vix_beta: float  # VIX points per 1 % SPX move
    next_session: date | None
    actions: pl.DataFrame  # action, reason
    notes: list[str]


def _crossings(x: np.ndarray, y: np.ndarray) -> list[float]:
    out = []
    for k in range(len(x) - 1):
        if y[k] == 0:
            out.append(float(x[k]))
        elif y[k] * y[k + 1] < 0:
            out.append(float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k])))
    return out


def vix_beta(signals: pl.DataFrame, *, as_of: date, sessions: int = 252) -> float:
    """Slope of daily VIX point changes on SPX percent returns over the trailing year."""
    s = signals.filter(pl.col("date") <= as_of).sort("date").tail(sessions + 1)
    dv = np.diff(s["vix_close"].to_numpy())
    r = np.diff(np.log(s["spx_close"].to_numpy())) * 100
    ok = np.isfinite(dv) & np.isfinite(r)
    if ok.sum() < 20:
        return float("nan")
    return float(np.polyfit(r[ok], dv[ok], 1)[0])


def today_page(
    *,
    run: dict[str, Any],
    daily: pl.DataFrame,
    trades: pl.DataFrame,
    signals: pl.DataFrame,
    sessions: list[date],
    fomc: set[date],
) -> TodayPage:
    """``sessions``: NYSE sessions after the run's last day (the calendar ahead);
    ``fomc``: FOMC announcement days."""
    params = json.loads(run["params"]) if isinstance(run["params"], str) else run["params"]
    d = daily.sort("date")
    last = d.row(-1, named=True)
    as_of: date = last["date"]
    notes: list[str] = []
    condor = _open_condor(trades)
    spot = float(signals.filter(pl.col("date") == as_of)["spx_close"].item())
    beta = vix_beta(signals, as_of=as_of)
    positions = [
        {
            "instrument": f"VX month {m}",
            "quantity": float(last[f"futures_m{m}"]),
            "detail": "long futures, $1,000 per VIX point",
        }
        for m in (2, 3, 4)
    ]
    if last["calls"]:
        positions.append(
            {
                "instrument": "VIX calls",
                "quantity": float(last["calls"]),
                "detail": f"front-month, strike {last['call_strike']:g}",
            }
        )
    grid = np.linspace(0.8 * spot, 1.2 * spot, 401)
    payoff = pl.DataFrame({"spx": grid})
    be: list[float] = []
    condor_be: list[float] = []
    if condor is not None:
        strikes = np.array(condor["strikes"])
        units = 100.0 * condor["lots"]
        positions.append(
            {
                "instrument": f"SPX iron condor {condor['expiry']}",
                "quantity": -float(condor["lots"]),
                "detail": "short put {:g} / long put {:g} / short call {:g} / long call {:g}".format(  # noqa: E501
                    *strikes
                ),
            }
        )
        credit = condor["price"]
        c_pnl = np.array([(credit - settlement(strikes, s)) * units for s in grid])
        h_pnl = (
            float(last["hedge_vega"]) * beta * (grid / spot - 1.0) * 100
            if np.isfinite(beta)
            else 0 * grid
        )
        payoff = payoff.with_columns(
            pl.Series("condor", c_pnl),
            pl.Series("hedge", h_pnl),
            pl.Series("combined", c_pnl + h_pnl),
        )
        be = _crossings(grid, c_pnl + h_pnl)
        condor_be = _crossings(grid, c_pnl)
    else:
        notes.append("no condor is open at the last session: no break-evens to show")
    nxt = sessions[0] if sessions else None
    today_row = signals.filter(pl.col("date") == as_of)
    expiries = [
        as_of + timedelta(days=int(v))
        for c in ("dte_m1", "dte_m2")
        if today_row.height and (v := today_row[c][0]) is not None
    ]
    actions = _actions(
        params=params,
        last=last,
        condor=condor,
        nxt=nxt,
        fomc=fomc,
        sessions=sessions,
        as_of=as_of,
        expiries=expiries,
    )
    greeks = {g: float(last[g]) for g in ("delta", "gamma", "condor_vega", "hedge_vega", "theta")}
    r2_history = d.tail(252).select("date", pl.col("r2_60").alias("r2"))
    return TodayPage(
        as_of=as_of,
        r2=last["r2_60"],
        band=(float(params["band_low"]), float(params["band_high"])),
        r2_history=r2_history,
        positions=pl.DataFrame(
            positions, schema={"instrument": pl.String, "quantity": pl.Float64, "detail": pl.String}
        ),
        greeks=greeks,
        payoff=payoff,
        break_evens=be,
        condor_break_evens=condor_be,
        vix_beta=beta,
        next_session=nxt,
        actions=actions,
        notes=notes,
    )


def _open_condor(trades: pl.DataFrame) -> dict[str, Any] | None:
    """The condor opened last and not yet closed or settled: its expiry, strikes (short
    put, long put, short call, long call), lots and opening mid (``price``). Instruments
    read ``SPX IC <expiry> <long put>/<short put>/<short call>/<long call>``."""
    c = trades.filter(pl.col("sleeve") == "condor").sort("seq")
    open_: dict[str, dict[str, Any]] = {}
    for row in c.iter_rows(named=True):
        key = row["instrument"]
        if row["action"] != "open":
            open_.pop(key, None)
            continue
        _, _, expiry, legs = key.split()
        lp, sp, sc, lc = (float(x) for x in legs.split("/"))
        open_[key] = {
            "expiry": expiry,
            "strikes": [sp, lp, sc, lc],
            "lots": abs(float(row["quantity"])),
            "price": float(row["price"]),
        }
    return list(open_.values())[-1] if open_ else None


def _actions(
    *,
    params: dict[str, Any],
    last: dict[str, Any],
    condor: dict[str, Any] | None,
    nxt: date | None,
    fomc: set[date],
    sessions: list[date],
    as_of: date,
    expiries: list[date],
) -> pl.DataFrame:
    rows: list[dict[str, str]] = []
    if nxt is None:
        return pl.DataFrame(
            {"action": ["none"], "reason": ["no NYSE session ahead in the calendar"]}
        )
    week_start = nxt.isocalendar()[:2] != as_of.isocalendar()[:2]
    blocked = bool(params.get("fomc_rule", True)) and nxt in fomc
    if condor is not None:
        expiry = date.fromisoformat(condor["expiry"])
        dte = (expiry - nxt).days
        if expiry == nxt:
            rows.append(
                {
                    "action": "condor settles",
                    "reason": f"expiry {expiry}: cash-settled at the SPX open",
                }
            )
        elif dte <= int(params["exit_dte"]) and not params.get("hold_to_expiry"):
            rows.append(
                {
                    "action": "close the condor",
                    "reason": f"time exit: {dte} days to expiry <= {params['exit_dte']}",
                }
            )
        elif not params.get("hold_to_expiry"):
            credit = float(condor["price"])
            rows.append(
                {
                    "action": "close the condor if triggered",
                    "reason": (
                        f"profit take at a mark <= {(1 - params['profit_take']) * credit:.2f}, "
                        f"stop at >= {(1 + params['stop_multiple']) * credit:.2f} "
                        f"(opening mid {credit:.2f})"
                    ),
                }
            )
    open_after = condor is not None and not any(
        r["action"] in ("condor settles", "close the condor") for r in rows
    )
    if week_start:
        if blocked:
            rows.append(
                {
                    "action": "no entry, no re-hedge",
                    "reason": f"{nxt} is an FOMC announcement day: moved to the next session",
                }
            )
        else:
            if not open_after or int(params["max_open"]) > 1:
                rows.append(
                    {
                        "action": "open a condor",
                        "reason": f"first session of the week; target {params['target_dte']} "
                        f"DTE, {params['short_delta']} delta shorts",
                    }
                )
            rows.append(
                {
                    "action": "re-hedge",
                    "reason": "weekly: hedge vega = h x |condor vega| with h = "
                    f"{float(last['hedge_ratio']):.2f} (R² {_r2(last)} against band "
                    f"{params['band_low']}-{params['band_high']})",
                }
            )
    roll_days = int(params["roll_days"])
    for expiry in expiries:  # the first two listed VX months
        # as the engine counts (transforms.backtest.market.ladder_months): a contract
        # leaves the count once it is roll_days or fewer sessions from its expiry
        left = sum(1 for d in sessions if d <= expiry) - 1  # sessions after the next one
        if left == roll_days:
            rows.append(
                {
                    "action": "roll the VX ladder",
                    "reason": f"the VX contract expiring {expiry} is {left} sessions from "
                    f"expiry on the next session (roll_days {roll_days}): each slot moves "
                    "one month out",
                }
            )
    if not rows:
        rows.append({"action": "hold", "reason": "no rule triggers on the next session"})
    return pl.DataFrame(rows)


def _r2(last: dict[str, Any]) -> str:
    v = last.get("r2_60")
    return "n/a" if v is None else f"{v:.2f}"
