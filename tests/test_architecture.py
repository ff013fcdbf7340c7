"""The rooms' import contracts (pyproject.toml's import-linter section) see every module
and fail when a pure module reaches for files, the warehouse or orchestration."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("transforms", "warehouse", "expectations", "flows", "cli", "report")
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _modules(root: Path, package: str) -> set[str]:
    out = set()
    for path in (root / package).rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_every_module_is_in_the_contracts_graph() -> None:
    graph = grimp.build_graph(*PACKAGES)
    on_disk = set().union(*(_modules(REPO, p) for p in PACKAGES))
    assert on_disk - graph.modules == set()


def test_no_pure_module_imports_the_file_system_or_the_os() -> None:
    banned = {"os", "shutil", "tempfile", "pathlib"}
    found = []
    for path in (REPO / "transforms").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in banned]
    assert found == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("transforms/backtest/run.py", "pathlib"),
        ("transforms/options/black.py", "duckdb"),
        ("transforms/selection/pbo.py", "prefect"),
    ],
)
def test_the_purity_contract_fails_on_a_forbidden_import(
    module: str, imported: str, tmp_path: Path
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(f"import {imported}  # noqa\n" + target.read_text())
    result = subprocess.run(
        [LINT, "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        check=False,
    )
    dotted = module.removesuffix(".py").replace("/", ".")
    assert result.returncode != 0, result.stdout
    assert f"transforms is not allowed to import {imported}" in result.stdout
    assert f"{dotted} -> {imported}" in result.stdout


MAX_PARAMETERS = 12


def test_no_engine_function_takes_more_than_twelve_parameters() -> None:
    """The engine's functions take structured records (named tuples of arrays, tuples of
    scalars), not long positional lists."""
    found = []
    for path in (REPO / "transforms").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                count += (a.vararg is not None) + (a.kwarg is not None)
                if count > MAX_PARAMETERS:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({count})")
    assert found == []


IMPORT_ONLY = """
import os
before = dict(os.environ)
import cli.main, expectations.runner, flows.backtest, flows.deployments, flows.pipeline
from warehouse.lockwait import WRITER_WAIT
from transforms.limits import INPUT_LIMITS
ours = ("PREFECT_", "GX_", "ALVH_", "DO_NOT_TRACK", "NUMBA_")  # not Polars' allocator's own
changed = sorted(k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k))
changed = [k for k in changed if k.startswith(ours)]
print(changed, WRITER_WAIT.seconds, INPUT_LIMITS.max_bytes)
from flows import settings
settings.configure()
print(WRITER_WAIT.seconds, INPUT_LIMITS.max_bytes, os.environ["PREFECT_LOGGING_LEVEL"])
print(os.environ["NUMBA_CACHE_DIR"] == str(settings.numba_cache()))
"""


def test_importing_changes_no_setting_and_configure_applies_them() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GX_", "NUMBA_"))}
    env |= {"ALVH_LOCK_WAIT": "7", "ALVH_MAX_INPUT_MB": "2"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        f"[] 60.0 {256 * 2**20}",
        f"7.0 {2 * 2**20} WARNING",
        "True",
    ]
