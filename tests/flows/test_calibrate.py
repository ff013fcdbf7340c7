"""``alvh calibrate``: the spread model fitted on every quote sample, printed and stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import query
from transforms.calibration import FITTED


def test_calibrate_prints_and_stores_the_fit_on_all_four_samples(
    real_warehouse: Path, option_quotes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "alvh.duckdb"
    shutil.copy(real_warehouse, db)
    assert main(["calibrate", "--db", str(db), "--quotes", str(option_quotes)]) == 0
    out = capsys.readouterr().out
    assert "fitted on 35,545 quotes of 4 samples" in out
    assert "vix_elasticity" in out and "median_rel_error" in out
    assert "equals the backtest's default spread model" in out
    rows = query(db, "SELECT * FROM results.calibrations")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert row["calibration_id"] == FITTED.id and row["is_default"] and row["kind"] == "spread"
    samples = json.loads(row["samples"])
    assert [s["name"] for s in samples] == ["2004", "2011", "2016", "2019"]
    assert [s["first"] for s in samples] == ["2004-01-02", "2011-01-03", "2016-01-20", "2019-04-26"]
    terms = json.loads(row["terms"])
    assert terms["price_elasticity"]["estimate"] == 0.331 and terms["era 2019"]["se"] > 0
    errors = {e["name"]: e for e in json.loads(row["sample_errors"])}
    assert set(errors) == {"2004", "2011", "2016", "2019"}
    assert all(0 < e["rmse"] < 0.4 for e in errors.values())
    # the same fit again replaces its row with an equal one
    assert main(["calibrate", "--db", str(db), "--quotes", str(option_quotes)]) == 0
    assert query(db, "SELECT count(*) AS n FROM results.calibrations")["n"][0] == 1

    # a missing folder or a broken sample: one line naming it, nothing stored
    assert main(["calibrate", "--db", str(db), "--quotes", str(tmp_path / "none")]) == 2
    assert "none/spx_options_quotes_*" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "spx_options_quotes_2020-03-02.csv").write_text("date,bid\n2020-03-02,1.0\n")
    assert main(["calibrate", "--db", str(db), "--quotes", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "spx_options_quotes_2020-03-02.csv" in err and "needs the columns" in err
    assert query(db, "SELECT count(*) AS n FROM results.calibrations")["n"][0] == 1
