"""Linux packaging: the ``.tar.gz`` with the bundle, the menu entry, the icon, an AppStream
metainfo file and ``install.sh``, plus the commands that validate the two desktop files.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from build_support import APP_ID, APP_NAME, NAME

INSTALL_SH = """#!/bin/sh
# Install Gradient Desktop for the current user: a launcher in ~/.local/bin, the icon, a
# menu entry and the AppStream metadata. Run it from the unpacked archive; re-run after moving
# the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exe="$here/gradient-desktop/gradient-desktop"
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$HOME/.local/bin" "$data/applications" "$data/icons/hicolor/256x256/apps" "$data/metainfo"
ln -sf "$exe" "$HOME/.local/bin/gradient-desktop"
cp "$here/gradient-desktop.png" "$data/icons/hicolor/256x256/apps/gradient-desktop.png"
sed "s|@EXEC@|$exe|g" "$here/gradient-desktop.desktop" > "$data/applications/gradient-desktop.desktop"
cp "$here/@METAINFO@" "$data/metainfo/@METAINFO@"
echo "Installed. Start it from your applications menu or run: gradient-desktop"
"""

DESCRIPTION = (
    "Connects a software vendor's product to Gradient MSP's billing platform (Synthesize): "
    "map each MSP's clients to your accounts, then push usage counts, by hand or from a CSV file."
)


def archive_name(version: str, arch: str) -> str:
    return f"{NAME}-{version}-linux-{arch}.tar.gz"


def metainfo_name() -> str:
    return f"{APP_ID}.metainfo.xml"


def metainfo_xml(version: str, date: str) -> str:
    """AppStream metadata (what software centres show); ``date`` is the release's YYYY-MM-DD."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{APP_ID}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>MIT</project_license>
  <name>{APP_NAME}</name>
  <summary>Push your product's usage to Gradient MSP billing</summary>
  <developer id="{APP_ID.rsplit(".", 1)[0]}">
    <name>{APP_NAME} contributors</name>
  </developer>
  <description>
    <p>{escape(DESCRIPTION)}</p>
  </description>
  <launchable type="desktop-id">{NAME}.desktop</launchable>
  <provides>
    <binary>{NAME}</binary>
  </provides>
  <categories>
    <category>Office</category>
    <category>Finance</category>
  </categories>
  <content_rating type="oars-1.1"/>
  <releases>
    <release version="{version}" date="{date}"/>
  </releases>
</component>
"""


def validate_commands(desktop: Path, metainfo: Path) -> list[list[str]]:
    """The validators of the menu entry and the metadata (run when installed)."""
    return [
        ["desktop-file-validate", str(desktop)],
        ["appstreamcli", "validate", "--no-net", "--explain", str(metainfo)],
    ]


def write_extras(folder: Path, root: Path, version: str, date: str) -> list[Path]:
    """The files beside the bundle in the archive, written into ``folder``."""
    desktop = folder / f"{NAME}.desktop"
    shutil.copy(root / "resources" / f"{NAME}.desktop", desktop)
    icon = folder / f"{NAME}.png"
    shutil.copy(root / "resources" / "icons" / f"{NAME}.png", icon)
    metainfo = folder / metainfo_name()
    metainfo.write_text(metainfo_xml(version, date), encoding="utf-8")
    install = folder / "install.sh"
    install.write_text(INSTALL_SH.replace("@METAINFO@", metainfo_name()), encoding="utf-8")
    install.chmod(0o755)
    return [desktop, icon, metainfo, install]


def make_archive(dist: Path, root: Path, version: str, arch: str, date: str) -> Path:
    """dist/gradient-desktop-<version>-linux-<arch>.tar.gz: the folder and ``write_extras``."""
    top = f"{NAME}-{version}"
    archive = dist / archive_name(version, arch)
    with tempfile.TemporaryDirectory() as tmp:
        extras = write_extras(Path(tmp), root, version, date)
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(dist / NAME, arcname=f"{top}/{NAME}")
            for path in extras:
                tar.add(path, arcname=f"{top}/{path.name}")
    return archive
