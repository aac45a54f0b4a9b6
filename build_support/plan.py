"""The build plan: every step ``build_installer.py`` takes for one target OS, as data.

``make_plan`` is a pure function of the target, the version, the folders and the signing
environment, so ``--plan`` can print what a Windows or macOS build would do from any machine, the
tests check each target's layout on Linux, and the real build runs exactly these steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from build_support import APP_NAME, NAME, TARGETS, WINDOWS_GUI_EXE, linux, macos, windows

#: How to get the external tools the steps use, for the message when one is missing.
TOOL_HINTS = {
    "iscc": "install Inno Setup 6 (https://jrsoftware.org/isinfo.php, or: choco install innosetup)",
    "desktop-file-validate": "install the Debian package desktop-file-utils",
    "appstreamcli": "install the Debian package appstream",
    "codesign": "part of macOS (Xcode command line tools: xcode-select --install)",
    "hdiutil": "part of macOS",
    "xcrun": "part of macOS (Xcode command line tools: xcode-select --install)",
}


@dataclass(frozen=True)
class Step:
    """One build step: an external ``command`` run as is, or an in-process ``action``."""

    summary: str
    command: tuple[str, ...] = ()
    action: str = ""
    produces: tuple[Path, ...] = ()
    #: A check that may be skipped (with its reason printed) when its tool is not installed;
    #: a missing tool fails any other step.
    optional: bool = False

    @property
    def tool(self) -> str:
        return self.command[0] if self.command else ""


@dataclass(frozen=True)
class Plan:
    target: str
    version: str
    arch: str
    steps: tuple[Step, ...]
    #: The executables the smoke test starts: the CLI/console one first.
    smoke_executables: tuple[Path, ...]

    def files(self) -> list[Path]:
        return [path for step in self.steps for path in step.produces]

    def commands(self) -> list[tuple[str, ...]]:
        return [step.command for step in self.steps if step.command]

    def describe(self) -> str:
        """The plan as ``--plan`` prints it: files first, then every step in order."""
        lines = [f"Plan: {NAME} {self.version} for {self.target} ({self.arch}); nothing is built."]
        lines.append("Files it produces:")
        lines += [f"  {path}" for path in self.files()]
        lines.append("Steps, in order ($ = a command it runs; * = done in Python):")
        for step in self.steps:
            note = " [skipped with a message if the tool is missing]" if step.optional else ""
            lines.append(f"  - {step.summary}{note}")
            if step.command:
                lines.append("      $ " + " ".join(_quote(part) for part in step.command))
            else:
                lines.append(f"      * {step.action}")
        lines.append(
            f"Smoke test (--smoke-test) starts: {', '.join(map(str, self.smoke_executables))}"
        )
        return "\n".join(lines)


def _quote(part: str) -> str:
    return f'"{part}"' if " " in part else part


def make_plan(
    target: str,
    version: str,
    arch: str,
    *,
    root: Path,
    dist: Path,
    work: Path,
    python: str,
    env: Mapping[str, str],
    archive: bool = True,
    clean: bool = False,
) -> Plan:
    """Every step of a build for ``target`` (``linux``, ``win32`` or ``darwin``)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    spec = work / f"{NAME}.spec"
    folder = dist / NAME
    exe_suffix = ".exe" if target == "win32" else ""
    console_exe = folder / f"{NAME}{exe_suffix}"
    freeze = [python, "-m", "PyInstaller", str(spec), "--noconfirm", "--distpath", str(dist)]
    freeze += ["--workpath", str(work / "pyinstaller"), "--log-level", "WARN"]
    freeze += ["--clean"] if clean else []
    frozen: tuple[Path, ...] = (folder, console_exe)
    smoke: tuple[Path, ...] = (console_exe,)
    if target == "win32":
        frozen += (folder / WINDOWS_GUI_EXE,)
        smoke += (folder / WINDOWS_GUI_EXE,)
    if target == "darwin":
        frozen += (macos.app_path(dist),)
        smoke = (macos.app_executable(dist),)
    steps = [
        Step("write the PyInstaller spec and launcher", action="write_spec",
             produces=(spec, work / "launcher.py")),
        Step("freeze the app into one folder with PyInstaller", command=tuple(freeze),
             produces=frozen),
    ]  # fmt: skip
    if target == "linux":
        steps += _linux_steps(version, arch, root, dist, work, archive)
    elif target == "win32":
        steps += _windows_steps(version, arch, root, dist, archive)
    else:
        steps += _macos_steps(version, arch, dist, work, env, archive)
    return Plan(target, version, arch, tuple(steps), smoke)


def _linux_steps(
    version: str, arch: str, root: Path, dist: Path, work: Path, archive: bool
) -> list[Step]:
    desktop, metainfo = root / "resources" / f"{NAME}.desktop", work / linux.metainfo_name()
    check_desktop, check_metainfo = linux.validate_commands(desktop, metainfo)
    steps = [
        Step("validate the menu entry (.desktop)", command=tuple(check_desktop), optional=True),
        Step("write the AppStream metainfo", action="write_metainfo", produces=(metainfo,)),
        Step("validate the AppStream metainfo", command=tuple(check_metainfo), optional=True),
    ]
    if archive:
        steps.append(
            Step("pack the folder, .desktop, icon, metainfo and install.sh into a .tar.gz",
                 action="linux_archive", produces=(dist / linux.archive_name(version, arch),))
        )  # fmt: skip
    return steps


def _windows_steps(version: str, arch: str, root: Path, dist: Path, archive: bool) -> list[Step]:
    if not archive:
        return []
    iscc = windows.iscc_command("iscc", version, arch, root, dist)
    return [
        Step("zip the folder as the portable form", action="windows_zip",
             produces=(dist / windows.zip_name(version, arch),)),
        Step(f"compile the per-user installer (Start-menu entry, uninstaller) from "
             f"{windows.ISS.name} with Inno Setup", command=tuple(iscc),
             produces=(dist / f"{windows.setup_name(version, arch)}.exe",)),
    ]  # fmt: skip


def _macos_steps(
    version: str, arch: str, dist: Path, work: Path, env: Mapping[str, str], archive: bool
) -> list[Step]:
    app = macos.app_path(dist)
    sign, verify = macos.sign_commands(app, env)
    how = (
        "with the Developer ID in MACOS_SIGN_IDENTITY"
        if env.get(macos.SIGN_IDENTITY_ENV, "").strip()
        else "ad hoc (no certificate: set MACOS_SIGN_IDENTITY to sign for distribution)"
    )
    steps = [
        Step(f"sign {app.name} {how}", command=tuple(sign)),
        Step("verify the signature", command=tuple(verify)),
    ]
    if not archive:
        return steps
    staging, dmg = work / "dmg", dist / f"{NAME}-{version}-macos-{arch}.dmg"
    steps += [
        Step(f"stage the disk image: {APP_NAME}.app and a link to Applications",
             action="stage_dmg", produces=(staging,)),
        Step("pack the disk image with hdiutil", command=tuple(macos.dmg_command(staging, dmg)),
             produces=(dmg,)),
    ]  # fmt: skip
    notarize = macos.notarize_commands(dmg, env)
    summaries = ["sign the disk image", "notarise it with Apple (MACOS_NOTARY_PROFILE)",
                 "staple the notarisation ticket"]  # fmt: skip
    steps += [Step(s, command=tuple(c)) for s, c in zip(summaries, notarize, strict=False)]
    return steps
