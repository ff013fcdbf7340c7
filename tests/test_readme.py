"""The README's first screen, run as a new user runs it, in its order."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import REPO


def _blocks(page: str = "README.md") -> list[list[str]]:
    text = (REPO / page).read_text()
    return [b.strip().splitlines() for b in re.findall(r"```bash\n(.*?)```", text, re.S)]


def _command(line: str) -> list[str]:
    return shlex.split(line.split("  #", 1)[0])


@pytest.mark.slow
def test_the_first_screen_runs_in_its_order(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = _blocks()[:2]
    assert [_command(c)[:2] for c in first] == [
        ["make", "setup"],
        ["make", "run"],
        ["make", "test"],
    ]
    make_run = (REPO / "Makefile").read_text().split("\nrun:\n\t", 1)[1].split("\n", 1)[0]
    assert make_run == "$(BIN)/alvh run"
    monkeypatch.chdir(tmp_path)  # a clean clone's data/ folder
    assert main(["run"]) == 0  # make run: the synthetic market
    assert Path("data/synthetic.duckdb").is_file()
    assert re.search(r"│ ruined\s+┆ no\s+│", capsys.readouterr().out)  # a book that lives
    for line in second:
        command = _command(line)
        assert command[0] == ".venv/bin/alvh", line
        args = [a.replace("../shared/data", str(shared_data)) for a in command[1:]]
        capsys.readouterr()
        assert main(args) == 0, (line, capsys.readouterr().err)
        if args[0] == "run":  # the real history's default book lives too
            assert re.search(r"│ ruined\s+┆ no\s+│", capsys.readouterr().out)
        elif args[0] == "sweep":  # ranked, living configurations
            out = capsys.readouterr().out
            assert "best 5 by sharpe" in out and "were ruined" not in out, out[-2000:]
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("│")]
    assert len(rows) == 6 and "hedge_ratio" in rows[0]  # the header and the best five
    # The Querying section's readers of the export, as written.
    querying = _blocks("docs/querying.md")
    (export,) = [b for b in querying if any(".venv/bin/duckdb" in line for line in b)]
    bin_dir = Path(sys.executable).parent
    for line in export:
        command = line.replace(".venv/bin/", f"{bin_dir}/")
        result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        assert result.returncode == 0 and result.stdout.strip(), (line, result.stderr)
    # The real history went to its own warehouse, untouched by the synthetic market.
    assert Path("data/alvh.duckdb").is_file()
    held = "SELECT DISTINCT source FROM ingest_runs WHERE series = 'spx_daily'"
    assert main(["sql", "--format", "csv", held]) == 0
    update = shared_data.parent / "data-updates" / "2026-09"
    assert sorted(capsys.readouterr().out.splitlines()[1:]) == sorted(
        [f"dir:{shared_data}", f"dir:{update}"]
    )


def test_an_ingest_never_mixes_the_synthetic_market_with_real_data(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vix_daily.csv").write_bytes((shared_data / "vix_daily.csv").read_bytes())
    assert main(["ingest", "--source", "synthetic", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["ingest", "--source", f"dir:{folder}", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {db} holds the synthetic market; loading real data")
    assert "data/synthetic.duckdb" in err and "data/alvh.duckdb" in err


def test_the_readme_fits_and_links_only_pages_that_exist() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert links and all((REPO / link).is_file() for link in links), links
    nav = (REPO / "mkdocs.yml").read_text()
    assert all(link.removeprefix("docs/") in nav for link in links)
