"""The house rules are checked, one test per tool, so a failure shows in the pytest summary.

ruff (lint and format), mypy (lenient overall, strict on api/ and store/) and import-linter (no Qt
in the core; the layers) read their settings from pyproject.toml. Each runs on the whole tree, as
a developer would before a commit (docs/DEVELOPING.md).
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout[-6000:] + proc.stderr[-2000:]


def test_ruff_finds_nothing_to_fix() -> None:
    proc = run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert proc.returncode == 0, output(proc)


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    proc = run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")
    assert proc.returncode == 0, "run `ruff format .`\n" + output(proc)


def test_mypy_passes() -> None:
    proc = run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, output(proc)
    assert "Success: no issues found" in proc.stdout


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    proc = run(exe, "--no-cache")
    assert proc.returncode == 0, output(proc)
    # Both contracts ran (a contract renamed or dropped from pyproject.toml would pass silently).
    assert "The core knows nothing of Qt KEPT" in proc.stdout
    assert "Layers: ui > services > store | api | sandbox" in proc.stdout


def test_every_module_but_the_ui_is_under_the_no_qt_contract() -> None:
    """A new top-level module (a ``cli_*.py``, a package) is Qt-free unless it is the UI: the
    contract must name it, or it could import Qt unnoticed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    no_qt = next(c for c in contracts if c["name"] == "The core knows nothing of Qt")
    covered = {m.removeprefix("gradient_desktop.") for m in no_qt["source_modules"]}
    top_level = {m.name for m in pkgutil.iter_modules([str(ROOT / "gradient_desktop")])}
    assert top_level - covered == {"ui", "__main__"}


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in helper modules and conftest.py (docs/DEVELOPING.md): importing
    a test module runs its tests' module-level set-up twice and ties unrelated files together."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for name in _imported_modules(path):
            if name.rsplit(".", 1)[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)
