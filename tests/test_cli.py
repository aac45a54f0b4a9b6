"""The headless CLI: exit codes, messages a user can act on, and real pushes to the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.cli import main
from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
from tests.sandbox.helpers import mapped_accounts, token


def _csv(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text(
        "accountId,serviceId,unitCount\n" + "".join(f"{a},{s},{c}\n" for a, s, c in rows)
    )
    return path


@pytest.fixture
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIENT_VENDOR_KEY", VENDOR_KEY)
    monkeypatch.setenv("GRADIENT_PARTNER_KEY", PARTNER_DEMO)


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "gradient-desktop 0." in capsys.readouterr().out


def test_push_lands_every_row_with_one_rebuild(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, skus = mapped_accounts(sandbox.base_url, 20)
    rows = [(a, s, float(i % 7)) for i, (a, s) in enumerate((a, s) for a in accounts for s in skus)]
    code = main(["push", str(_csv(tmp_path / "c.csv", rows)), "--base-url", sandbox.base_url])
    assert code == 0, capsys.readouterr().err
    counts = sandbox.state.counts(PARTNER_DEMO)
    assert {(a, s): c for a, s, c in rows} == {
        (a, s): v["unitCount"] for (s, a), v in counts.items()
    }
    assert sandbox.state.rebuilds(PARTNER_DEMO) == 1
    assert "billing rebuilt once" in capsys.readouterr().err


def test_unmapped_rows_are_named_while_the_others_land(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, skus = mapped_accounts(sandbox.base_url, 3)
    rows = [(accounts[0], skus[0], 5.0), ("nobody", skus[0], 2.0), (accounts[1], skus[1], 3.0)]
    code = main(["push", str(_csv(tmp_path / "c.csv", rows)), "--base-url", sandbox.base_url])
    err = capsys.readouterr().err
    assert code == 1
    assert f"unmapped: account nobody × service {skus[0]}" in err
    counts = sandbox.state.counts(PARTNER_DEMO)
    assert counts[(skus[0], accounts[0])]["unitCount"] == 5.0
    assert counts[(skus[1], accounts[1])]["unitCount"] == 3.0


def test_bad_file_is_rejected_with_row_numbers_and_nothing_is_sent(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("accountId,serviceId,unitCount\na,s,1\n,s,2\na,s,-1\na,s,x\n")
    code = main(["push", str(bad), "--base-url", sandbox.base_url])
    err = capsys.readouterr().err
    assert code == 2
    assert "row 3: accountId is empty" in err and "row 4" in err and "row 5" in err
    assert not [r for r in sandbox.state.requests() if "/count" in r["path"]]


def test_wrong_key_is_one_line_without_traceback_or_key(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["GRADIENT_PARTNER_KEY"] = "wrong-partner-key-123456"  # env_keys restores it
    code = _push_one_row(tmp_path, sandbox.base_url)
    err = capsys.readouterr().err
    assert code == 2
    assert "401" in err and "Traceback" not in err
    assert "wrong-partner-key-123456" not in err and VENDOR_KEY not in err


def _push_one_row(tmp_path: Path, base_url: str) -> int:
    return main(["push", str(_csv(tmp_path / "c.csv", [("a", "s", 1.0)])), "--base-url", base_url])


def test_base_url_without_env_keys_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _push_one_row(tmp_path, "http://127.0.0.1:9")
    assert code == 2
    assert "GRADIENT_VENDOR_KEY and GRADIENT_PARTNER_KEY" in capsys.readouterr().err


def test_plain_http_to_a_remote_host_is_refused(
    tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _push_one_row(tmp_path, "http://example.com")
    assert code == 2
    assert "https" in capsys.readouterr().err.lower()


def test_dry_run_validates_and_sends_nothing(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "push",
            str(_csv(tmp_path / "c.csv", [("a", "s", 1.0)])),
            "--base-url",
            sandbox.base_url,
            "--dry-run",
        ]
    )
    assert code == 0
    assert "1 valid row" in capsys.readouterr().out
    assert sandbox.state.requests() == []


def test_partner_add_status_push_and_remove_through_the_keyring(
    sandbox: Any,
    tmp_path: Path,
    env_keys: None,
    memory_keyring: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["partner", "add", "contoso", "--base-url", sandbox.base_url]) == 0
    # Keyed by the partner's stable id, not its name (#11 "one door for keys").
    assert memory_keyring.get_password("gradient-desktop", "partner:#1") == PARTNER_DEMO
    assert main(["partner", "list"]) == 0
    assert "contoso" in capsys.readouterr().out
    assert main(["status", "--partner", "contoso"]) == 0
    out = capsys.readouterr().out
    assert "Contoso Managed Services" in out and "inactive" in out

    accounts, skus = mapped_accounts(sandbox.base_url, 2)
    rows = [(accounts[0], skus[0], 4.0), (accounts[1], skus[0], 6.0)]
    assert main(["push", str(_csv(tmp_path / "c.csv", rows)), "--partner", "contoso"]) == 0
    assert sandbox.state.counts(PARTNER_DEMO)[(skus[0], accounts[1])]["unitCount"] == 6.0

    assert main(["partner", "remove", "contoso"]) == 0
    assert memory_keyring.get_password("gradient-desktop", "partner:#1") is None
    assert main(["status", "--partner", "contoso"]) == 2
    assert "No partner is named 'contoso'" in capsys.readouterr().err


def test_without_a_keyring_partner_add_says_what_to_install(
    env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import keyring

    keyring.set_keyring(keyring.backends.fail.Keyring())
    code = main(["partner", "add", "contoso", "--base-url", "https://app.usegradient.com"])
    err = capsys.readouterr().err
    assert code == 2
    assert "gnome-keyring" in err or "Keychain" in err or "Credential Manager" in err


def test_push_help_imports_neither_qt_nor_the_sandbox_server() -> None:
    code = (
        "import sys\nfrom gradient_desktop.cli import main\n"
        "try:\n    main(['push', '--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'uvicorn', 'starlette')]\n"
        "print('HEAVY', bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    ).stdout
    assert "HEAVY []" in out


def test_push_leaves_a_redacted_log_file(
    sandbox: Any, tmp_path: Path, env_keys: None, isolated_home: Path
) -> None:
    accounts, skus = mapped_accounts(sandbox.base_url, 1)
    assert (
        main(
            [
                "push",
                str(_csv(tmp_path / "c.csv", [(accounts[0], skus[0], 2.0)])),
                "--base-url",
                sandbox.base_url,
            ]
        )
        == 0
    )
    logs = list(isolated_home.rglob("gradient-desktop.log*"))
    assert logs, "the CLI wrote no log file"
    text = "".join(p.read_text(errors="replace") for p in logs)
    assert PARTNER_DEMO not in text and token() not in text


def test_the_input_limit_is_checked_before_reading(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env_keys: None,
) -> None:
    from gradient_desktop.services import csvio

    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", 10_000)
    big = tmp_path / "big.csv"
    big.write_bytes(b"accountId,serviceId,unitCount\n" + b"a,s,1\n" * 5_000)
    assert main(["push", str(big), "--base-url", "http://127.0.0.1:9"]) == 2
    assert "limit" in capsys.readouterr().err
    # A device has no size: at most the limit is read, then refused (it used to read 7 GB).
    assert main(["push", "/dev/zero", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "larger than" in capsys.readouterr().err


def test_a_revoked_key_still_gets_the_landed_and_queued_summary(
    sandbox: Any, tmp_path: Path, env_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["GRADIENT_PARTNER_KEY"] = "revoked-partner-key"  # env_keys restores it
    code = main(
        [
            "push",
            str(_csv(tmp_path / "c.csv", [("a", "s", 1.0), ("b", "s", 2.0)])),
            "--base-url",
            sandbox.base_url,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "0/2 landed" in err and "2 counts queued for the next push" in err
    assert "Traceback" not in err
