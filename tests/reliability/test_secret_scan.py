"""Keys only in the keyring: run the whole setup wizard (``SetupFlow``), pushes and the CLI with
distinctive keys, provoke errors (a wrong key, a server that quotes our headers back, a bad
address), then scan everything the app wrote or said for the keys and the token — plain,
base64, and base64 at every alignment inside a larger blob — and find none.

Scanned: every file under the app's home (SQLite file, ``-wal``, ``-shm``, backups, logs at
DEBUG, ``settings.json``), the CLI's stdout and stderr, and the text of every exception seen
(``str``, ``repr`` and the formatted traceback). The scanner is checked against a planted
needle first, so an empty result means something.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gradient_desktop.api import ApiError, ClientOptions, Credentials, VendorApiClient
from gradient_desktop.config import Settings, log_dir
from gradient_desktop.counts import CountRow
from gradient_desktop.logsetup import _base64_forms, clear_secrets, setup_logging
from gradient_desktop.sandbox.server import SandboxServer
from tests.keyring_backend import MemoryKeyring
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy
from tests.reliability.helpers import FIGURES, child_env, fast_options

VENDOR_KEY = "vk-SCAN-9f3Kq2LmX7pW4zR8yT1"
PARTNER_KEY = "pk-SCAN-T5nB1vC6yH0dJ3sE8uQ"
WRONG_PARTNER_KEY = "pk-WRONG-a8D2fG5hJ1kL4zX7"
TOKEN = base64.b64encode(f"{VENDOR_KEY}:{PARTNER_KEY}".encode()).decode()


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    """No secret registered beforehand (the app must register the keys itself), and the root
    logger as it was afterwards (the scan logs at DEBUG)."""
    clear_secrets()
    loggers = [logging.getLogger(n) for n in ("", "httpx", "httpcore")]
    levels = [lg.level for lg in loggers]
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_gradient_desktop", False)]:
        root.removeHandler(handler)
        handler.close()
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)
    clear_secrets()


def needles(*secrets: str) -> dict[str, bytes]:
    """Every form a secret could leak in: plain, the token, base64 (standard, url-safe, any
    alignment inside a larger base64 text)."""
    out: dict[str, bytes] = {}
    values = list(secrets) + [
        base64.b64encode(f"{VENDOR_KEY}:{p}".encode()).decode() for p in secrets[1:]
    ]
    for value in values:
        out[value] = value.encode()
        for form in _base64_forms(value):
            out[f"base64 form of {value[:8]}… ({form[:6]}…)"] = form.encode()
    return out


NEEDLES = needles(VENDOR_KEY, PARTNER_KEY, WRONG_PARTNER_KEY)


def scan_bytes(where: str, data: bytes) -> list[str]:
    return [f"{label} in {where}" for label, needle in NEEDLES.items() if needle in data]


def scan_tree(root: Path) -> tuple[list[str], int]:
    found: list[str] = []
    files = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files += 1
            found += scan_bytes(str(path.relative_to(root)), path.read_bytes())
    return found, files


def exception_texts(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def test_the_scanner_finds_a_planted_key_in_every_form(tmp_path: Path) -> None:
    """The scan is not vacuous: each form of the secrets is found where it was planted."""
    embedded = base64.b64encode(b'{"auth": "' + f"{VENDOR_KEY}:{PARTNER_KEY}".encode() + b'"}')
    samples = {
        "plain": PARTNER_KEY.encode(),
        "token": TOKEN.encode(),
        "base64 of the vendor key": base64.b64encode(VENDOR_KEY.encode()),
        "url-safe base64 inside a blob": base64.urlsafe_b64encode(b"xx" + PARTNER_KEY.encode()),
        "token inside a larger base64 blob": embedded,
    }
    for i, (name, data) in enumerate(samples.items()):
        (tmp_path / f"f{i}.bin").write_bytes(b"\x00junk " + data + b" junk")
        assert scan_bytes(name, b"..." + data + b"..."), name
    found, files = scan_tree(tmp_path)
    assert files == len(samples) and len({f.split(" in ")[1] for f in found}) == files


# --------------------------------------------------------------------------- the flow


def _sandbox_vendor(sb: SandboxServer) -> list[tuple[str, str]]:
    """A vendor with the distinctive keys, 2 SKUs and a partner with 6 clients; returns them."""
    state = sb.state
    state.add_vendor(VENDOR_KEY, "Scanned Vendor", "for the secret scan")
    for name in ("Scan Backup", "Scan Archive"):
        state.create_sku(
            VENDOR_KEY,
            {"name": name, "description": "d", "category": "backup", "subcategory": "cloud backup"},
        )
    clients = [(f"c0000000-0000-4000-8000-00000000000{i}", f"Client {i} Ltd") for i in range(6)]
    state.add_organization(VENDOR_KEY, PARTNER_KEY, "Scan MSP", clients)
    for sku in state.vendor(VENDOR_KEY)["skus"]:
        state.map_service(PARTNER_KEY, sku["id"], sku["name"] + " (PSA)")
    return clients


def _run_setup_flow(ctx, url: str, clients: list[tuple[str, str]]) -> list[BaseException]:
    """The wizard's steps 1-6 and a first usage push, as the Qt wizard drives them."""
    from gradient_desktop.services.setup import SetupFlow

    seen: list[BaseException] = []

    async def main() -> None:
        flow = SetupFlow.new(ctx)
        flow.save_vendor("Scanned", url, vendor_key=VENDOR_KEY, record_key=PARTNER_KEY)
        vendor = await flow.load_vendor()
        flow.choose_services(vendor.skus)
        flow.set_partner("Scan MSP", PARTNER_KEY)
        await flow.authenticate()
        flow.finish_authenticate()
        flow.import_customers(
            "id,name,description\n"
            + "".join(f"cust-{i},{n},plan\n" for i, (_c, n) in enumerate(clients))
        )
        await flow.publish()
        assert flow.auto_match_exact()
        assert await flow.sync_mappings() == {}
        flow.finish_mapping()
        await flow.activate()
        from gradient_desktop.services.push import PushService

        assert flow.partner is not None
        skus = [s.id for s in vendor.skus]
        rows = [CountRow(skus[i % 2], f"cust-{i}", float(i + 1)) for i in range(len(clients))]
        rows.append(CountRow(skus[0], "cust-0", 2.0, "add"))
        PushService(ctx).enqueue(flow.partner, rows, actor="scan")
        summary = await flow.first_usage_sync()
        assert summary.report.ok == len(rows), summary.text()
        await ctx.aclose()

    asyncio.run(main())
    return seen


