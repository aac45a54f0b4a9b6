"""build_installer.py --plan and the packaging helpers in build_support/, for all three targets.

The Windows and macOS branches are pure functions of the target, so their installer layout is
checked here on Linux; what only Windows or macOS can run (iscc, codesign, hdiutil) is not.
The Linux menu entry and metadata go through the real validators when they are installed.
"""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "build_installer.py"
sys.path.insert(0, str(ROOT))

from build_support import APP_ID, TARGETS, linux, macos, windows  # noqa: E402
from build_support.plan import make_plan  # noqa: E402
from build_support.spec import SPEC_BODY, spec_params  # noqa: E402

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def run_plan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--plan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def plan_for(target: str, tmp_path: Path, env: dict[str, str] | None = None, **kw: bool):  # type: ignore[no-untyped-def]
    return make_plan(
        target, VERSION, "x86_64" if target != "darwin" else "arm64", root=ROOT,
        dist=tmp_path / "dist", work=tmp_path / "work", python="python", env=env or {}, **kw,
    )  # fmt: skip


# -- --plan from the command line ----------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_plan_prints_files_and_commands_and_builds_nothing(target: str, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    out = run_plan("--target", target, "--dist", str(dist))
    assert out.returncode == 0, out.stderr
    assert f"for {target}" in out.stdout and "nothing is built" in out.stdout
    assert "Files it produces:" in out.stdout and "$ " in out.stdout
    assert "-m PyInstaller" in out.stdout
    assert not dist.exists()  # a plan, not a build


def test_plan_defaults_to_this_os() -> None:
    out = run_plan()
    assert out.returncode == 0
    expected = {"linux": "linux", "win32": "win32", "darwin": "darwin"}
    host = next(v for k, v in expected.items() if sys.platform.startswith(k))
    assert f"for {host} " in out.stdout


def test_target_without_plan_is_refused_as_pyinstaller_cannot_cross_build() -> None:
    other = "win32" if sys.platform != "win32" else "linux"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--target", other], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "cannot cross-build" in out.stderr


# -- Windows ---------------------------------------------------------------------------------------


def test_windows_plan_has_gui_exe_portable_zip_and_per_user_installer(tmp_path: Path) -> None:
    plan = plan_for("win32", tmp_path)
    dist = tmp_path / "dist"
    files = plan.files()
    assert dist / "gradient-desktop" / "gradient-desktop.exe" in files  # the CLI
    assert dist / "gradient-desktop" / "Gradient Desktop.exe" in files  # the Start menu's
    assert dist / f"gradient-desktop-{VERSION}-windows-x86_64-portable.zip" in files
    assert dist / f"gradient-desktop-{VERSION}-windows-x86_64-setup.exe" in files
    (iscc,) = [c for c in plan.commands() if c[0] == "iscc"]
    assert f"/DAppVersion={VERSION}" in iscc and "/DArch=x64compatible" in iscc
    assert iscc[-1] == str(windows.ISS)
    assert plan.smoke_executables[1].name == "Gradient Desktop.exe"
    # --no-archive: only the folder.
    assert not any(str(p).endswith((".zip", ".exe")) and p.parent == dist
                   for p in plan_for("win32", tmp_path, archive=False).files())  # fmt: skip


def test_inno_setup_script_installs_per_user_with_start_menu_icon_and_uninstaller() -> None:
    iss = windows.ISS.read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss  # no administrator prompt
    assert "DefaultDirName={autopf}" in iss  # {autopf} is the per-user Programs folder then
    assert re.search(r'Name: "\{autoprograms\}\\\{#AppName\}".*IconFilename: ', iss)
    assert "Uninstallable=no" not in iss and "UninstallDisplayIcon=" in iss
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", iss, re.M)  # fixed: upgrades replace
    # Every value the script takes from outside is passed by iscc_command.
    used = set(re.findall(r"\{#(\w+)\}", iss)) - set(re.findall(r"#define (\w+)", iss))
    passed = {
        a[2:].split("=")[0]
        for a in windows.iscc_command("iscc", VERSION, "x86_64", ROOT, ROOT / "dist")
        if a.startswith("/D")
    }
    assert used and used <= passed
    # The GUI executable it links to is the one the spec builds.
    assert '#define GuiExe "Gradient Desktop.exe"' in iss


