"""``alvh calibrate``: fit the SPX half-spread model on every quote sample and store it.

Reads the 2011 chain in ``$ALVH_SHARED_DATA`` and the samples in ``$ALVH_OPTION_QUOTES``
(``spx_options_quotes_*.csv[.gz]``), the VIX close of every quote day from the
warehouse, fits :func:`transforms.options.costs.fit_spread_model` and writes one row of
``results.calibrations`` (one transaction). No Prefect run: it is a seconds-long fit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flows import settings
from transforms.calibration import FITTED, Calibration
from transforms.options.costs import SPREAD_MODEL, SpreadFit, fit_spread_model
from warehouse.db import connect_reader, writer
from warehouse.lockwait import WRITER_WAIT
from warehouse.results import write_calibration

CHAIN_2011 = "spx_options_eod_sample_2011-01.csv.gz"
QUOTE_FILES = "spx_options_quotes_*.csv*"


def sample_files(quotes: Path, shared: Path) -> dict[str, Path]:
    """Each quote sample by name (the year its file names; the stem if two share one)."""
    files = [shared / CHAIN_2011, *sorted(quotes.glob(QUOTE_FILES))]
    missing = [str(f) for f in files if not f.is_file()]
    if missing or len(files) == 1:
        raise FileNotFoundError(
            f"no quote sample at {missing[0] if missing else quotes / QUOTE_FILES} "
            "(set ALVH_SHARED_DATA, ALVH_OPTION_QUOTES or pass --quotes)"
        )
    names: dict[str, Path] = {}
    for f in files:
        year = re.search(r"(19|20)\d\d", f.name)
        name = year.group(0) if year else f.name
        names[f.name.split(".")[0] if name in names else name] = f
    return names


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, try_parse_dates=True, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValueError(f"{path}: not a readable quote sample ({exc})") from exc


def fit(files: dict[str, Path], db: Path) -> SpreadFit:
    """The spread model on ``files``, with the VIX closes the warehouse ``db`` holds."""
    samples = {name: _read(path) for name, path in files.items()}
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        vix = dict(con.execute("SELECT date, close FROM core.vix_daily").fetchall())
    finally:
        con.close()
    try:
        return fit_spread_model(samples, vix)
    except ValueError as exc:
        name = str(exc).split(":")[0].removeprefix("quote sample ")
        where = files.get(name)
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from exc


def calibration(result: SpreadFit) -> Calibration:
    """The calibration this fit makes: the fitted default's when the model equals it."""
    first = min(s.first for s in result.samples).isoformat()
    last = max(s.last for s in result.samples).isoformat()
    own = replace(FITTED, spread=result.model, windows={**FITTED.windows, "spread": (first, last)})
    return FITTED if own == FITTED else own


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def row(result: SpreadFit, files: dict[str, Path]) -> dict[str, Any]:
    cal = calibration(result)
    samples = [
        {
            "name": s.name,
            "file": files[s.name].name,
            "first": s.first.isoformat(),
            "last": s.last.isoformat(),
            "quotes": s.quotes,
            "vix_low": s.vix[0],
            "vix_high": s.vix[1],
            "intraday_share": s.intraday_share,
        }
        for s in result.samples
    ]
    errors = [
        {k: v for k, v in asdict(s).items() if k not in ("first", "last", "vix")}
        for s in result.samples
    ]
    terms = {k: {"estimate": e, "se": _finite(se)} for k, (e, se) in result.terms.items()}
    return {
        "calibration_id": cal.id,
        "kind": "spread",
        "is_default": result.model == SPREAD_MODEL,
        "samples": json.dumps(samples),
        "terms": json.dumps(terms),
        "sample_errors": json.dumps(errors),
        "code_version": settings.code_version(),
        "recorded_at": datetime.now(UTC).replace(tzinfo=None),
    }


def calibrate(db: Path, quotes: Path) -> tuple[str, SpreadFit, dict[str, Path]]:
    """Fit, store and return (calibration id, fit, the files by sample name)."""
    files = sample_files(quotes, settings.shared_data())
    result = fit(files, db)
    values = row(result, files)
    with writer(db) as con:
        write_calibration(con, values)
    return str(values["calibration_id"]), result, files
