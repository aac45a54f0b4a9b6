"""build_installer.py: the options and the missing-tool message (fast), then (slow) a real
PyInstaller build whose executable is started headless: ``--version``, ``selfcheck`` (keyring
backends and resources survived freezing; a real Secret Service round trip when the machine has
gnome-keyring), the sandbox and a CSV push between two processes of the bundle, a push through
a CONNECT proxy to a TLS server signed by a private CA, and the GUI up to its first paint.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "build_installer.py"
VENDOR_KEY, PARTNER_KEY = "sandbox-vendor-demo", "sandbox-partner-demo"
TOKEN = {"GRADIENT-TOKEN": base64.b64encode(f"{VENDOR_KEY}:{PARTNER_KEY}".encode()).decode()}
# The first slow test also pays for the build (about a minute here, more on a cold cache).
pytestmark = pytest.mark.timeout(900)


def _version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


# -- fast: the script itself -----------------------------------------------------------------


def test_help_explains_every_option() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    for option in ("--clean", "--no-archive", "--smoke-test", "--dist"):
        assert option in out.stdout
    assert "pip install -e '.[build]'" in out.stdout


def test_missing_pyinstaller_is_a_clear_message_and_exit_2() -> None:
    # sys.modules["PyInstaller"] = None makes find_spec report it missing, as on a machine
    # where the build extra was never installed.
    code = (
        "import sys, runpy; sys.modules['PyInstaller'] = None; "
        f"sys.argv = [{str(SCRIPT)!r}]; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "PyInstaller is not installed" in out.stderr
    assert "pip install -e '.[build]'" in out.stderr


def test_version_comes_from_pyproject() -> None:
    spec = importlib.util.spec_from_file_location("build_installer", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.read_version() == _version()


# -- slow: build and run the bundle ------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if importlib.util.find_spec("PyInstaller") is None:
        message = "PyInstaller is not installed: .venv/bin/python -m pip install -e '.[build]'"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must build the bundle, not skip it
        pytest.skip(message)
    dist = tmp_path_factory.mktemp("dist")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--dist", str(dist)],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    exe = (
        dist
        / "gradient-desktop"
        / ("gradient-desktop.exe" if sys.platform == "win32" else "gradient-desktop")
    )
    assert exe.is_file(), out.stdout[-2000:]
    yield {"dist": dist, "exe": exe, "log": out.stdout}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "gd-home"
    home.mkdir()
    return {
        **os.environ,
        "GRADIENT_DESKTOP_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "GRADIENT_VENDOR_KEY": "",
        "GRADIENT_PARTNER_KEY": "",
    }


@pytest.mark.installer
@pytest.mark.slow
def test_bundle_is_one_folder_without_webengine_or_translations(bundle: dict[str, Any]) -> None:
    internal = bundle["exe"].parent / "_internal"
    assert (internal / "resources" / "icons" / "gradient-desktop.png").is_file()
    assert (internal / "resources" / "gradient-desktop.desktop").is_file()
    assert not (internal / "resources" / "icons" / "draw_icon.py").exists()
    names = {p.name for p in internal.rglob("*")}
    assert not any("WebEngine" in n for n in names)
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    size = sum(p.stat().st_size for p in bundle["exe"].parent.rglob("*") if p.is_file())
    assert size < 400e6, f"the bundle grew to {size / 1e6:.0f} MB"


@pytest.mark.installer
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .tar.gz is built on Linux")
def test_linux_archive_holds_the_folder_desktop_file_icon_and_installer(
    bundle: dict[str, Any],
) -> None:
    import platform

    version = _version()
    machine = platform.machine().lower().replace("amd64", "x86_64")
    archive = bundle["dist"] / f"gradient-desktop-{version}-linux-{machine}.tar.gz"
    assert archive.is_file()
    top = f"gradient-desktop-{version}"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        desktop = tar.extractfile(f"{top}/gradient-desktop.desktop").read().decode()  # type: ignore[union-attr]
        exe_member = tar.getmember(f"{top}/gradient-desktop/gradient-desktop")
    assert {f"{top}/gradient-desktop.png", f"{top}/install.sh"} <= names
    assert any(n.startswith(f"{top}/") and n.endswith(".metainfo.xml") for n in names)
    assert exe_member.mode & 0o111  # still executable after unpacking
    assert "Exec=@EXEC@" in desktop and "Icon=gradient-desktop" in desktop


@pytest.mark.installer
@pytest.mark.slow
def test_frozen_version_and_selfcheck(bundle: dict[str, Any], env: dict[str, str]) -> None:
    exe = str(bundle["exe"])
    out = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"gradient-desktop {_version()}"
    out = subprocess.run(
        [exe, "selfcheck", "--bundle-only"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok   keyring entry points:" in out.stdout
    assert "ok   resources:" in out.stdout
    assert "ok   TLS trust store: operating system (truststore" in out.stdout
    if sys.platform.startswith("linux"):
        assert (
            "ok   platform keyring backend: keyring.backends.SecretService:Keyring loaded"
            in out.stdout
        )


@pytest.mark.installer
@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus-run-session and gnome-keyring (scripts/test.sh installs them as root)",
)
def test_frozen_app_stores_a_key_in_a_real_secret_service(
    bundle: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    # A private session bus and a fresh, unlocked login keyring in a temporary HOME.
    env = {**env, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    script = (
        'printf "installer-test" | gnome-keyring-daemon --unlock --components=secrets '
        '>/dev/null 2>&1; exec "$0" selfcheck --keyring-write'
    )
    out = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, str(bundle["exe"])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ok   keyring round trip: set, read back and deleted a probe entry" in out.stdout, (
        out.stdout + out.stderr[-2000:]
    )
    assert out.returncode == 0


@pytest.fixture
def frozen_sandbox(bundle: dict[str, Any], env: dict[str, str]) -> Iterator[str]:
    """``<bundle> sandbox --port 0`` in its own process; yields its URL."""
    proc = subprocess.Popen(
        [str(bundle["exe"]), "sandbox", "--port", "0", "--latency-ms", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "Gradient sandbox (demo seed) listening on http://..."
        match = re.search(r"listening on (http://\S+)", first)
        assert match, (
            f"unexpected first line {first!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        )  # type: ignore[union-attr]
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.installer
@pytest.mark.slow
def test_frozen_sandbox_and_frozen_push_work_together(
    bundle: dict[str, Any], env: dict[str, str], frozen_sandbox: str, tmp_path: Path
) -> None:
    api = f"{frozen_sandbox}/api/vendor-api"
    skus = [s["id"] for s in httpx.get(api, headers=TOKEN, timeout=10).json()["data"]["skus"]]
    clients = httpx.get(f"{api}/organization/clients", headers=TOKEN, timeout=10).json()["clients"][
        :3
    ]
    accounts = [
        {"id": f"bundle-{i}", "name": c["name"], "clientOId": c["id"]}
        for i, c in enumerate(clients)
    ]
    assert (
        httpx.post(
            f"{api}/organization/accounts", headers=TOKEN, json=accounts, timeout=10
        ).status_code
        == 201
    )
    csv = tmp_path / "counts.csv"
    csv.write_text(
        "accountId,serviceId,unitCount\n"
        + "".join(f"{a['id']},{skus[0]},{7 + i}\n" for i, a in enumerate(accounts))
    )

    push_env = {**env, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": PARTNER_KEY}
    out = subprocess.run(
        [str(bundle["exe"]), "push", str(csv), "--base-url", frozen_sandbox],
        env=push_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "3/3 landed" in out.stderr and "billing rebuilt once" in out.stderr

    counts = httpx.get(
        f"{frozen_sandbox}/_sandbox/counts", params={"partnerKey": PARTNER_KEY}, timeout=10
    ).json()
    landed = {(c["accountId"], c["serviceId"]): c for c in counts["counts"]}
    for i, a in enumerate(accounts):
        row = landed[(a["id"], skus[0])]
        assert row.get("unitCount", row.get("count")) == 7 + i


@pytest.mark.installer
@pytest.mark.slow
def test_frozen_push_goes_through_a_proxy_to_a_server_signed_by_a_company_ca(
    bundle: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    # truststore and the proxy code must survive freezing: the frozen CLI pushes to the sandbox
    # over TLS (private CA, trusted through OpenSSL's SSL_CERT_FILE) via a CONNECT proxy.
    import ssl

    import trustme

    from tests.https_proxy import ConnectProxy, TlsSandbox

    ca = trustme.CA()
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)
    cert = ca.issue_cert("gradient.test", "127.0.0.1")
    with (
        TlsSandbox(cert, tmp_path) as server,
        ConnectProxy(hosts={"gradient.test": "127.0.0.1"}) as proxy,
    ):
        api = f"https://127.0.0.1:{server.port}/api/vendor-api"
        with httpx.Client(headers=TOKEN, verify=client_side, timeout=10, trust_env=False) as http:
            sku = http.get(api).json()["data"]["skus"][0]["id"]
            client = http.get(f"{api}/organization/clients").json()["clients"][0]
            account = {"id": "proxy-1", "name": client["name"], "clientOId": client["id"]}
            assert http.post(f"{api}/organization/accounts", json=[account]).status_code == 201
        csv = tmp_path / "counts.csv"
        csv.write_text(f"accountId,serviceId,unitCount\nproxy-1,{sku},5\n")
        push_env = {
            **{k: v for k, v in env.items() if "proxy" not in k.lower()},
            "GRADIENT_VENDOR_KEY": VENDOR_KEY,
            "GRADIENT_PARTNER_KEY": PARTNER_KEY,
            "HTTPS_PROXY": proxy.url,
            "SSL_CERT_FILE": str(tmp_path / "ca.pem"),
            "SSL_CERT_DIR": str(tmp_path),
        }
        out = subprocess.run(
            [str(bundle["exe"]), "push", str(csv), "--base-url",
             f"https://gradient.test:{server.port}"],
            env=push_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "1/1 landed" in out.stderr
    # gradient.test resolves nowhere but in the proxy: the push went through it.
    assert proxy.connects and set(proxy.connects) == {f"gradient.test:{server.port}"}


@pytest.mark.installer
@pytest.mark.slow
def test_frozen_gui_starts_headless_and_paints(bundle: dict[str, Any], env: dict[str, str]) -> None:
    out = subprocess.run(
        [str(bundle["exe"])],
        env={**env, "GRADIENT_DESKTOP_EXIT_AFTER_PAINT": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"first-paint \d+\.\d+", out.stdout), out.stdout + out.stderr[-2000:]
    # The GUI set up its log in the home we gave it.
    log = Path(env["GRADIENT_DESKTOP_HOME"]) / "logs" / "gradient-desktop.log"
    assert "Gradient Desktop" in log.read_text() and "starting" in log.read_text()
