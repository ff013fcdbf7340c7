"""``alvh backtest`` and ``alvh sweep``: arguments, progress and the printed summaries."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows import ephemeral, settings

if TYPE_CHECKING:
    from flows.backtest import SweepRequest

SHOWN_PARAMS = ("hedge_ratio", "band_low", "band_high", "controller")
SHOWN_METRICS = (
    "sharpe",
    "sharpe_out_of_sample",
    "cagr",
    "max_drawdown",
    "r2_60_mean",
    "time_in_band",
    "hedge_cost_flat",
)
GRID_HELP = """\
TOML grid file: fixed parameters under [base], one sweep dimension per key under [grid]
(a list of values, or "start:stop:step"; r2_band takes "low-high" strings; parameters
that vary together are one key, their names joined by commas, with a list of rows):

  [base]
  lots = 50
  [grid]
  hedge_ratio = "0:0.4:0.02"
  r2_band = ["0.45-0.65", "0.35-0.55"]
  call_delta = [0.25, 0.30, 0.40]
  "ladder_w2,ladder_w3,ladder_w4" = [[0.4, 0.4, 0.2], [0.6, 0.3, 0.1]]
"""


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{flag} takes NAME=VALUE, got {item!r}")
        out.append((name.strip(), value.strip()))
    return out


def _values(items: list[str]) -> dict[str, Any]:
    from transforms.backtest.params import parse_value

    return {name: parse_value(name, value) for name, value in _pairs(items, "--param")}


def add_parsers(sub: Any, add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    from transforms.backtest import DEFAULT_BANDS, DEFAULT_HEDGE_RATIOS

    p = sub.add_parser(
        "backtest",
        help="run one configuration (reference simulator) and print its metrics",
        description="Backtest one configuration of the hedged condor book on the warehouse "
        "data and write results.backtest_runs/daily/trades/metrics.",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter (repeatable), e.g. --param hedge_ratio=0.3; "
        "`alvh params` lists every name, default, unit and domain",
    )
    p.add_argument("--holdout", type=date.fromisoformat, help="out-of-sample start (2018-01-01)")
    add_db(p)

    p = sub.add_parser(
        "params",
        help="list the book's parameters: default, unit, domain, methodology section",
        description="Every parameter a backtest or sweep takes (--param NAME=VALUE, a grid "
        "dimension), with its default, unit, the values it may take and the section of "
        "the methodology it implements.",
        epilog="example: alvh params hedge_ratio band_low band_high",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these parameters")

    p = sub.add_parser(
        "sweep",
        help="run a grid of configurations (vectorised engine) and rank them",
        description="Sweep any parameters with the vectorised engine; writes "
        "results.sweep_runs, results.sweep_results and the top configurations' daily rows.",
        epilog=GRID_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--hedge-ratio",
        help=f"hedge ratios, start:stop:step or a list (default {DEFAULT_HEDGE_RATIOS})",
    )
    p.add_argument("--r2-band", help=f"R-squared bands low-high,... (default {DEFAULT_BANDS})")
    p.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="another sweep dimension (repeatable): NAME=start:stop:step or NAME=v1,v2; "
        "parameters that vary together: A,B=a1/b1,a2/b2",
    )
    p.add_argument("--grid", type=Path, help="TOML grid file (see below)")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="fixed override"
    )
    p.add_argument("--rank", default="sharpe", help="metric that ranks configurations (sharpe)")
    p.add_argument("--top", type=int, default=5, help="configurations kept with daily rows (5)")
    p.add_argument(
        "--min-in-band",
        type=float,
        default=0.0,
        help="rank only configurations inside their R-squared band at least this share of days",
    )
    p.add_argument("--chunk", type=int, default=1000, help="configurations per engine chunk (1000)")
    p.add_argument(
        "--max-configs",
        type=int,
        metavar="N",
        help="refuse a grid (or a range) of more than N configurations (default 200,000)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run chunks on a local Dask cluster of N worker processes (default: in this process)",
    )
    where.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=os.environ.get("ALVH_DASK_CLUSTER") or None,
        help="run chunks on the running Dask scheduler at ADDRESS (tcp://HOST:8786; "
        "default: $ALVH_DASK_CLUSTER unless --workers is given)",
    )
    p.add_argument("--holdout", type=date.fromisoformat, help="out-of-sample start (2018-01-01)")
    p.add_argument(
        "--frontier",
        action="store_true",
        help="the R-squared frontier: per band and hedge sizing rule, the configuration with "
        "the most time in band before --holdout, re-run and measured after it (time in band, "
        "out-of-band days by level and by variability, hedge P&L per year; results.frontier)",
    )
    wf = p.add_argument_group(
        "walk-forward",
        "select on each training window only, test on the months after it, and stitch the "
        "out-of-sample series (results.walk_forward, results.walk_forward_daily)",
    )
    wf.add_argument("--walk-forward", action="store_true", help="run the walk-forward")
    wf.add_argument("--train", type=_months, default=36, help="training window, months (36)")
    wf.add_argument("--test", type=_months, default=12, help="test window, months (12)")
    wf.add_argument(
        "--window", choices=("rolling", "expanding"), default="rolling", help="(rolling)"
    )
    wf.add_argument(
        "--select",
        choices=("overlay_sharpe", "sharpe"),
        default="overlay_sharpe",
        help="what each fold maximises (overlay_sharpe: the options book against the "
        "equity sleeve alone); --min-in-band constrains it on the training months",
    )
    add_db(p)


def _months(text: str) -> int:
    """A whole, positive number of months (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of months, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least one month, got {value}")
    return value


@contextmanager
def _bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=False) as progress:
        job = progress.add_task(label, total=total)
        yield lambda n: progress.advance(job, n)


