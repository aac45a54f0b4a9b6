"""The scheduled sync (issue #13): what each OS is told (pure builders, checked on any OS), and a
real crontab entry for a throw-away user that the OS lists, whose exact command line runs
headless against the demo sandbox and exits 0, and that is removed again."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.services import schedule
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.schedule import ScheduleError, When, parse_when
from gradient_desktop.services.schedule_keys import keyring_advice, keyring_in_job, keys_needed
from gradient_desktop.services.sources import FieldMap, RunStore, SourceConfig, SourceStore
from tests.sync_helpers import demo_usage_rows, partner_usage_db, throwaway_user

ARGV = ["/opt/gd/bin/python", "-m", "gradient_desktop", "sync", "--all", "--scheduled"]


def test_intervals_and_times_are_parsed_or_refused_with_what_to_type() -> None:
    assert parse_when(every="1h") == When(every_min=60)
    assert parse_when(every="30m") == When(every_min=30)
    assert parse_when(daily="02:00") == When(daily=(2, 0))
    for bad in ("7m", "5h", "x"):
        with pytest.raises(ScheduleError, match=r"Choose|not an interval"):
            parse_when(every=bad)
    with pytest.raises(ScheduleError, match=r"HH:MM"):
        parse_when(daily="25:00")


def test_cron_lines() -> None:
    assert schedule.cron_schedule(When(every_min=60)) == "0 * * * *"
    assert schedule.cron_schedule(When(every_min=360)) == "0 */6 * * *"
    assert schedule.cron_schedule(When(every_min=15)) == "*/15 * * * *"
    assert schedule.cron_schedule(When(daily=(2, 5))) == "5 2 * * *"
    line = schedule.cron_command(ARGV, {"GRADIENT_DESKTOP_HOME": "/a b"}, Path("/l/s.txt"))
    assert line == (
        "GRADIENT_DESKTOP_HOME='/a b' /opt/gd/bin/python -m gradient_desktop sync --all "
        "--scheduled >> /l/s.txt 2>&1"
    )


def test_systemd_units() -> None:
    service, timer = schedule.systemd_units(When(every_min=60), ARGV, {"A": "1"})
    assert (
        "Type=oneshot\nEnvironment=A=1\nExecStart=/opt/gd/bin/python -m gradient_desktop" in service
    )
    assert "OnUnitActiveSec=60min" in timer and "WantedBy=timers.target" in timer
    _, daily = schedule.systemd_units(When(daily=(2, 0)), ARGV, {})
    assert "OnCalendar=*-*-* 02:00:00\nPersistent=true" in daily


def test_windows_task_scheduler_command() -> None:
    argv = [r"C:\Program Files\Gradient Desktop\gradient-desktop.exe", "sync", "--all"]
    cmd = schedule.schtasks_create(When(every_min=60), argv)
    assert cmd[:5] == ["schtasks", "/Create", "/F", "/TN", "Gradient Desktop sync"]
    assert cmd[5:7] == [
        "/TR",
        '"C:\\Program Files\\Gradient Desktop\\gradient-desktop.exe" sync --all',
    ]
    assert cmd[7:] == ["/SC", "HOURLY", "/MO", "1"]
    assert schedule.schtasks_create(When(daily=(2, 0)), argv)[7:] == [
        "/SC",
        "DAILY",
        "/ST",
        "02:00",
    ]
    assert schedule.schtasks_create(When(every_min=30), argv)[7:] == ["/SC", "MINUTE", "/MO", "30"]


def test_macos_launchd_agent() -> None:
    doc = plistlib.loads(schedule.launchd_plist(When(daily=(2, 30)), ARGV, {"A": "1"}, Path("/l")))
    assert doc["Label"] == "com.gradient-desktop.sync"
    assert doc["ProgramArguments"] == ARGV
    assert doc["StartCalendarInterval"] == {"Hour": 2, "Minute": 30}
    assert doc["EnvironmentVariables"] == {"A": "1"}
    every = plistlib.loads(schedule.launchd_plist(When(every_min=60), ARGV, {}, Path("/l")))
    assert every["StartInterval"] == 3600 and "EnvironmentVariables" not in every


@pytest.mark.slow
def test_a_real_crontab_entry_runs_sync_headless_and_is_removed(
    isolated_home: Path, tmp_path: Path, run_async: Any
) -> None:
    user = throwaway_user()
    try:
        # A fresh machine: the demo partners, and a SQL source in the vendor's own database.
        ctx = AppContext.open()
        try:
            rows = run_async(demo_usage_rows(ctx))
            db = partner_usage_db(tmp_path / "vendor.sqlite3", rows)
            SourceStore(ctx).save(
                SourceConfig(
                    name="product db",
                    kind="sql",
                    url=f"sqlite:///{db}",
                    query="SELECT partner, account, sku, n FROM usage",
                    mapping=FieldMap(
                        account="account", service="sku", count="n", partner="partner"
                    ),
                )
            )
        finally:
            ctx.close()

        cron = schedule.Cron(user=user)
        cron.install(parse_when(every="1h"), schedule.command_line())
        listed = subprocess.run(
            ["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True
        ).stdout
        line = next(x for x in listed.splitlines() if schedule.JOB_NAME in x)
        assert line.startswith("@hourly ")  # python-crontab writes "0 * * * *" as @hourly
        assert f"GRADIENT_DESKTOP_HOME={shlex.quote(str(isolated_home))}" in line
        command = line.split(" ", 1)[1].split(" # ")[0]  # python-crontab appends "# comment"

        done = subprocess.run(["sh", "-c", command], timeout=240, check=False)
        log = isolated_home / "logs" / "scheduled-sync.txt"
        output = log.read_text() if log.exists() else ""
        assert done.returncode == 0, output

        ctx = AppContext.open()
        try:
            runs = RunStore(ctx).unseen_scheduled()
            assert [r.status for r in runs] == ["ok"], output
            assert runs[0].landed == len(rows) and runs[0].changed == len(rows)
        finally:
            ctx.close()
        # The run left its trace in the app's redacted log as well.
        logged = (isolated_home / "logs" / "gradient-desktop.log").read_text()
        assert "sync run 1 (ok): " in logged
        assert cron.show() is not None
        assert cron.remove() is True
        listed = subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True)
        assert schedule.JOB_NAME not in listed.stdout
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], check=False)


def test_schedule_set_says_what_scheduled_runs_need_from_the_keyring(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
    from gradient_desktop.services.partners import PartnerDirectory

    ctx = AppContext.open()
    try:
        assert keyring_advice(ctx) is None  # no partner needs a key
        directory = PartnerDirectory(ctx)
        directory.add(
            "Contoso", directory.save_profile("p", sandbox.base_url, VENDOR_KEY), PARTNER_DEMO
        )
        SourceStore(ctx).save(
            SourceConfig(name="shop db", kind="sql", url="sqlite:///x", query="SELECT 1"), "pw"
        )
        assert keys_needed(ctx) == ["Contoso", "source 'shop db'"]
        monkeypatch.setattr(sys, "platform", "linux")
        advice = keyring_advice(ctx) or ""
        assert "scheduled runs work while you are logged in" in advice
        keyring.set_keyring(FailKeyring())
        warning = keyring_advice(ctx) or ""
        assert warning.startswith(
            "Warning: scheduled runs will not be able to read the keys of Contoso, "
            "source 'shop db'. No secure key storage"
        )
        assert "gnome-keyring" in warning  # what to install
    finally:
        ctx.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cron runs on Linux here")
def test_for_cron_the_keyring_is_asked_where_cron_runs_the_job(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's keyring answers (the in-memory one here); cron's bare environment has no
    desktop session, so this installation's selfcheck, run there, decides."""
    from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
    from gradient_desktop.services.partners import PartnerDirectory

    if Path(f"/run/user/{os.getuid()}/bus").exists():
        pytest.skip("a desktop session bus exists: cron jobs may reach its keyring here")
    ctx = AppContext.open()
    try:
        directory = PartnerDirectory(ctx)
        directory.add(
            "Contoso", directory.save_profile("p", sandbox.base_url, VENDOR_KEY), PARTNER_DEMO
        )
        assert keyring_in_job() is False
        warning = keyring_advice(ctx, schedule.Cron()) or ""
        assert warning.startswith(
            "Warning: cron starts scheduled runs outside your desktop session, where the system "
            "keyring does not answer, so they cannot read the keys of Contoso."
        )
        assert "leave the app open: it runs the scheduled syncs itself" in warning
        # A keyring chosen by keyring's own variable travels with the job, and then answers.
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.MemoryKeyring")
        monkeypatch.chdir(Path(__file__).resolve().parents[2])  # where `tests` imports from
        assert keyring_in_job() is True
        assert "scheduled runs work while you are logged in" in (
            keyring_advice(ctx, schedule.Cron()) or ""
        )
    finally:
        ctx.close()


