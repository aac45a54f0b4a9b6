"""The scheduled sync, kept by the operating system so it runs with the app closed: a systemd
user timer where ``systemctl --user`` works, else the user's crontab (Linux, BSD); Task
Scheduler (``schtasks``) on Windows; a launchd agent on macOS.

What each OS is told is built by pure functions (``systemd_units``, ``cron_schedule``,
``schtasks_create``, ``launchd_plist``), so every branch is tested on any OS; the backends only
write files and run the OS's own tool.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOB_NAME = "gradient-desktop-sync"
TASK_NAME = "Gradient Desktop sync"
LAUNCHD_LABEL = "com.gradient-desktop.sync"
#: Tests and unusual setups pick a backend: "systemd" or "cron".
BACKEND_ENV = "GRADIENT_DESKTOP_SCHEDULER"
#: Every interval a schedule may have, in minutes.
INTERVALS = (5, 10, 15, 20, 30, *(h * 60 for h in (1, 2, 3, 4, 6, 8, 12, 24)))
_EVERY = re.compile(r"^\s*(\d+)\s*(m|min|h|hr|hour|hours)?\s*$", re.IGNORECASE)


class ScheduleError(RuntimeError):
    """The schedule cannot be set, read or removed; the message says what to do."""


@dataclass(frozen=True)
class When:
    every_min: int | None = None
    daily: tuple[int, int] | None = None

    def describe(self) -> str:
        if self.daily is not None:
            return f"every day at {self.daily[0]:02d}:{self.daily[1]:02d}"
        m = self.every_min or 0
        if m == 60:
            return "every hour"
        return f"every {m // 60} hours" if m % 60 == 0 else f"every {m} minutes"


def parse_when(every: str | None = None, daily: str | None = None) -> When:
    if daily:
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", daily)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ScheduleError(f"{daily!r} is not a time of day; use HH:MM, e.g. 02:00.")
        return When(daily=(int(m.group(1)), int(m.group(2))))
    m = _EVERY.match(every or "")
    if not m:
        raise ScheduleError(f"{every!r} is not an interval; use e.g. 30m, 1h or 6h.")
    n = int(m.group(1))
    minutes = n * 60 if (m.group(2) or "h").lower().startswith("h") else n
    # Cron can only repeat on divisors of an hour or of a day; the same rule everywhere keeps
    # one schedule meaning the same thing on every OS.
    if minutes not in INTERVALS:
        raise ScheduleError(
            "Choose 5, 10, 15, 20 or 30 minutes, or 1, 2, 3, 4, 6, 8, 12 or 24 hours."
        )
    return When(every_min=minutes)


def command_line() -> list[str]:
    """What the OS runs: this installation's ``gradient-desktop sync --all`` (headless)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "sync", "--all", "--scheduled"]
    return [sys.executable, "-m", "gradient_desktop", "sync", "--all", "--scheduled"]