def print_metrics(metrics: Any, print_table: Callable[..., None]) -> None:
    import polars as pl

    from transforms.backtest.metric_registry import METRICS

    row = metrics.row(0, named=True)

    def shown(m: str) -> str:
        if m == "ruined":
            return f"yes, on {row['ruin_date']}" if row[m] else "no"
        return f"{row[m]:,.4f}" if row[m] == row[m] else "n/a"

    print_table(pl.DataFrame({"metric": list(METRICS), "value": [shown(m) for m in METRICS]}))
    if row["ruined"]:
        smaller = (
            f"--param margin_target={row['margin_target'] / 2:g}"
            if row["margin_target"] > 0
            else f"fewer than {row['lots']} lots, or one sized to the account: "
            "--param margin_target=0.1"
        )
        print(
            f"this book was ruined on {row['ruin_date']} (equity reached zero): it trades no "
            f"more after that. Try a smaller condor ({smaller}), wider wings "
            "(--param wing_pct=0.08) or --param hold_to_expiry=true"
        )
    elif row["turnover"] == 0:
        print("this book never traded: no condor could be opened and nothing was hedged")


def backtest(args: argparse.Namespace, db: Path, print_table: Callable[..., None]) -> int:
    from flows.backtest import BACKTEST_STEPS, BacktestRequest, backtest_flow, reporting, warm
    from transforms.backtest.params import BacktestParams, as_record, with_values
    from transforms.calibration import calibration_id

    try:
        values = _values(args.param)
        params = with_values(BacktestParams(), values)  # validate before starting Prefect
        holdout = {"holdout_start": args.holdout} if args.holdout else {}
        request = BacktestRequest(db=db, values=values, **holdout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    warm(request)  # while Prefect's temporary server starts
    ephemeral.start()
    with _bar("backtest", BACKTEST_STEPS) as advance, reporting(advance):
        rid, metrics = backtest_flow(request)
    print_metrics(metrics, print_table)
    print(f"run {rid} written to results.backtest_runs / _daily / _trades / _metrics")
    print(f"calibration {calibration_id(as_record(params))} (transforms/calibration.py)")
    print(
        f"query it: {settings.sql_command(db)} "
        '"SELECT date, equity, hedge_ratio, r2_60, unhedged_r2_60 '
        f"FROM results.backtest_daily WHERE run_id = '{rid}' ORDER BY date DESC LIMIT 10\""
    )
    return 0


def _dimensions(args: argparse.Namespace) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Fixed values and the grid as written (compact: ranges stay ``a:b:step``)."""
    from transforms.backtest.params import grid_spec, read_grid

    base = _values(args.param)
    specs: list[tuple[str, Any]] = []
    if args.grid is not None:
        try:
            text = args.grid.read_text()
        except OSError as exc:
            raise ValueError(f"grid file {args.grid}: {exc}") from None
        grid_base, specs = read_grid(text, where=str(args.grid))
        base.update(grid_base)
    specs += [(name, value) for name, value in _pairs(args.dim, "--dim")]
    return base, grid_spec(specs, hedge_ratio=args.hedge_ratio, r2_band=args.r2_band)


def _cluster_usable(args: argparse.Namespace) -> bool:
    """``--cluster`` (or ALVH_DASK_CLUSTER, unless ``--workers`` asks for a local one)
    checked before the sweep starts: one error line if it cannot be used."""
    from flows.backtest import ClusterUnreachable, check_cluster

    if args.workers:
        args.cluster = None  # a local cluster asked for overrides $ALVH_DASK_CLUSTER
    if args.cluster:
        try:
            print(check_cluster(args.cluster), flush=True)
        except ClusterUnreachable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return False
    return True


def _sweep_request(
    args: argparse.Namespace, db: Path
) -> tuple[SweepRequest, list[tuple[list[str], list[list[Any]]]], int]:
    """The sweep a command line asks for, its dimensions listed and its size; ValueError
    names what is wrong."""
    from flows.backtest import SweepRequest
    from transforms.backtest.metric_registry import METRICS
    from transforms.backtest.params import (
        MAX_CONFIGS,
        BacktestParams,
        expand_grid,
        sweep_dimensions,
        with_values,
    )

    limit = args.max_configs or MAX_CONFIGS
    base, spec = _dimensions(args)
    dims = sweep_dimensions(spec, limit=limit)
    configs = len(expand_grid(with_values(BacktestParams(), base), dims, limit=limit))
    if args.rank not in METRICS:
        raise ValueError(f"unknown metric {args.rank!r}; choose from {', '.join(METRICS)}")
    request = SweepRequest(
        db=db,
        values=base,
        dimensions=dict(spec),  # compact: Prefect's parameters stay small
        max_configs=limit,
        rank_metric=args.rank,
        top_n=args.top,
        min_time_in_band=args.min_in_band,
        chunk=args.chunk,
        workers=args.workers,
        cluster=None if args.workers else args.cluster,
        walk_forward=args.walk_forward,
        frontier=args.frontier,
        train_months=args.train,
        test_months=args.test,
        window=args.window,
        select_metric=args.select,
        **({"holdout_start": args.holdout} if args.holdout else {}),
    )
    return request, dims, configs


def sweep(args: argparse.Namespace, db: Path, print_table: Callable[..., None]) -> int:
    try:
        request, dims, configs = _sweep_request(args, db)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = " x ".join(f"{'/'.join(n)} {len(r)}" for n, r in dims)
    print(f"sweep: {configs} configurations ({sizes})", flush=True)
    from flows.backtest import reporting, sweep_flow, warm

    if not _cluster_usable(args):
        return 2
    warm(request)  # while Prefect's temporary server starts
    ephemeral.start()
    with _bar("sweep", configs) as advance, reporting(advance):
        out = sweep_flow(request)  # on Dask when the request asks for workers
    inserted, changed, unchanged = out["counts"]
    if out["ruined"] == configs:
        print(
            f"every configuration ({configs}) was ruined (equity reached zero; the first on "
            f"{out['first_ruin']}): none is ranked. Try a smaller condor (--dim "
            "margin_target=0.05,0.1 or --param lots=5), wider wings (--dim wing_pct=0.05,0.08) "
            "or --param hold_to_expiry=true"
        )
    elif out["ruined"]:
        print(
            f"{out['ruined']} of {configs} configurations were ruined (equity reached zero; "
            f"the first on {out['first_ruin']}): they are stored but never ranked"
        )
    record = out["record"]
    engine = record["engine_seconds"]
    print(
        f"sweep {out['sweep_id']}: {configs} configurations, engine {engine:.1f} s "
        f"({configs / engine:,.0f}/s), {record['seconds']:.1f} s in all; sweep_results: "
        f"{inserted} new, {changed} changed, {unchanged} identical to the stored run"
    )
    best = out["best"]
    if best.height:
        print(f"best {best.height} by {args.rank} (time in band >= {args.min_in_band:g}):")
        import polars as pl

        shown = best.select(
            "config_hash", *SHOWN_PARAMS, *dict.fromkeys((args.rank, *SHOWN_METRICS))
        ).with_columns(pl.selectors.float().round(4))
        print_table(shown)
        stress = best["stress_hedge_ratio"][0]
        low, high = best["h_min"][0], best["h_max"][0]
        bounds = (
            ""
            if low <= stress <= high
            else f" (outside the hedge ratio's bounds [{low:g}, {high:g}]: not settable)"
        )
        print(
            f"stress-calibrated hedge ratio (offsets the condor's modelled loss on a -4 % SPX "
            f"day; median over the run): {stress:.2f}{bounds}"
        )
        dsr = record["deflated_sharpe"]
        trials = (
            f"{record['trials_counted']:g} effective trials in its family: "
            f"{record['distinct_trials']} distinct of {configs}, {record['registry_trials']} "
            f"earlier in the family on this data; {record['snapshot_trials']} distinct series "
            "on this data in every family"
        )
        if dsr is not None:
            print(f"deflated Sharpe ratio of the best ({trials}): {dsr:.3f}")
        elif args.rank != "sharpe":
            print(f"no deflated Sharpe ratio of the best: the sweep ranks by {args.rank}")
        else:
            print(
                f"no deflated Sharpe ratio: it needs at least two configurations whose "
                f"Sharpe ratios differ (this sweep has {configs})"
            )
    elif out["ruined"] < configs:
        print(
            f"no configuration to rank: none of the {configs - out['ruined']} that lived "
            f"spent {args.min_in_band:.0%} of its days inside its band (lower --min-in-band)"
        )
    _print_selection(record, out.get("walk_forward"), print_table)
    if out.get("frontier") is not None:
        _print_frontier(out["frontier"], print_table)
    sid = out["sweep_id"]
    print(
        f"query them: {settings.sql_command(db)} "
        '"SELECT config_hash, hedge_ratio, band_low, band_high, sharpe, '
        f"time_in_band FROM results.sweep_results WHERE sweep_id = '{sid}' AND NOT ruined "
        f'AND time_in_band >= {args.min_in_band:g} ORDER BY sharpe DESC LIMIT 10"'
    )
    return 0


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


def _print_selection(record: dict[str, Any], folds: Any, print_table: Callable[..., None]) -> None:
    """The null, the overlay's deflated Sharpe, PBO and the walk-forward's figures."""
    import polars as pl

    print(f"null hypothesis: {record['null_hypothesis']}")
    if record["overlay_best_config_hash"] is not None:
        print(
            f"best overlay Sharpe {record['overlay_best_sharpe']:.3f} "
            f"({record['overlay_best_config_hash']}): deflated Sharpe ratio "
            f"{_fmt(record['overlay_deflated_sharpe'], '.3f')} over "
            f"{record['trials_counted']:g} effective trials of its family "
            f"({record['trial_family']}; {record['snapshot_trials']} distinct series on this "
            "data in every family)"
        )
    if record.get("ruin_rate") is not None:
        print(f"ruin rate: {record['ruin_rate']:.1%} of the configurations (equity reached zero)")
    if record.get("pbo") is not None:
        print(
            f"probability of backtest overfitting (CSCV, {record['pbo_splits']:,} splits): "
            f"{_fmt(record.get('pbo_survivors'), '.2f')} among the "
            f"{record['pbo_survivor_configs']} configurations never ruined (the headline: a "
            f"ruined configuration's test rank measures ruin, which the ruin rate reports), "
            f"{record['pbo']:.2f} among all; the in-sample winner's Sharpe falls by "
            f"{_fmt(-record['pbo_degradation'], '.2f')} out of sample on average"
        )
    if record.get("selection_note"):
        print(record["selection_note"])
    if folds is not None and not folds.is_empty():
        print("walk-forward folds (chosen on the training months only):")
        print_table(
            folds.select(
                "fold", "train_start", "test_start", "test_end", "config_hash", "eligible",
                "train_metric", "test_overlay_sharpe", "test_time_in_band",
                "calibration_in_sample",
            ).with_columns(pl.selectors.float().round(3))
        )  # fmt: skip
        if record.get("oos_sessions") is None:
            print(
                "nothing out of sample: no fold had an eligible configuration (never ruined "
                "up to the fold, inside its band long enough on the training months)"
            )
            return
        print(
            f"out of sample, stitched over {record['oos_sessions']:,.0f} sessions: Sharpe "
            f"{_fmt(record.get('oos_sharpe'), '.3f')}, overlay Sharpe "
            f"{_fmt(record.get('oos_overlay_sharpe'), '.3f')}, time in band "
            f"{_fmt(record.get('oos_time_in_band'), '.1%')}, CAGR "
            f"{_fmt(record.get('oos_cagr'), '.2%')}, max drawdown "
            f"{_fmt(record.get('oos_max_drawdown'), '.1%')}, hedge P&L "
            f"{_fmt(record.get('oos_hedge_cost'), '.2%')}/yr of equity over all days, "
            f"{_fmt(record.get('oos_hedge_cost_flat'), '.2%')}/yr on flat days"
        )
        offsets = [
            f"{k.removeprefix('oos_offset_')} {record[k]:.2f}"
            for k in record
            if k.startswith("oos_offset_") and record[k] is not None
        ]
        if offsets:
            print("stress-window offsets (hedge P&L / condor loss): " + ", ".join(offsets))


def _print_frontier(rows: Any, print_table: Callable[..., None]) -> None:
    import polars as pl

    print(
        "R-squared frontier (per band and sizing rule: chosen on time in band before the "
        "hold-out, measured after it; out-of-band days by level, the R-squared's one-year "
        "mean outside the band too, or by variability, the mean inside; hedge P&L per year "
        "of equity over all days):"
    )
    print_table(
        rows.select(
            pl.format("{}-{}", "band_low", "band_high").alias("band"), "rule", "hedge_ratio",
            "in_sample_time_in_band", "time_in_band", "out_level", "out_variability", "r2_std",
            "hedge_pnl_per_year", "time_in_band_120", "time_in_band_250",
        ).with_columns(pl.selectors.float().round(3)),
        max_rows=100,
    )  # fmt: skip
    empty = rows.filter(pl.col("config_hash").is_null())
    for band_low, band_high, rule in empty.select("band_low", "band_high", "rule").iter_rows():
        print(
            f"  {band_low:g}-{band_high:g} {rule}: no figures, every configuration of it was "
            "ruined or had no R-squared before the hold-out"
        )


def params(args: argparse.Namespace, print_table: Callable[..., None]) -> int:
    import polars as pl

    from transforms.backtest.params import DOCS, DOMAINS, FIELDS, NAMES, BacktestParams

    unknown = [n for n in args.names if n not in FIELDS]
    if unknown:
        print(
            f"error: unknown parameter {', '.join(unknown)}: `alvh params` lists them",
            file=sys.stderr,
        )
        return 2
    default = BacktestParams()
    names = args.names or NAMES
    kinds = {"bool": "true/false", "date": "a date", "date | None": "a date or none"}
    print_table(
        pl.DataFrame(
            {
                "parameter": list(names),
                "default": [str(getattr(default, n)) for n in names],
                "unit": [DOCS[n].unit for n in names],
                "values": [str(DOMAINS[n]) if n in DOMAINS else kinds[FIELDS[n]] for n in names],
                "section": [DOCS[n].section for n in names],
                "meaning": [DOCS[n].meaning for n in names],
            }
        ),
        max_rows=len(names),
    )
    return 0
