#!/usr/bin/env python3
"""Build a self-contained Gradient Desktop for the machine this runs on, and its installer.

    .venv/bin/python -m pip install -e '.[build]'      # PyInstaller
    .venv/bin/python build_installer.py --plan          # what it would build and run; builds nothing
    .venv/bin/python build_installer.py --plan --target win32   # ... for Windows (or darwin)
    .venv/bin/python build_installer.py                 # build (see below)
    .venv/bin/python build_installer.py --smoke-test    # ... then start the frozen app headless

Every OS gets the one-folder PyInstaller bundle in dist/gradient-desktop/ (it starts without
unpacking to a temp dir each time: what qutebrowser and Electrum ship). Around it:
Linux, a .tar.gz with a validated .desktop file, AppStream metainfo and install.sh; Windows, a
per-user Inno Setup installer (Start-menu entry, uninstaller) and a portable .zip; macOS, a signed
.app in a .dmg. The steps are data (build_support/plan.py), so ``--plan`` shows them for any OS.

Known PySide6 bundling bugs (a missing platform plugin, pyinstaller#5414; lost keyring backends,
jaraco/keyring#324) only show when the frozen program runs, hence ``--smoke-test``, which also
checks that this OS's keyring backend (Secret Service, Credential Manager, Keychain) is bundled.

Exit codes: 0 built (and smoke-tested when asked) or plan printed, 1 the build or the smoke test
failed, 2 bad usage or PyInstaller missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # build_support/ sits beside this script and is not installed

from build_support import NAME, TARGETS, linux, macos, windows  # noqa: E402
from build_support.plan import TOOL_HINTS, Plan, Step, make_plan  # noqa: E402
from build_support.spec import write_spec  # noqa: E402

# The keyring backend the smoke test requires per OS (the frozen ``selfcheck`` reports it).
from gradient_desktop.diagnostics import PLATFORM_BACKENDS  # noqa: E402


def read_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    with pyproject.open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def arch() -> str:
    machine = platform.machine().lower()
    if sys.platform == "darwin":
        return machine or "unknown"  # Apple's own names: arm64, x86_64
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine or "unknown")


def host_target() -> str:
    return next((t for t in TARGETS if sys.platform.startswith(t)), sys.platform)


def release_date(env: dict[str, str]) -> str:
    """The release date for the metadata: SOURCE_DATE_EPOCH (reproducible builds) or today."""
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return when.date().isoformat()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# -- running the plan ------------------------------------------------------------------------


def find_tool(name: str) -> str | None:
    """An external tool's path; Inno Setup's compiler is usually not on PATH."""
    found = shutil.which(name)
    if found is None and name == "iscc" and sys.platform == "win32":
        for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles")):
            candidate = Path(base or "C:/Program Files (x86)") / "Inno Setup 6" / "ISCC.exe"
            if candidate.is_file():
                return str(candidate)
    return found


def _do_action(step: Step, plan: Plan, dist: Path, work: Path) -> None:
    version, date = plan.version, release_date(dict(os.environ))
    if step.action == "write_spec":
        write_spec(work, version, plan.target, ROOT)
    elif step.action == "write_metainfo":
        step.produces[0].write_text(linux.metainfo_xml(version, date), encoding="utf-8")
    elif step.action == "linux_archive":
        linux.make_archive(dist, ROOT, version, plan.arch, date)
    elif step.action == "windows_zip":
        windows.make_zip(dist / NAME, step.produces[0], f"{NAME}-{version}")
    elif step.action == "stage_dmg":
        macos.stage_dmg(macos.app_path(dist), step.produces[0])
    else:  # pragma: no cover - a plan/executor mismatch is a programming error
        raise RuntimeError(f"unknown build action {step.action!r}")


def run_plan(plan: Plan, dist: Path, work: Path) -> list[str]:
    """Run every step; return the problems (a failed step stops the build)."""
    work.mkdir(parents=True, exist_ok=True)
    dist.mkdir(parents=True, exist_ok=True)
    for step in plan.steps:
        print(f"== {step.summary}", flush=True)
        if step.action:
            _do_action(step, plan, dist, work)
            continue
        tool = find_tool(step.tool)
        if tool is None:
            hint = TOOL_HINTS.get(step.tool, "install it")
            if step.optional:
                print(f"   skipped: {step.tool} is not installed ({hint})", flush=True)
                continue
            return [f"{step.tool} is not installed: {hint}"]
        out = subprocess.run([tool, *step.command[1:]], cwd=ROOT, capture_output=step.optional,
                             text=True)  # fmt: skip
        if out.returncode != 0:
            detail = (out.stdout or "") + (out.stderr or "") if step.optional else ""
            return [f"{step.summary} failed (exit {out.returncode}) {detail.strip()}".strip()]
        if step.optional:
            print("   ok", flush=True)
    return []


# -- smoke test --------------------------------------------------------------------------------


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def smoke_test(plan: Plan) -> list[str]:
    """Start the frozen app headless; return the problems found (empty when it works)."""
    exe, version, problems = plan.smoke_executables[0], plan.version, []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "GRADIENT_DESKTOP_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        out = _run([str(exe), "--version"], env, 60)
        print(f"   --version: {out.stdout.strip() or out.stderr.strip()}")
        if out.returncode != 0 or version not in out.stdout:
            problems.append(
                f"--version printed {out.stdout!r} {out.stderr!r} (exit {out.returncode})"
            )
        # Windows: Credential Manager works for any signed-in user (CI runners too), so the
        # frozen app also writes, reads back and deletes a probe key there.
        write = ["--keyring-write"] if plan.target == "win32" else []
        out = _run([str(exe), "selfcheck", "--bundle-only", *write], env, 120)
        print("   selfcheck:\n" + "\n".join("     " + line for line in out.stdout.splitlines()))
        if out.returncode != 0:
            problems.append(f"selfcheck failed (exit {out.returncode}): {out.stderr.strip()}")
        backend = f"ok   platform keyring backend: {PLATFORM_BACKENDS[plan.target]} loaded"
        if backend not in out.stdout:
            problems.append(f"the {PLATFORM_BACKENDS[plan.target]} keyring backend is not bundled")
        # The GUI: QApplication, platform plugin, main window, first paint, clean exit.
        started = time.monotonic()
        out = _run([str(exe)], {**env, "GRADIENT_DESKTOP_EXIT_AFTER_PAINT": "1"}, 120)
        ok = out.returncode == 0 and "first-paint" in out.stdout
        print(
            f"   GUI first paint: {'ok' if ok else 'FAILED'} ({time.monotonic() - started:.1f} s)"
        )
        if not ok:
            problems.append(
                f"GUI did not paint (exit {out.returncode}): {out.stderr.strip()[-2000:]}"
            )
        # Windows: the Start menu's windowed executable (no stdout to read: its exit code).
        for gui in plan.smoke_executables[1:]:
            out = _run([str(gui)], {**env, "GRADIENT_DESKTOP_EXIT_AFTER_PAINT": "1"}, 120)
            print(f"   {gui.name}: {'ok' if out.returncode == 0 else 'FAILED'}")
            if out.returncode != 0:
                problems.append(f"{gui.name} exited with {out.returncode}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build_installer.py",
        description="Build Gradient Desktop as a one-folder PyInstaller bundle in dist/ "
        "(version from pyproject.toml) and its installer: on Linux dist/gradient-desktop-"
        "<version>-linux-<arch>.tar.gz (folder, .desktop, icon, metainfo, install.sh); on Windows "
        "a per-user Inno Setup installer and a portable .zip; on macOS a signed .app in a .dmg.",
        epilog="Needs PyInstaller: .venv/bin/python -m pip install -e '.[build]'",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="print every file the build would produce and every command it would run; "
        "build nothing",
    )
    parser.add_argument(
        "--target",
        choices=TARGETS,
        help="with --plan: the OS to plan for (default: this one); a build is always for this OS",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="remove dist/gradient-desktop, build/installer and PyInstaller's cache first",
    )
    parser.add_argument(
        "--no-archive",
        action="store_true",
        help="only the folder (and the .app on macOS): skip the .tar.gz, installer, .zip, .dmg",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="afterwards start the frozen app headless: --version, selfcheck "
        "(this OS's keyring backend, resources) and the GUI up to its first paint",
    )
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)"
    )
    args = parser.parse_args(argv)
    target = args.target or host_target()
    if args.target and not args.plan and args.target != host_target():
        parser.error(f"PyInstaller cannot cross-build: --target {args.target} needs --plan")

    version = read_version()
    dist_dir, work_dir = args.dist.resolve(), ROOT / "build" / "installer"
    plan = make_plan(
        target,
        version,
        arch() if target == host_target() else {"darwin": "arm64"}.get(target, "x86_64"),
        root=ROOT,
        dist=dist_dir,
        work=work_dir,
        python=sys.executable if target == host_target() else "python",
        env=dict(os.environ),
        archive=not args.no_archive,
        clean=args.clean,
    )
    if args.plan:
        print(plan.describe())
        return 0
    if target not in TARGETS:
        print(f"build_installer.py: no build recipe for {sys.platform}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("PyInstaller") is None:
        print(
            "build_installer.py: PyInstaller is not installed in this Python "
            f"({sys.executable}).\nInstall it with: {sys.executable} -m pip install -e '.[build]'",
            file=sys.stderr,
        )
        return 2
    if args.clean:
        for path in (dist_dir / NAME, work_dir):
            shutil.rmtree(path, ignore_errors=True)
    print(
        f"== building {NAME} {version} for {target}-{plan.arch} with Python {platform.python_version()}"
    )
    started = time.monotonic()
    try:
        problems = run_plan(plan, dist_dir, work_dir)
    except (OSError, RuntimeError) as exc:
        problems = [f"{type(exc).__name__}: {exc}"]
    if problems:
        print("build_installer.py: the build failed: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"== built in {time.monotonic() - started:.0f} s; folder "
          f"{folder_size(dist_dir / NAME) / 1e6:.0f} MB")  # fmt: skip
    for path in plan.files():
        if path.is_file() and path.parent == dist_dir:
            print(f"== {path} ({path.stat().st_size / 1e6:.0f} MB)")
    if args.smoke_test:
        print("== smoke test (headless)")
        problems = smoke_test(plan)
        if problems:
            print(
                "build_installer.py: the smoke test failed:\n  " + "\n  ".join(problems),
                file=sys.stderr,
            )
            return 1
        print("== smoke test passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
