"""macOS packaging: the Info.plist keys, the ``.icns`` icon format, and the commands that sign
the ``.app`` and pack it in a ``.dmg``. Pure functions, so they are tested on any OS.

Signing is ad hoc (``codesign --sign -``) unless ``MACOS_SIGN_IDENTITY`` names a Developer ID
certificate in the build machine's keychain; notarisation runs only when
``MACOS_NOTARY_PROFILE`` names a ``notarytool`` keychain profile. Neither is ever committed.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from build_support import APP_ID, APP_NAME, NAME

#: Used when the installed Qt wheel does not say: PySide6-Essentials 6.12's macOS wheel is
#: tagged macosx_14_0 (PyPI, December 2026).
MIN_MACOS = "14.0"
SIGN_IDENTITY_ENV = "MACOS_SIGN_IDENTITY"
NOTARY_PROFILE_ENV = "MACOS_NOTARY_PROFILE"

# .icns entry types holding PNG data, by (pixel size, is a @2x retina variant).
ICNS_TYPES: dict[tuple[int, bool], bytes] = {
    (16, False): b"icp4",
    (32, False): b"icp5",
    (32, True): b"ic11",  # 16 pt @2x
    (64, True): b"ic12",  # 32 pt @2x
    (128, False): b"ic07",
    (256, True): b"ic13",  # 128 pt @2x
    (256, False): b"ic08",
    (512, True): b"ic14",  # 256 pt @2x
    (512, False): b"ic09",
    (1024, True): b"ic10",  # 512 pt @2x
}
ICNS_SIZES = sorted({size for size, _ in ICNS_TYPES})


def min_macos_from_tags(tags: list[str], default: str = MIN_MACOS) -> str:
    """The oldest macOS a wheel runs on, from its tags (``cp310-abi3-macosx_14_0_universal2``)."""
    found = [
        (int(m.group(1)), int(m.group(2)))
        for tag in tags
        if (m := re.search(r"macosx_(\d+)_(\d+)_", tag))
    ]
    if not found:
        return default
    major, minor = max(found)
    return f"{major}.{minor}"


def installed_qt_min_macos() -> str:
    """What the Qt wheel in this Python needs: the app cannot run on an older macOS."""
    import importlib.metadata

    try:
        wheel = importlib.metadata.distribution("PySide6-Essentials").read_text("WHEEL") or ""
    except importlib.metadata.PackageNotFoundError:
        return MIN_MACOS
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return min_macos_from_tags(tags)


def info_plist(version: str, min_macos: str = MIN_MACOS) -> dict[str, Any]:
    """The Info.plist keys of the .app (PyInstaller adds the executable and package type)."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": APP_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "LSMinimumSystemVersion": min_macos,
        "LSApplicationCategoryType": "public.app-category.business",
        "NSHighResolutionCapable": True,
        # Follow the system's dark mode (the app draws with palette roles).
        "NSRequiresAquaSystemAppearance": False,
        "NSHumanReadableCopyright": "MIT licence",
    }


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An Apple .icns file from PNG images keyed by pixel size (every ``ICNS_SIZES`` needed).

    The format: ``icns`` + total length, then entries of type + length (big-endian, header
    included) + PNG data; macOS reads PNG entries since 10.7.
    """
    missing = [s for s in ICNS_SIZES if s not in pngs]
    if missing:
        raise ValueError(f"icns needs PNG images of {missing} pixels too")
    body = b""
    for (size, _retina), kind in ICNS_TYPES.items():
        data = pngs[size]
        body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def read_icns(data: bytes) -> dict[bytes, bytes]:
    """Entry type -> payload of an .icns file (for tests and checks)."""
    if data[:4] != b"icns" or struct.unpack(">I", data[4:8])[0] != len(data):
        raise ValueError("not an icns file")
    out, pos = {}, 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        out[kind] = data[pos + 8 : pos + length]
        pos += length
    return out


def app_path(dist: Path) -> Path:
    return dist / f"{APP_NAME}.app"


def app_executable(dist: Path) -> Path:
    return app_path(dist) / "Contents" / "MacOS" / NAME


def sign_commands(app: Path, env: Mapping[str, str]) -> list[list[str]]:
    """Sign the .app (ad hoc, or with the vendor's Developer ID), then verify the signature."""
    identity = env.get(SIGN_IDENTITY_ENV, "").strip()
    if identity:
        # Notarisation requires the hardened runtime and a secure timestamp.
        sign = ["codesign", "--force", "--deep", "--options", "runtime", "--timestamp"]
        sign += ["--sign", identity, str(app)]
    else:
        sign = ["codesign", "--force", "--deep", "--sign", "-", str(app)]
    return [sign, ["codesign", "--verify", "--deep", "--strict", "--verbose=2", str(app)]]


def dmg_command(staging: Path, dmg: Path) -> list[str]:
    return [
        "hdiutil", "create", "-volname", APP_NAME, "-srcfolder", str(staging),
        "-ov", "-format", "UDZO", str(dmg),
    ]  # fmt: skip


def notarize_commands(dmg: Path, env: Mapping[str, str]) -> list[list[str]]:
    """Sign the .dmg and have Apple notarise it, when the vendor configured both (else none)."""
    identity = env.get(SIGN_IDENTITY_ENV, "").strip()
    profile = env.get(NOTARY_PROFILE_ENV, "").strip()
    if not (identity and profile):
        return []
    return [
        ["codesign", "--force", "--timestamp", "--sign", identity, str(dmg)],
        ["xcrun", "notarytool", "submit", str(dmg), "--keychain-profile", profile, "--wait"],
        ["xcrun", "stapler", "staple", str(dmg)],
    ]


def stage_dmg(app: Path, staging: Path) -> None:
    """The .dmg's contents: the .app and a link to /Applications to drag it onto."""
    import shutil

    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # symlinks=True: the .app's framework links must survive, or the signature breaks.
    shutil.copytree(app, staging / app.name, symlinks=True)
    (staging / "Applications").symlink_to("/Applications")