def test_portable_zip_holds_the_folder_under_one_top_directory(tmp_path: Path) -> None:
    folder = tmp_path / "gradient-desktop"
    (folder / "_internal").mkdir(parents=True)
    (folder / "gradient-desktop.exe").write_bytes(b"MZ")
    (folder / "_internal" / "base_library.zip").write_bytes(b"PK")
    archive = windows.make_zip(folder, tmp_path / "p.zip", f"gradient-desktop-{VERSION}")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == [
            f"gradient-desktop-{VERSION}/_internal/base_library.zip",
            f"gradient-desktop-{VERSION}/gradient-desktop.exe",
        ]


# -- macOS -----------------------------------------------------------------------------------------


def test_macos_plan_signs_the_app_ad_hoc_and_packs_a_dmg(tmp_path: Path) -> None:
    plan = plan_for("darwin", tmp_path)
    dist = tmp_path / "dist"
    app = dist / "Gradient Desktop.app"
    dmg = dist / f"gradient-desktop-{VERSION}-macos-arm64.dmg"
    assert {app, dmg} <= set(plan.files())
    commands = plan.commands()
    assert ("codesign", "--force", "--deep", "--sign", "-", str(app)) in commands
    assert any(c[:2] == ("hdiutil", "create") and c[-1] == str(dmg) and "UDZO" in c
               for c in commands)  # fmt: skip
    assert not any(c[0] == "xcrun" for c in commands)  # no notarisation without a certificate
    assert plan.smoke_executables == (app / "Contents" / "MacOS" / "gradient-desktop",)


def test_macos_plan_with_a_vendor_certificate_signs_for_notarisation(tmp_path: Path) -> None:
    identity = "Developer ID Application: Example Vendor (ABCDE12345)"
    env = {macos.SIGN_IDENTITY_ENV: identity, macos.NOTARY_PROFILE_ENV: "vendor-notary"}
    commands = plan_for("darwin", tmp_path, env).commands()
    sign = next(c for c in commands if c[0] == "codesign" and "--deep" in c and "--sign" in c)
    assert "--options" in sign and "runtime" in sign and "--timestamp" in sign
    assert sign[sign.index("--sign") + 1] == identity
    assert any(c[:3] == ("xcrun", "notarytool", "submit") and "vendor-notary" in c
               for c in commands)  # fmt: skip
    assert commands[-1][:3] == ("xcrun", "stapler", "staple")
    # The identity reaches --plan from the environment, never from a file.
    out = run_plan("--target", "darwin", env=env)
    assert identity in out.stdout and "notarytool" in out.stdout


def test_info_plist_has_bundle_id_version_and_minimum_macos() -> None:
    data = plistlib.loads(plistlib.dumps(macos.info_plist(VERSION)))
    assert data["CFBundleIdentifier"] == APP_ID
    assert data["CFBundleShortVersionString"] == data["CFBundleVersion"] == VERSION
    assert data["LSMinimumSystemVersion"] == macos.MIN_MACOS
    assert data["NSHighResolutionCapable"] is True


def test_minimum_macos_follows_the_qt_wheel_tags() -> None:
    assert macos.min_macos_from_tags(["cp310-abi3-macosx_14_0_universal2"]) == "14.0"
    assert (
        macos.min_macos_from_tags(["cp39-abi3-macosx_13_0_x86_64", "cp39-abi3-macosx_13_3_arm64"])
        == "13.3"
    )
    assert macos.min_macos_from_tags(["cp310-abi3-manylinux_2_34_x86_64"]) == macos.MIN_MACOS
    assert macos.info_plist(VERSION, "14.0")["LSMinimumSystemVersion"] == "14.0"


