"""``alvh report``: HTML pages of backtests, sweeps, today's book and the market."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows import ephemeral


def add_parser(sub: Any, add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "report",
        help="write HTML reports (backtests, sweeps, today's book, the weekly market review)",
        description="Write self-contained HTML pages under --out with plotly.min.js beside "
        "them and an index.html linking every page there. With no --run or --sweep, the "
        "latest saved-book run and the latest sweep are reported (as with --latest): "
        "their pages, today's book, the weekly market review, the latest replication and "
        "validation.",
    )
    p.add_argument(
        "--run", action="append", default=[], metavar="RUN_ID", help="a backtest run (repeatable)"
    )
    p.add_argument(
        "--sweep", action="append", default=[], metavar="SWEEP_ID", help="a sweep (repeatable)"
    )
    p.add_argument(
        "--latest", action="store_true", help="also the latest run, sweep and the daily pages"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the pages (default reports/<warehouse name>/ beside the warehouse: "
        "data/reports/alvh/ for data/alvh.duckdb)",
    )
    add_db(p)


def report(args: argparse.Namespace, db: Path) -> int:
    from flows.report import NotFound, ReportRequest, report_flow, report_folder

    latest = args.latest or not (args.run or args.sweep)
    request = ReportRequest(db=db, out=args.out, runs=args.run, sweeps=args.sweep, latest=latest)
    ephemeral.start()
    try:
        pages = report_flow(request)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for page in pages:
        print(f"  {page} ({page.stat().st_size / 1e6:.1f} MB)")
    out = args.out or report_folder(db)
    print(f"{len(pages)} pages; open {(out / 'index.html').resolve().as_uri()}")
    return 0
