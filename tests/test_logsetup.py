"""The log file never contains a registered key, its base64 forms or a GRADIENT-TOKEN value."""

from __future__ import annotations

import base64
import logging
import logging.handlers
from pathlib import Path

import pytest

from gradient_desktop import logsetup
from gradient_desktop.logsetup import (
    MASK,
    redact,
    register_credentials,
    register_secret,
    setup_logging,
)

VENDOR_KEY = "sandbox-vendor-demo-7f3a9c"
PARTNER_KEY = "sandbox-partner-demo-1b2c3d"


pytestmark = pytest.mark.usefixtures("clean_logging")  # tests/conftest.py


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def _token(vendor: str, partner: str) -> str:
    return base64.b64encode(f"{vendor}:{partner}".encode()).decode()


def test_plain_secret_in_message_and_args_is_masked_in_the_file(tmp_path: Path) -> None:
    path = setup_logging("INFO", tmp_path)
    register_secret(VENDOR_KEY)
    log = logging.getLogger("gradient_desktop.test")
    log.info("connecting with %s", VENDOR_KEY)
    log.info(f"inline {VENDOR_KEY} too")
    log.info("as a dict arg %(key)s", {"key": VENDOR_KEY})
    _flush()
    text = path.read_text()
    assert VENDOR_KEY not in text
    assert text.count(MASK) == 3
    assert "connecting with [redacted]" in text


def test_basic_auth_token_is_masked_when_only_the_keys_were_registered(tmp_path: Path) -> None:
    path = setup_logging("DEBUG", tmp_path)
    register_secret(VENDOR_KEY)
    register_secret(PARTNER_KEY)
    token = _token(VENDOR_KEY, PARTNER_KEY)
    logging.getLogger("gradient_desktop.api").debug("sending token %s", token)
    _flush()
    text = path.read_text()
    assert token not in text
    assert MASK in text
    # What is left visible of the token is at most the few characters where the two halves
    # and the ':' share base64 groups: nowhere near enough to recover either key.
    visible = text.split("sending token ", 1)[1].split("\n", 1)[0].replace(MASK, "")
    assert len(visible) <= 8


def test_register_credentials_masks_the_exact_token(tmp_path: Path) -> None:
    register_credentials(VENDOR_KEY, PARTNER_KEY)
    token = _token(VENDOR_KEY, PARTNER_KEY)
    assert redact(f"token={token}") == f"token={MASK}"


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "user:"])
def test_secret_is_masked_at_every_base64_alignment(prefix: str) -> None:
    register_secret(PARTNER_KEY)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(f"{prefix}{PARTNER_KEY}:tail".encode()).decode()
        masked = redact(blob)
        assert MASK in masked
        assert len(masked.replace(MASK, "")) <= len(blob) - len(PARTNER_KEY)


def test_gradient_token_header_is_masked_without_registration() -> None:
    assert redact("GRADIENT-TOKEN: c2VjcmV0OnNlY3JldA==") == f"GRADIENT-TOKEN: {MASK}"
    assert redact("{'GRADIENT-TOKEN': 'abc123xyz', 'accept': 'json'}") == (
        f"{{'GRADIENT-TOKEN': '{MASK}', 'accept': 'json'}}"
    )
    assert redact('"gradient-token":"abc123xyz"') == f'"gradient-token":"{MASK}"'
    assert redact("Authorization: Basic dXNlcjpwYXNz") == f"Authorization: Basic {MASK}"
    assert redact("GRADIENT_PARTNER_KEY=pk-123456") == f"GRADIENT_PARTNER_KEY={MASK}"


def test_exception_text_is_masked(tmp_path: Path) -> None:
    path = setup_logging("INFO", tmp_path)
    register_secret(PARTNER_KEY)
    try:
        raise RuntimeError("server rejected key " + PARTNER_KEY)
    except RuntimeError:
        logging.getLogger("gradient_desktop.push").exception("push failed")
    _flush()
    text = path.read_text()
    assert "RuntimeError: server rejected key [redacted]" in text
    assert PARTNER_KEY not in text


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abc") == "abc abc"


def test_redact_leaves_ordinary_text_alone() -> None:
    register_secret(VENDOR_KEY)
    assert redact("Pushed 1,200 rows to Contoso") == "Pushed 1,200 rows to Contoso"
    assert redact("") == ""


def test_file_rotates_at_one_megabyte_keeping_five(tmp_path: Path) -> None:
    path = setup_logging("INFO", tmp_path)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_gradient_desktop", False)]
    assert len(ours) == 1
    handler = ours[0]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (1_000_000, 5)
    log = logging.getLogger("gradient_desktop.volume")
    for i in range(2_500):
        log.info("row %05d %s", i, "x" * 1000)
    _flush()
    assert path.stat().st_size <= 1_000_000
    assert (tmp_path / "gradient-desktop.log.1").exists()


def test_setup_twice_replaces_handlers_instead_of_duplicating(tmp_path: Path) -> None:
    setup_logging("INFO", tmp_path)
    path = setup_logging("WARNING", tmp_path, console=True)
    root = logging.getLogger()
    assert len([h for h in root.handlers if getattr(h, "_gradient_desktop", False)]) == 2
    assert root.level == logging.WARNING
    logging.getLogger("gradient_desktop.x").warning("once")
    _flush()
    assert path.read_text().count("once") == 1


def test_default_log_dir_is_under_the_home(isolated_home: Path) -> None:
    path = setup_logging()
    assert path == isolated_home / "logs" / logsetup.LOG_FILENAME
