"""Logging to a rotating file, with every known secret masked before it is written.

Whoever handles a key (the secret store, the API client) calls ``register_secret(value)``;
from then on ``RedactingFilter`` (on every handler ``setup_logging`` installs) and ``redact()``
replace the value, its base64 forms (so a ``base64("vendor:partner")`` token is masked even
though only the two halves were registered) and anything after a ``GRADIENT-TOKEN:`` header
or ``Authorization: Basic`` with ``[redacted]``. Messages, their arguments, exception text
and stack traces all pass through it.
"""

from __future__ import annotations

import base64
import logging
import logging.handlers
import re
import sys
import threading
from pathlib import Path

from gradient_desktop.config import log_dir as default_log_dir

MASK = "[redacted]"
LOG_FILENAME = "gradient-desktop.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
# Short values would mask ordinary words everywhere; real keys are long.
MIN_SECRET_LENGTH = 6
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"

# Header- and assignment-shaped credentials, even ones nobody registered (e.g. a key typed into
# a form that failed validation before it reached the store). Group 1 is kept, the value masked.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"""(?i)(gradient[-_]token['"]?\s*[:=]\s*['"]?)[^\s'",;})\]]+"""),
    re.compile(r"""(?i)(authorization['"]?\s*[:=]\s*['"]?(?:basic|bearer)\s+)[^\s'",;})\]]+"""),
    re.compile(r"""(?i)((?:vendor|partner)[-_]?key['"]?\s*[:=]\s*['"]?)[^\s'",;})\]]+"""),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None
#: Secrets were registered since ``_secret_re`` was compiled. Compiling the alternation of every
#: secret costs O(all secrets): done on each registration, a sync registering 50 partners' keys
#: spent 6 % of its CPU recompiling it. Now it is compiled once, when next needed.
_stale = False


def _base64_forms(value: str) -> set[str]:
    """Every string that must appear wherever ``value`` is embedded in base64 text.

    A secret inside a larger base64 payload (``base64("vendor:partner")``) lands at one of three
    byte alignments. For each, encode with 0-2 filler bytes in front and keep only the
    characters built purely from the secret's own bits; that core is present in any base64
    encoding that contains the secret at that alignment, whatever surrounds it.
    """
    raw = value.encode("utf-8")
    forms = {base64.b64encode(raw).decode("ascii")}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = -(-shift * 8 // 6)  # ceil: first char not touched by the filler bytes
        end = (shift + len(raw)) * 8 // 6  # floor: last char not touched by padding bits
        forms.add(encoded[start:end])
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}  # urlsafe alphabet
    forms |= {f.rstrip("=") for f in forms}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its base64 forms) in every log record and ``redact()`` call."""
    global _stale
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        new = ({value} | _base64_forms(value)) - _secrets
        if not new:
            return
        _secrets.update(new)
        _stale = True


def _secret_pattern() -> re.Pattern[str] | None:
    """The alternation of every registered secret, compiled on first use after a change."""
    global _secret_re, _stale
    if _stale:
        with _lock:
            if _stale:
                # Longest first so a whole token is masked before any of its parts is.
                ordered = sorted(_secrets, key=len, reverse=True)
                _secret_re = re.compile("|".join(re.escape(s) for s in ordered))
                _stale = False
    return _secret_re


def register_credentials(vendor_key: str | None, partner_key: str | None) -> None:
    """Register both keys and the exact ``base64("vendor:partner")`` token the API sends."""
    register_secret(vendor_key)
    register_secret(partner_key)
    if vendor_key and partner_key:
        register_secret(base64.b64encode(f"{vendor_key}:{partner_key}".encode()).decode())


def clear_secrets() -> None:
    """Forget every registered secret (tests; never needed by the app)."""
    global _secret_re, _stale
    with _lock:
        _secrets.clear()
        _secret_re = None
        _stale = False


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-shaped headers replaced by ``MASK``."""
    if not text:
        return text
    pattern = _secret_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for header in _PATTERNS:
        text = header.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Handler filter that masks secrets in the message, its args and exception text.

    Put it on *handlers*: a logger's filters only see records logged on that exact logger,
    not those propagated from children.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not let raw args out
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatter.format reuses a cached exc_text, so filling it here means the
            # traceback (whose exception message may quote a key) is written masked.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _ours(handler: logging.Handler) -> bool:
    return bool(getattr(handler, "_gradient_desktop", False))


def setup_logging(
    level: str | int = "INFO", log_dir: Path | None = None, *, console: bool = False
) -> Path:
    """Log to ``<log_dir>/gradient-desktop.log`` (1 MB x 5 rotations); returns the file path.

    Calling it again (e.g. after the user changes the level) replaces the handlers it installed
    earlier instead of stacking duplicates.
    """
    if log_dir is None:
        log_dir = default_log_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILENAME
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO

    root = logging.getLogger()
    for old in [h for h in root.handlers if _ours(h)]:
        root.removeHandler(old)
        old.close()

    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    ]
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter(LOG_FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        handler._gradient_desktop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(numeric)
    # httpx logs every request line at INFO; a 100k-row push would rotate the real story away.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(
            logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
        )
    return path