def job_environment() -> dict[str, str]:
    """Variables the job needs that the OS would not give it: the data folder when it is not
    the default, a keyring backend chosen by environment, and on Linux the session bus, through which the Secret Service keyring
    answers while the user is logged in (cron gives a job no session)."""
    env = {}
    # The data folder, and keyring's own setting of the backend to use (else the job would
    # look for another keyring than the one holding the keys).
    for name in ("GRADIENT_DESKTOP_HOME", "PYTHON_KEYRING_BACKEND"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if sys.platform.startswith("linux") and hasattr(os, "getuid"):
        bus = Path(f"/run/user/{os.getuid()}/bus")
        if bus.exists():
            env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
    return env


# -- pure builders -------------------------------------------------------------------------------


def cron_schedule(when: When) -> str:
    if when.daily is not None:
        return f"{when.daily[1]} {when.daily[0]} * * *"
    m = when.every_min or 60
    if m < 60:
        return f"*/{m} * * * *"
    hours = m // 60
    return "0 * * * *" if hours == 1 else ("0 0 * * *" if hours == 24 else f"0 */{hours} * * *")


def when_of_cron(expr: str) -> When | None:
    """The schedule a cron expression written by ``cron_schedule`` stands for (python-crontab
    reads "0 * * * *" back as "@hourly"); None for a line edited by hand."""
    expr = " ".join(expr.split())
    expr = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *"}.get(expr, expr)
    daily = re.fullmatch(r"(\d{1,2}) (\d{1,2}) \* \* \*", expr)
    if daily and int(daily.group(2)) < 24 and int(daily.group(1)) < 60:
        return When(daily=(int(daily.group(2)), int(daily.group(1))))
    return next(
        (When(every_min=m) for m in INTERVALS if cron_schedule(When(every_min=m)) == expr), None
    )


def cron_command(argv: list[str], env: dict[str, str], log_file: Path) -> str:
    assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    cmd = shlex.join(argv) + f" >> {shlex.quote(str(log_file))} 2>&1"
    return f"{assign} {cmd}" if assign else cmd


def systemd_units(when: When, argv: list[str], env: dict[str, str]) -> tuple[str, str]:
    """``(service, timer)`` unit files."""
    envs = "".join(f"Environment={shlex.quote(f'{k}={v}')}\n" for k, v in sorted(env.items()))
    service = (
        "[Unit]\nDescription=Gradient Desktop: push usage to every partner\n\n"
        f"[Service]\nType=oneshot\n{envs}ExecStart={shlex.join(argv)}\n"
    )
    if when.daily is not None:
        trigger = f"OnCalendar=*-*-* {when.daily[0]:02d}:{when.daily[1]:02d}:00\nPersistent=true\n"
    else:
        trigger = f"OnBootSec=5min\nOnUnitActiveSec={when.every_min}min\n"
    timer = (
        "[Unit]\nDescription=Gradient Desktop: scheduled usage sync\n\n"
        f"[Timer]\n{trigger}\n[Install]\nWantedBy=timers.target\n"
    )
    return service, timer


def when_of_timer(timer: str) -> When | None:
    """The schedule of a timer unit written by ``systemd_units``."""
    daily = re.search(r"^OnCalendar=\*-\*-\* (\d\d):(\d\d):00$", timer, re.MULTILINE)
    if daily:
        return When(daily=(int(daily.group(1)), int(daily.group(2))))
    every = re.search(r"^OnUnitActiveSec=(\d+)min$", timer, re.MULTILINE)
    return When(every_min=int(every.group(1))) if every else None


def schtasks_create(when: When, argv: list[str]) -> list[str]:
    if when.daily is not None:
        sched = ["/SC", "DAILY", "/ST", f"{when.daily[0]:02d}:{when.daily[1]:02d}"]
    elif (when.every_min or 60) % 60 == 0:
        sched = ["/SC", "HOURLY", "/MO", str((when.every_min or 60) // 60)]
    else:
        sched = ["/SC", "MINUTE", "/MO", str(when.every_min)]
    # /TR is one string; Windows quoting (list2cmdline) is what Task Scheduler parses.
    return [
        "schtasks",
        "/Create",
        "/F",
        "/TN",
        TASK_NAME,
        "/TR",
        subprocess.list2cmdline(argv),
        *sched,
    ]


def when_of_plist(data: bytes) -> When | None:
    try:
        doc = plistlib.loads(data)
    except Exception:  # plistlib raises InvalidFileException, ValueError, ExpatError
        return None
    cal = doc.get("StartCalendarInterval")
    if isinstance(cal, dict) and "Hour" in cal:
        return When(daily=(int(cal["Hour"]), int(cal.get("Minute", 0))))
    interval = doc.get("StartInterval")
    return When(every_min=int(interval) // 60) if isinstance(interval, int) else None


def launchd_plist(when: When, argv: list[str], env: dict[str, str], log_file: Path) -> bytes:
    doc: dict[str, object] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": argv,
        "RunAtLoad": False,
        "StandardOutPath": str(log_file),
        "StandardErrorPath": str(log_file),
    }
    if env:
        doc["EnvironmentVariables"] = env
    if when.daily is not None:
        doc["StartCalendarInterval"] = {"Hour": when.daily[0], "Minute": when.daily[1]}
    else:
        doc["StartInterval"] = (when.every_min or 60) * 60
    return plistlib.dumps(doc)


# -- backends -------------------------------------------------------------------------------------


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(f"{cmd[0]} could not be run ({exc}).") from None


def _log_file() -> Path:
    from gradient_desktop.config import log_dir

    path = log_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path / "scheduled-sync.txt"


class Cron:
    name = "your crontab"

    def __init__(self, user: str | bool = True) -> None:
        self.user = user

    def _tab(self) -> Any:  # a crontab.CronTab (python-crontab ships no types)
        from crontab import CronTab

        if shutil.which("crontab") is None:
            raise ScheduleError(
                "The crontab program is missing: install cron (Debian: apt install cron)."
            )
        return CronTab(user=self.user)

    def install(self, when: When, argv: list[str]) -> str:
        tab = self._tab()
        tab.remove_all(comment=JOB_NAME)
        job = tab.new(command=cron_command(argv, job_environment(), _log_file()), comment=JOB_NAME)
        job.setall(cron_schedule(when))
        tab.write()
        return self.name

    def remove(self) -> bool:
        tab = self._tab()
        found = list(tab.find_comment(JOB_NAME))
        tab.remove_all(comment=JOB_NAME)
        tab.write()
        return bool(found)

    def show(self) -> str | None:
        jobs = list(self._tab().find_comment(JOB_NAME))
        return f"{self.name}: {jobs[0]}" if jobs else None

    def when(self) -> When | None:
        jobs = list(self._tab().find_comment(JOB_NAME))
        return when_of_cron(jobs[0].slices.render()) if jobs else None


class SystemdUser:
    name = "a systemd user timer"

    def __init__(self) -> None:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.dir = base / "systemd" / "user"

    @staticmethod
    def usable() -> bool:
        if shutil.which("systemctl") is None:
            return False
        return _run(["systemctl", "--user", "show-environment"]).returncode == 0

    def install(self, when: When, argv: list[str]) -> str:
        service, timer = systemd_units(when, argv, job_environment())
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"{JOB_NAME}.service").write_text(service, encoding="utf-8")
        (self.dir / f"{JOB_NAME}.timer").write_text(timer, encoding="utf-8")
        for cmd in (["daemon-reload"], ["enable", "--now", f"{JOB_NAME}.timer"]):
            done = _run(["systemctl", "--user", *cmd])
            if done.returncode != 0:
                # No unit files left behind: show() would report a timer systemd never took.
                self.remove()
                raise ScheduleError(
                    f"systemctl --user {' '.join(cmd)} failed: {done.stderr.strip()}"
                )
        return self.name

    def remove(self) -> bool:
        existed = (self.dir / f"{JOB_NAME}.timer").exists()
        _run(["systemctl", "--user", "disable", "--now", f"{JOB_NAME}.timer"])
        for suffix in (".timer", ".service"):
            (self.dir / f"{JOB_NAME}{suffix}").unlink(missing_ok=True)
        _run(["systemctl", "--user", "daemon-reload"])
        return existed

    def show(self) -> str | None:
        if not (self.dir / f"{JOB_NAME}.timer").exists():
            return None
        out = _run(["systemctl", "--user", "list-timers", f"{JOB_NAME}.timer", "--no-pager"])
        return out.stdout.strip() or f"{self.name} ({self.dir})"

    def when(self) -> When | None:
        path = self.dir / f"{JOB_NAME}.timer"
        return when_of_timer(path.read_text(encoding="utf-8")) if path.exists() else None


class Schtasks:
    name = "Windows Task Scheduler"

    def install(self, when: When, argv: list[str]) -> str:
        done = _run(schtasks_create(when, argv))
        if done.returncode != 0:
            raise ScheduleError(f"Task Scheduler refused the task: {done.stderr.strip()}")
        return self.name

    def remove(self) -> bool:
        return _run(["schtasks", "/Delete", "/F", "/TN", TASK_NAME]).returncode == 0

    def show(self) -> str | None:
        out = _run(["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "LIST"])
        return out.stdout.strip() if out.returncode == 0 else None

    def when(self) -> When | None:
        return None  # schtasks' listing is localised: show() carries it as Windows says it


class Launchd:
    name = "a launchd agent"

    def __init__(self) -> None:
        self.path = Path.home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def install(self, when: When, argv: list[str]) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _run(["launchctl", "unload", str(self.path)])
        self.path.write_bytes(launchd_plist(when, argv, job_environment(), _log_file()))
        done = _run(["launchctl", "load", "-w", str(self.path)])
        if done.returncode != 0:
            raise ScheduleError(f"launchctl refused the agent: {done.stderr.strip()}")
        return self.name

    def remove(self) -> bool:
        if not self.path.exists():
            return False
        _run(["launchctl", "unload", "-w", str(self.path)])
        self.path.unlink()
        return True

    def show(self) -> str | None:
        return f"{self.name}: {self.path}" if self.path.exists() else None

    def when(self) -> When | None:
        return when_of_plist(self.path.read_bytes()) if self.path.exists() else None


def detect() -> Cron | SystemdUser | Schtasks | Launchd:
    if sys.platform == "win32":
        return Schtasks()
    if sys.platform == "darwin":
        return Launchd()
    forced = os.environ.get(BACKEND_ENV, "").lower()
    if forced == "cron":
        return Cron()
    if forced == "systemd" or (not forced and SystemdUser.usable()):
        return SystemdUser()
    return Cron()