def test_committed_icns_holds_every_size_as_png_of_that_size() -> None:
    entries = macos.read_icns((ROOT / "resources" / "icons" / "gradient-desktop.icns").read_bytes())
    assert set(entries) == set(macos.ICNS_TYPES.values())
    for (size, _retina), kind in macos.ICNS_TYPES.items():
        png = entries[kind]
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (size, size), kind
    with pytest.raises(ValueError, match="1024"):
        macos.icns_bytes({s: b"x" for s in macos.ICNS_SIZES if s != 1024})


# -- the generated spec ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_generated_spec_is_valid_python_with_the_target_executables(
    target: str, tmp_path: Path
) -> None:
    params = spec_params(target, VERSION, ROOT, tmp_path / "launcher.py")
    source = "".join(f"{k} = {v!r}\n" for k, v in params.items()) + SPEC_BODY
    compile(source, f"{target}.spec", "exec")
    assert (params["GUI_EXE"] == "Gradient Desktop") == (target == "win32")
    assert (params["APP_BUNDLE"] == "Gradient Desktop.app") == (target == "darwin")
    assert params["CONSOLE"] == (target != "darwin")
    if target == "win32":
        assert params["ICON"].endswith(".ico") and Path(params["ICON"]).is_file()
    if target == "darwin":
        assert Path(params["ICNS"]).is_file()
        assert params["INFO_PLIST"]["CFBundleShortVersionString"] == VERSION
    # Only files the app reads at run time are bundled.
    bundled = {Path(src).name for src, _dest in params["DATAS"]}
    assert "gradient-desktop.png" in bundled and "gradient-desktop.desktop" in bundled
    assert not bundled & {"draw_icon.py", "gradient-desktop.icns"}


# -- Linux -----------------------------------------------------------------------------------------


def test_linux_plan_validates_desktop_file_and_metainfo_then_packs_tarball(tmp_path: Path) -> None:
    plan = plan_for("linux", tmp_path)
    tools = [c[0] for c in plan.commands()]
    assert "desktop-file-validate" in tools and "appstreamcli" in tools
    assert tmp_path / "dist" / f"gradient-desktop-{VERSION}-linux-x86_64.tar.gz" in plan.files()
    assert all(
        s.optional for s in plan.steps if s.tool in ("desktop-file-validate", "appstreamcli")
    )


def test_desktop_file_passes_desktop_file_validate() -> None:
    if not shutil.which("desktop-file-validate"):
        pytest.skip("desktop-file-validate missing: Debian package desktop-file-utils "
                    "(scripts/test.sh installs it when run as root)")  # fmt: skip
    out = subprocess.run(
        ["desktop-file-validate", str(ROOT / "resources" / "gradient-desktop.desktop")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0 and "error" not in out.stdout, out.stdout + out.stderr


def test_metainfo_is_valid_appstream(tmp_path: Path) -> None:
    files = linux.write_extras(tmp_path, ROOT, VERSION, "2026-12-01")
    metainfo = tmp_path / linux.metainfo_name()
    assert metainfo in files
    text = metainfo.read_text()
    assert f'<release version="{VERSION}" date="2026-12-01"/>' in text
    assert f"<id>{APP_ID}</id>" in text and "gradient-desktop.desktop" in text
    install = (tmp_path / "install.sh").read_text()
    assert linux.metainfo_name() in install and "@METAINFO@" not in install
    if not shutil.which("appstreamcli"):
        pytest.skip("appstreamcli missing (Debian package appstream): metainfo not validated")
    out = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(metainfo)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_release_date_follows_source_date_epoch() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_installer", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.release_date({"SOURCE_DATE_EPOCH": "1764547200"}) == "2025-12-01"
