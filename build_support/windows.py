"""Windows packaging: the ``iscc`` command that compiles ``gradient-desktop.iss`` into a per-user
installer, and the portable ``.zip`` of the one-folder bundle. Pure except ``make_zip``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from build_support import NAME

ISS = Path(__file__).resolve().parent / f"{NAME}.iss"
#: Inno Setup architecture identifiers, by our architecture names.
INNO_ARCH = {"x86_64": "x64compatible", "aarch64": "arm64"}


def setup_name(version: str, arch: str) -> str:
    """The installer's file name without ``.exe``."""
    return f"{NAME}-{version}-windows-{arch}-setup"


def zip_name(version: str, arch: str) -> str:
    return f"{NAME}-{version}-windows-{arch}-portable.zip"


def iscc_command(iscc: str, version: str, arch: str, root: Path, dist: Path) -> list[str]:
    """Compile the .iss; the values it needs are preprocessor defines, not edits to it."""
    return [
        iscc,
        "/Qp",  # quiet, with progress
        f"/DAppVersion={version}",
        f"/DArch={INNO_ARCH.get(arch, arch)}",
        f"/DDistDir={dist}",
        f"/DRootDir={root}",
        f"/DOutputName={setup_name(version, arch)}",
        str(ISS),
    ]


def make_zip(folder: Path, archive: Path, top: str) -> Path:
    """Zip ``folder`` under ``top/`` (the portable form: unzip anywhere, run the .exe)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return archive
