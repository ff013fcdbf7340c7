"""``alvh replicate``: arguments and the printed tracking tables."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows import ephemeral, settings


def add_parser(sub: Any, add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    from transforms.replicate import INDICES

    p = sub.add_parser(
        "replicate",
        help="rebuild published indices (SPVXSP, SPVXMP, VXTH, PUT, CNDR) and print the tracking",
        description="Replicate published benchmark indices with the engine's own VX roll "
        "and option pricing, compare with the published histories in "
        "$ALVH_SHARED_DATA/reference, write results.replication_runs/replication_daily "
        "and an HTML chart per index.",
    )
    p.add_argument(
        "indices",
        nargs="*",
        metavar="INDEX",
        help=f"indices to replicate (default: all of {', '.join(INDICES)})",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="folder of the published files (default: $ALVH_SHARED_DATA/reference)",
    )
    p.add_argument(
        "--charts",
        type=Path,
        default=Path("data/replication"),
        help="folder for the HTML charts (default: ./data/replication)",
    )
    add_db(p)


def replicate(args: argparse.Namespace, db: Path, show: Callable[..., None]) -> int:
    import polars as pl

    from flows.replicate import ReplicateRequest, replicate_flow
    from transforms.replicate.run import INDICES, PERCENT, REPORTED

    request = ReplicateRequest(
        db=db,
        indices=list(args.indices or INDICES),
        charts=args.charts,
        **({"reference": args.reference} if args.reference else {}),
    )
    print(f"published files: {request.reference}")
    ephemeral.start()
    rid, result, charts = replicate_flow(request)
    table = (
        result.summary.select(REPORTED)
        .with_columns((pl.col(c) * 100).round(3) for c in PERCENT)
        .with_columns(pl.col("correlation").round(6))
    )
    print("tracking (percent; tracking_error and returns annualised, drift per year):")
    show(table, max_rows=100)
    if result.calibrated:
        print("calibrated (calibration and evaluation windows never overlap):")
        for row in (
            result.summary.filter(pl.col("fitted") != "")
            .select("index_name", "window", "start", "end", "fitted")
            .unique(maintain_order=True)
            .iter_rows()
        ):
            print(f"  {row[0]:7s} {row[1]:13s} {row[2]} .. {row[3]}  ({row[4]})")
    if not result.call_errors.is_empty():
        print("VIX call model error vs real mid (VIX points, model - mid), VXTH's calls:")
        show(
            result.call_errors.drop("dates").with_columns(pl.col(pl.Float64).round(4)), max_rows=100
        )
    if not result.by_year.is_empty():
        print("by year (percent):")
        show(
            result.by_year.with_columns(
                (pl.col(c) * 100).round(3)
                for c in ("ours_return", "published_return", "tracking_error", "worst_abs_error")
            ),
            max_rows=200,
        )
    if not result.large_errors.is_empty():
        print("days with a daily error above 0.5 % (explained in transforms/replicate):")
        show(result.large_errors, max_rows=100)
    for path in charts:
        print(f"chart: {path}")
    print(
        f'run {rid}   query it: {settings.sql_command(db)} "SELECT * FROM results.replication_runs '
        f"WHERE run_id = '{rid}'\""
    )
    return 0