def test_the_job_carries_the_data_folder(isolated_home: Path) -> None:
    assert schedule.job_environment()["GRADIENT_DESKTOP_HOME"] == str(isolated_home)
    argv = schedule.command_line()
    assert argv[0] == sys.executable and argv[-3:] == ["sync", "--all", "--scheduled"]


@pytest.mark.parametrize("when", [When(every_min=60), When(daily=(2, 0))])
def test_systemd_accepts_the_units_it_would_be_given(when: When, tmp_path: Path) -> None:
    """No user systemd here (no session bus), so ``systemd-analyze verify`` checks the unit
    files offline: syntax, the calendar spec and that ExecStart is executable."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    env = {"GRADIENT_DESKTOP_HOME": str(tmp_path / "a home")}
    service, timer = schedule.systemd_units(when, schedule.command_line(), env)
    (tmp_path / f"{schedule.JOB_NAME}.service").write_text(service)
    (tmp_path / f"{schedule.JOB_NAME}.timer").write_text(timer)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"{schedule.JOB_NAME}.timer", f"{schedule.JOB_NAME}.service"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "when",
    [When(every_min=m) for m in schedule.INTERVALS] + [When(daily=(0, 0)), When(daily=(23, 5))],
)
def test_what_each_os_was_told_reads_back_as_the_same_schedule(when: When) -> None:
    """The Sync page shows the schedule the OS keeps (not "Off" while one is set): every
    schedule it can set reads back from the crontab line, the timer unit and the plist."""
    from crontab import CronTab

    job = CronTab(tab="").new(command="x")
    job.setall(schedule.cron_schedule(when))
    back = schedule.when_of_cron(job.slices.render())  # "@hourly" for "0 * * * *"
    # Cron cannot tell "every 24 hours" from "every day at 00:00": the same job either way.
    assert back == (When(daily=(0, 0)) if when == When(every_min=1440) else when)
    assert schedule.when_of_timer(schedule.systemd_units(when, ARGV, {})[1]) == when
    assert schedule.when_of_plist(schedule.launchd_plist(when, ARGV, {}, Path("/l"))) == when
    assert schedule.when_of_cron("*/7 3 * * 1") is None  # a line edited by hand
    assert schedule.when_of_plist(b"not a plist") is None


def test_where_systemctl_user_cannot_work_the_crontab_is_used_and_no_unit_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine's case (no user systemd: no session bus, systemd is not PID 1): the
    schedule goes to the crontab, and a systemd timer forced onto it fails without leaving
    unit files that show() would report as a schedule."""
    if not sys.platform.startswith("linux") or shutil.which("systemctl") is None:
        pytest.skip("needs systemctl (Linux)")
    if schedule.SystemdUser.usable():
        pytest.skip("systemctl --user works here: the systemd timer is used")
    monkeypatch.delenv(schedule.BACKEND_ENV, raising=False)
    assert isinstance(schedule.detect(), schedule.Cron)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv(schedule.BACKEND_ENV, "systemd")
    timer = schedule.detect()
    assert isinstance(timer, schedule.SystemdUser)
    with pytest.raises(ScheduleError, match=r"^systemctl --user daemon-reload failed: "):
        timer.install(When(every_min=60), ARGV)
    assert list((tmp_path / "systemd" / "user").iterdir()) == []
    assert timer.show() is None and timer.when() is None


