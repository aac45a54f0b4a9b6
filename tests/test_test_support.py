"""The test suite's own guards work: a test that leaves a window open fails."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def test_a_window_left_open_fails_the_test_and_a_registered_one_does_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest(
        "from tests.conftest import no_leaked_windows, pytest_runtest_makereport  # noqa: F401\n"
    )
    pytester.makepyfile(
        """
        from PySide6.QtWidgets import QWidget

        KEPT = []

        def test_leaks(qtbot):
            window = QWidget()
            window.setWindowTitle("Forgotten")
            window.show()
            KEPT.append(window)

        def test_registers(qtbot):
            window = QWidget()
            qtbot.addWidget(window)
            window.show()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*left 1 top-level window(s) open: QWidget(Forgotten)*"])
