"""Cold start: ``gradient-desktop`` (the GUI) from process start to its first painted main
window, against a bare PySide6 ``QMainWindow`` hello-world (``bench/hello_qt.py``) started the
same way: a Python process, ``QT_QPA_PLATFORM=offscreen``, by the same interpreter.

Two installs, each a row:

* **installed wheel** — what users run: the app's wheel, built from a copy of this checkout,
  installed by pip (bytecode compiled) into a fresh venv whose dependencies come from this
  venv through a plain path line (so this venv's ``.pth`` files, the editable install's import
  finder among them, are not loaded). The hello-world runs on that venv's interpreter too.
* **editable checkout** — a developer's ``pip install -e`` venv: the console script of this
  venv, the package from the source tree.

Both with bytecode caching on (``PYTHONPYCACHEPREFIX`` in a scratch folder, filled by the
warm-up runs): the shell here sets ``PYTHONDONTWRITEBYTECODE=1``, and with it every start
compiled the app's modules from source, ~15 ms no installed copy pays (issue 16). The app's
folders are XDG folders in a scratch directory, so the start goes through ``platformdirs`` as
a user's does.

The app's hook: ``GRADIENT_DESKTOP_EXIT_AFTER_PAINT=1`` makes it print ``first-paint …`` right
after the first paint of its main window, then close. The time is taken by this process, from
just before starting the child to the moment that line arrives on the pipe, for both subjects
alike (the child's own figure comes from /proc's 10 ms clock ticks, too coarse here). The first
(warm-up) run creates the app's database; the measured ones open an existing one, like every
start but the very first.

When a figure is over its goal, the row's note names the costliest imports of the app's start
(``-X importtime``), which is where a cold start goes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_support.wheel import install_wheel

from .common import REPO, Config, Goal, Row, child_env, fmt_s, interleave, log, median

HOOK = "GRADIENT_DESKTOP_EXIT_AFTER_PAINT"
TIMEOUT_S = 60.0


class NoHook(RuntimeError):
    """The app never printed its first-paint line: the exit-after-paint hook is missing."""


def app_command() -> list[str]:
    script = Path(sys.executable).with_name("gradient-desktop")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "gradient_desktop"]


def hello_command() -> list[str]:
    return [sys.executable, str(REPO / "bench" / "hello_qt.py")]


def time_to_paint(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``argv`` to its ``first-paint`` line; the child must then exit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        painted = None
        for line in proc.stdout:  # blocks until a line or EOF
            if line.startswith("first-paint"):
                painted = time.perf_counter() - t0
                break
        if painted is None:
            raise NoHook(f"{argv[-1]} exited ({proc.wait(5)}) without a first-paint line")
        proc.wait(TIMEOUT_S)
        return painted
    finally:
        if proc.poll() is None:
            proc.kill()  # this child only
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def top_imports(argv: list[str], env: dict[str, str], n: int = 6) -> list[tuple[str, float]]:
    """The ``n`` top-level packages whose modules cost the most to import in ``argv``: the sum
    of each module's *own* import time (``-X importtime``'s self column), by root package."""
    proc = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    cost: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _cumulative, name = line.removeprefix("import time:").split("|")
        if not own.strip().isdigit():
            continue  # the header line
        root = name.strip().split(".")[0]
        cost[root] = cost.get(root, 0.0) + int(own) / 1e6
    return sorted(cost.items(), key=lambda kv: kv[1], reverse=True)[:n]


def installed_wheel(workdir: Path) -> Path:
    """The app's wheel in a fresh venv whose dependencies are this venv's; its interpreter."""
    return install_wheel(REPO, workdir, dependencies_from_here=True)


def start_env(home: Path, cache: Path, *, checkout_on_path: bool) -> dict[str, str]:
    """Offscreen, bytecode cached in ``cache``, the app's folders under ``home`` (XDG)."""
    env = child_env(QT_QPA_PLATFORM="offscreen", PYTHONPYCACHEPREFIX=str(cache), **{HOOK: "1"})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("GRADIENT_DESKTOP_HOME", None)
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        env[var] = str(home / sub)
    if not checkout_on_path:
        env.pop("PYTHONPATH", None)  # the installed copy, not the checkout
    return env


def measure(label: str, app: list[str], hello: list[str], env: dict[str, str], reps: int) -> Row:
    """One row: ``app`` vs ``hello`` to first paint, interleaved, medians."""
    name = f"cold start: first paint ({label})"
    try:
        time_to_paint(app, env)  # warm-up: creates the database, fills the bytecode cache
        time_to_paint(app, env)
    except (NoHook, subprocess.TimeoutExpired) as exc:
        return Row(
            name,
            "pending",
            "bare QMainWindow",
            None,
            Goal("pending"),
            note=f"the app needs {HOOK}=1 (print 'first-paint' then quit): {exc}",
        )
    time_to_paint(hello, env)
    time_to_paint(hello, env)
    base, subj = interleave(
        lambda i: time_to_paint(hello, env), lambda i: time_to_paint(app, env), reps
    )
    t_app, t_hello = median(subj), median(base)
    ratio = t_app / t_hello
    note = f"process start → first painted main window, offscreen, median of {reps}"
    if ratio > 1.5:
        imports = top_imports(app, env)
        note += (
            "; costliest imports of the whole start, after the paint included (own time by "
            "package): " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in imports)
        )
    return Row(
        name,
        fmt_s(t_app),
        f"{fmt_s(t_hello)} (bare QMainWindow)",
        ratio,
        Goal("<=", 1.5),
        note=note,
        data={"app": subj, "hello": base},
    )


def bench(cfg: Config) -> list[Row]:
    reps = cfg.reps if cfg.explicit_reps else cfg.pick(11, 3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gradient-bench-gui-") as tmp:
        work = Path(tmp)
        log("coldstart: building and installing the app's wheel into a scratch venv")
        try:
            python = installed_wheel(work / "wheel")
        except (subprocess.SubprocessError, OSError, StopIteration) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            rows.append(
                Row(
                    "cold start: first paint (installed wheel)",
                    "not run",
                    "bare QMainWindow",
                    None,
                    Goal("pending"),
                    note=f"the wheel could not be built or installed here: {detail[-300:]}",
                )
            )
        else:
            log(f"coldstart: {reps}× the installed wheel to first paint vs a bare QMainWindow")
            env = start_env(work / "home-wheel", work / "pyc-wheel", checkout_on_path=False)
            script = python.with_name("gradient-desktop")
            hello = [str(python), str(REPO / "bench" / "hello_qt.py")]
            rows.append(measure("installed wheel", [str(python), str(script)], hello, env, reps))
        log(f"coldstart: {reps}× the editable checkout to first paint vs a bare QMainWindow")
        env = start_env(work / "home-dev", work / "pyc-dev", checkout_on_path=True)
        rows.append(measure("editable checkout", app_command(), hello_command(), env, reps))
    return rows