def test_the_systemd_timer_path_writes_verifiable_units_and_drives_systemctl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user systemd can run here (systemd is not PID 1), so ``systemctl`` is a recording
    stand-in on PATH: what is checked is which commands the backend runs, in which order, and
    that the unit files it leaves are the ones systemd-analyze accepts and read back as the
    schedule. The real systemctl's answers are not imitated beyond exit 0."""
    if not sys.platform.startswith("linux"):
        pytest.skip("systemd runs on Linux")
    bindir, calls = tmp_path / "bin", tmp_path / "calls"
    bindir.mkdir()
    fake = bindir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(calls))}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(schedule.BACKEND_ENV, raising=False)

    timer = schedule.detect()  # `systemctl --user show-environment` answered: systemd it is
    assert isinstance(timer, schedule.SystemdUser)
    assert timer.install(When(daily=(2, 30)), schedule.command_line()) == "a systemd user timer"
    units = tmp_path / "config" / "systemd" / "user"
    assert sorted(p.name for p in units.iterdir()) == [
        "gradient-desktop-sync.service",
        "gradient-desktop-sync.timer",
    ]
    assert timer.when() == When(daily=(2, 30))
    if shutil.which("systemd-analyze", path=os.environ["PATH"].split(os.pathsep, 1)[1]):
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in units.iterdir())],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert timer.remove() is True
    assert list(units.iterdir()) == [] and timer.when() is None and timer.show() is None
    assert calls.read_text().splitlines() == [
        "--user show-environment",
        "--user daemon-reload",
        "--user enable --now gradient-desktop-sync.timer",
        "--user disable --now gradient-desktop-sync.timer",
        "--user daemon-reload",
    ]
