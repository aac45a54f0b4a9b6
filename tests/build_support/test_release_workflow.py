"""The release workflow (.github/workflows/release.yml) cannot run on our machines: it is linted
with yamllint and its shape is checked here, so a typo or a lost step fails a test instead of a
release.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_workflow_passes_yamllint_strictly() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", str(ROOT / ".yamllint.yml"),
         str(WORKFLOW)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_yamllint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "release.yml"
    broken.write_text(WORKFLOW.read_text().replace("    steps:\n", "    steps:\n  bad: [\n", 1))
    out = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", str(ROOT / ".yamllint.yml"),
         str(broken)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0 and "error" in out.stdout


def test_matrix_covers_linux_windows_and_macos(workflow: dict[str, Any]) -> None:
    (job,) = workflow["jobs"].values()
    oses = job["strategy"]["matrix"]["os"]
    assert {o.split("-")[0] for o in oses} == {"ubuntu", "windows", "macos"}
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["strategy"]["fail-fast"] is False  # one OS failing must not hide the others
    # PyYAML (YAML 1.1) reads the key `on` as True; GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert "workflow_dispatch" in triggers and triggers["push"]["tags"] == ["v*"]


def test_steps_install_test_build_with_smoke_test_and_upload(workflow: dict[str, Any]) -> None:
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    runs = [s.get("run", "") for s in steps]
    uses = [s.get("uses", "") for s in steps]
    order = [
        next(i for i, u in enumerate(uses) if u.startswith("actions/checkout@")),
        next(i for i, r in enumerate(runs) if 'pip install -e ".[test,build]"' in r),
        next(i for i, r in enumerate(runs) if "pytest" in r),
        next(i for i, r in enumerate(runs) if "build_installer.py --smoke-test" in r),
        next(i for i, u in enumerate(uses) if u.startswith("actions/upload-artifact@")),
    ]
    assert order == sorted(order)
    upload = steps[order[-1]]["with"]
    for pattern in ("*.tar.gz", "*.zip", "*-setup.exe", "*.dmg"):
        assert f"dist/{pattern}" in upload["path"]
    assert upload["if-no-files-found"] == "error"
    assert any("innosetup" in r for r in runs)  # iscc for the Windows installer
    assert any("desktop-file-utils" in r for r in runs)
