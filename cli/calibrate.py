"""``alvh calibrate``: arguments and the printed fit."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows import settings


def add_parser(sub: Any, add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit the SPX half-spread model on every quote sample and store it",
        description="Fit the half-spread per option leg (price, days to expiry, VIX, era, "
        "quote type) on the 2011 chain in $ALVH_SHARED_DATA and the samples in "
        "$ALVH_OPTION_QUOTES, print each term and each sample's error, and write "
        "results.calibrations. Needs the warehouse's VIX closes.",
        epilog="example: alvh calibrate --db data/alvh.duckdb",
    )
    p.add_argument(
        "--quotes",
        type=Path,
        default=None,
        help="folder of spx_options_quotes_*.csv[.gz] (default: $ALVH_OPTION_QUOTES, else "
        "option-quotes beside $ALVH_SHARED_DATA)",
    )
    add_db(p)


def calibrate(args: argparse.Namespace, db: Path, show: Callable[..., None]) -> int:
    import polars as pl

    from flows.calibrate import calibrate as fit_and_store

    quotes = args.quotes or settings.option_quotes()
    cid, fit, files = fit_and_store(db, quotes)
    print(f"spread model fitted on {fit.quotes:,} quotes of {len(fit.samples)} samples:")
    for s in fit.samples:
        print(f"  {s.name}  {s.first} .. {s.last}  {files[s.name]}")
    show(
        pl.DataFrame(
            {
                "term": list(fit.terms),
                "estimate": [e for e, _ in fit.terms.values()],
                "std_error": [
                    None if math.isnan(se) else round(se, 4) for _, se in fit.terms.values()
                ],
            }
        ),
        max_rows=50,
    )
    print("each sample (half-spreads in index points; bias = mean log(model / quoted)):")
    show(
        pl.DataFrame(
            [
                {
                    "sample": s.name,
                    "quotes": s.quotes,
                    "vix": f"{s.vix[0]:.1f}-{s.vix[1]:.1f}",
                    "intraday": round(s.intraday_share, 2),
                    "median_quoted": round(s.median_quoted, 3),
                    "median_fitted": round(s.median_fitted, 3),
                    "rmse": round(s.rmse, 3),
                    "median_rel_error": round(s.median_relative_error, 3),
                    "bias": round(s.bias, 4),
                }
                for s in fit.samples
            ]
        ),
        max_rows=50,
    )
    from transforms.options.costs import SPREAD_MODEL

    same = fit.model == SPREAD_MODEL
    print(
        "the fit equals the backtest's default spread model"
        if same
        else "the fit differs from the backtest's default spread model "
        "(transforms/options/costs.py): backtests keep the default"
    )
    print(
        f'calibration {cid}   query it: {settings.sql_command(db)} "SELECT * FROM '
        f"results.calibrations WHERE calibration_id = '{cid}'\""
    )
    return 0