def _provoke_errors(url: str, echo_url: str) -> list[BaseException]:
    """Failures whose text must still not carry a key: wrong key, echoed headers, bad URL."""
    errors: list[BaseException] = []

    async def main() -> None:
        for base, creds in (
            (url, Credentials(VENDOR_KEY, WRONG_PARTNER_KEY)),  # 401
            (echo_url, Credentials(VENDOR_KEY, PARTNER_KEY)),  # server quotes our headers
            ("http://127.0.0.1:9", Credentials(VENDOR_KEY, PARTNER_KEY)),  # refused
        ):
            async with VendorApiClient(base, creds, fast_options()) as client:
                for call in (client.get_integration, lambda: client.add_count("s", "a", 1)):
                    try:
                        await call()
                    except ApiError as exc:
                        errors.append(exc)
                        logging.getLogger("gradient_desktop.scan").warning("call failed: %s", exc)
        for bad in ("http://gradient.example.com", f"https://{VENDOR_KEY}:{PARTNER_KEY}@x.example"):
            try:
                VendorApiClient(bad, Credentials(VENDOR_KEY, PARTNER_KEY), ClientOptions())
            except ValueError as exc:
                errors.append(exc)

    asyncio.run(main())
    # What the GUI's excepthook does with an unexpected exception: log it with its traceback.
    try:
        raise RuntimeError(f"unexpected, with headers {{'GRADIENT-TOKEN': '{TOKEN}'}}")
    except RuntimeError:
        # Planted by the test, so its own text is not scanned: what matters is the log file.
        logging.getLogger("gradient_desktop.ui").error("unhandled exception", exc_info=True)
    return errors


def _cli_outputs(sb_url: str, home: Path, keyring_file: Path) -> list[str]:
    """stdout+stderr of the CLI's key-handling commands, good and failing."""
    env = child_env(home, keyring_file)
    keys = {"GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": PARTNER_KEY}
    wrong = {"GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": WRONG_PARTNER_KEY}
    counts = home / "counts.csv"
    counts.parent.mkdir(parents=True, exist_ok=True)
    counts.write_text("accountId,serviceId,unitCount\ncust-0,nope,1\n", encoding="utf-8")
    runs: list[tuple[list[str], dict[str, str]]] = [
        (["partner", "add", "Scan MSP", "--base-url", sb_url, "--profile", "Scanned"], keys),
        (["partner", "list"], {}),
        (["status", "--partner", "Scan MSP"], {}),
        (["push", str(counts), "--partner", "Scan MSP"], {}),
        (["push", str(counts), "--base-url", sb_url], keys),
        (["push", str(counts), "--base-url", sb_url], wrong),
        (["push", str(counts), "--base-url", "http://gradient.example.com"], keys),
        (["partner", "add", "Other", "--base-url", sb_url, "--profile", "Other"], wrong),
        (["status", "--partner", "Other"], {}),
    ]
    outputs = []
    for args, extra in runs:
        done = subprocess.run(
            [sys.executable, "-m", "gradient_desktop", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=home,
        )
        outputs.append(f"$ {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}")
    return outputs


@pytest.mark.slow
def test_keys_and_token_appear_nowhere_but_the_keyring(
    sandbox_factory: Callable[..., SandboxServer],
    isolated_home: Path,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    from tests.reliability.helpers import make_context

    sb = sandbox_factory(seed="demo", rate_limit=None)
    clients = _sandbox_vendor(sb)
    setup_logging("DEBUG", log_dir())  # the most talkative the app gets
    Settings(last_partner="Scan MSP").save()
    ctx = make_context(isolated_home / "data" / "gradient-desktop.sqlite3")
    echo = FaultProxy(sb.base_url, FaultPlan(lambda r: Fault("echo", status=400))).start()
    try:
        _run_setup_flow(ctx, sb.base_url, clients)
        errors = _provoke_errors(sb.base_url, echo.base_url)
        # Scan while the database is open: its -wal and -shm exist now.
        found_open, _ = scan_tree(isolated_home)
    finally:
        echo.stop()
        ctx.close()
        for handler in logging.getLogger().handlers:
            handler.flush()
    found, files = scan_tree(isolated_home)
    cli_home = tmp_path / "cli-home"
    outputs = _cli_outputs(sb.base_url, cli_home, tmp_path / "keyring.json")
    found_cli, cli_files = scan_tree(cli_home)
    found_out = [f for i, o in enumerate(outputs) for f in scan_bytes(f"CLI run {i}", o.encode())]
    found_exc = [
        f
        for i, e in enumerate(errors)
        for f in scan_bytes(f"error {i}", exception_texts(e).encode())
    ]

    # Positive controls: the keys did reach the keyrings, the errors did happen.
    assert VENDOR_KEY in memory_keyring.entries.values()
    assert PARTNER_KEY in memory_keyring.entries.values()
    assert PARTNER_KEY in (tmp_path / "keyring.json").read_text()
    assert len(errors) >= 6 and any("401" in str(e) for e in errors)
    assert any("400" in str(e) for e in errors)  # the echoing server was heard
    assert any("landed" in o for o in outputs) and any(
        "401" in o or "rejected" in o for o in outputs
    )
    assert (isolated_home / "logs" / "gradient-desktop.log").stat().st_size > 0

    FIGURES["secret scan: files scanned"] += files + cli_files
    FIGURES["secret scan: outputs/exceptions scanned"] += len(outputs) + len(errors)
    leaks = found_open + found + found_cli + found_out + found_exc
    FIGURES["secret scan: secrets found"] += len(leaks)
    assert leaks == [], "\n".join(leaks[:20])
