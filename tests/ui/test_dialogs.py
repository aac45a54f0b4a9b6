"""Help-menu dialogs (About, Settings, log viewer, shortcuts), the theme and remembered geometry."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.config import Settings, data_dir, log_dir
from gradient_desktop.logsetup import LOG_FILENAME, MASK, register_secret
from gradient_desktop.services.context import AppContext

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot: Any, qloop: Any, ctx: AppContext) -> Iterator[Any]:
    from gradient_desktop.ui.main_window import MainWindow

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    yield win
    win.close()
    qloop.run_until_complete(ctx.aclose())


@pytest.fixture
def restore_look(qapp: Any) -> Iterator[None]:
    """Theme tests change the shared QApplication's style and palette: put them back."""
    style, palette = qapp.style().name(), qapp.palette()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    manager = getattr(qapp, "theme_manager", None)
    if manager is not None:
        manager.theme, manager.scheme = "system", ""


# -- About -----------------------------------------------------------------------------------


def test_about_lists_app_python_qt_pyside_httpx_and_the_keyring_backend(
    qtbot: Any, ctx: AppContext
) -> None:
    from gradient_desktop import __version__
    from gradient_desktop.ui.dialogs.about import AboutDialog
    from gradient_desktop.ui.qt import QtCore, QtGui

    dialog = AboutDialog(ctx)
    qtbot.addWidget(dialog)
    v = dialog.versions
    assert v["Gradient Desktop"].startswith(__version__)
    assert v["Qt"] == QtCore.qVersion()
    assert v["PySide6"] == QtCore.__version__
    assert v["httpx"][0].isdigit() and v["Python"][0].isdigit()
    assert v["Keyring backend"] == "tests.keyring_backend.MemoryKeyring"

    dialog.copy_versions()
    copied = QtGui.QGuiApplication.clipboard().text()
    assert f"Gradient Desktop: {__version__}" in copied
    assert "Keyring backend: tests.keyring_backend.MemoryKeyring" in copied


# -- Settings --------------------------------------------------------------------------------


def test_settings_dialog_saves_every_field_to_the_settings_file(
    qtbot: Any, ctx: AppContext, restore_look: None
) -> None:
    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.concurrency.setValue(24)
    dialog.timeout.setValue(45)
    dialog.log_level.setCurrentText("DEBUG")
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    with qtbot.waitSignal(dialog.applied):
        dialog.accept()

    saved = Settings.load()
    assert (saved.default_concurrency, saved.timeout_s, saved.log_level, saved.theme) == (
        24,
        45.0,
        "DEBUG",
        "light",
    )
    assert ctx.settings.default_concurrency == 24
    # New connections use the new timeout.
    assert ctx.client_options("http://127.0.0.1:1").read_timeout == 45.0


def test_settings_restore_defaults_resets_the_fields_but_cancel_saves_nothing(
    qtbot: Any, ctx: AppContext
) -> None:
    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.concurrency.setValue(99)
    dialog.restore_defaults()
    assert dialog.values() == {
        "default_concurrency": Settings().default_concurrency,
        "timeout_s": Settings().timeout_s,
        "log_level": Settings().log_level,
        "theme": Settings().theme,
        "proxy_mode": Settings().proxy_mode,
        "proxy_url": Settings().proxy_url,
    }
    dialog.concurrency.setValue(99)
    dialog.reject()
    assert Settings.load().default_concurrency == Settings().default_concurrency


def test_settings_manual_proxy_is_checked_saved_and_used_by_new_connections(
    qtbot: Any, ctx: AppContext
) -> None:
    from gradient_desktop.api import ProxyChoice
    from gradient_desktop.ui.dialogs.settings import SettingsDialog
    from gradient_desktop.ui.qt import QtCore

    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.proxy.buttons["system"].isChecked() and not dialog.proxy.url.isEnabled()
    qtbot.mouseClick(dialog.proxy.buttons["manual"], QtCore.Qt.MouseButton.LeftButton)
    assert dialog.proxy.url.isEnabled()
    dialog.proxy.url.setText("http://alice:secret@proxy.corp:3128")
    dialog.accept()  # refused: a password would land in settings.json
    assert dialog.isVisible() and dialog.proxy.error.isVisible()
    assert "user name and password" in dialog.proxy.error.text()
    assert Settings.load().proxy_mode == "system"

    dialog.proxy.url.setText("proxy.corp:3128")
    with qtbot.waitSignal(dialog.applied):
        dialog.accept()
    saved = Settings.load()
    assert (saved.proxy_mode, saved.proxy_url) == ("manual", "proxy.corp:3128")
    assert ctx.client_options("https://app.usegradient.com").proxy == ProxyChoice(
        "manual", "proxy.corp:3128"
    )


def test_settings_shows_the_data_folder_read_only_and_the_keyring_backend(
    qtbot: Any, ctx: AppContext
) -> None:
    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.data_folder.text() == str(data_dir())
    assert dialog.data_folder.isReadOnly()
    assert dialog.log_folder.text() == str(log_dir())
    assert dialog.keyring_backend.text() == "tests.keyring_backend.MemoryKeyring"
    assert dialog.keyring_note.text().startswith("Ready")


def test_settings_without_a_keyring_says_what_to_install(qtbot: Any, ctx: AppContext) -> None:
    import keyring
    import keyring.backends.fail

    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    keyring.set_keyring(keyring.backends.fail.Keyring())  # conftest restores its own afterwards
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.keyring_note.text().startswith("Not usable")
    assert "gnome-keyring" in dialog.keyring_note.text() or "Keychain" in dialog.keyring_note.text()


def test_a_new_log_level_applies_to_the_running_log(
    qtbot: Any, ctx: AppContext, clean_logging: None
) -> None:
    from gradient_desktop.logsetup import setup_logging
    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    path = setup_logging("INFO", log_dir())
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.log_level.setCurrentText("DEBUG")
    dialog.accept()
    logging.getLogger("gradient_desktop.test").debug("visible at debug")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert logging.getLogger().level == logging.DEBUG
    assert "visible at debug" in path.read_text()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_gradient_desktop", False)]
    assert len(ours) == 1  # replaced, not stacked


# -- Theme -----------------------------------------------------------------------------------


def test_dark_and_light_themes_change_the_palette(qapp: Any, restore_look: None) -> None:
    from gradient_desktop.ui import theme

    manager = theme.install(qapp, "dark")
    window_color = qapp.palette().color(qapp.palette().ColorRole.Window)
    assert manager.scheme == "dark" and window_color.lightness() < 60
    assert qapp.style().name().lower() == "fusion"
    manager.apply("light")
    assert qapp.palette().color(qapp.palette().ColorRole.Window).lightness() > 200
    text = qapp.palette().color(qapp.palette().ColorRole.WindowText)
    assert text.lightness() < 60  # dark text on a light window: readable


def test_system_theme_follows_the_os_colour_scheme(
    qapp: Any, restore_look: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradient_desktop.ui import theme

    manager = theme.install(qapp, "system")
    monkeypatch.setattr(theme, "system_scheme", lambda app=None: "dark")
    manager._on_system_changed()  # what QStyleHints.colorSchemeChanged triggers
    assert manager.scheme == "dark"
    monkeypatch.setattr(theme, "system_scheme", lambda app=None: "light")
    manager._on_system_changed()
    assert manager.scheme == "light"
    manager.apply("dark")  # a pinned theme ignores the OS
    manager._on_system_changed()
    assert manager.scheme == "dark"


def test_first_paint_draws_the_palettes_scheme_and_the_os_is_asked_after(
    qapp: Any, restore_look: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's start guesses "system" from the platform's palette (asking the OS costs the
    first paint ~20 ms of PySide6 enum set-up) and corrects the guess once it is on screen."""
    from gradient_desktop.ui import theme

    def asked(app: object = None) -> str:
        raise AssertionError("the OS was asked before the first paint")

    qapp.setPalette(theme.dark_palette())  # a platform that draws dark
    monkeypatch.setattr(theme, "system_scheme", asked)
    manager = theme.install(qapp, "system", guess=True)
    assert manager.scheme == "dark"
    assert qapp.palette().color(qapp.palette().ColorRole.Window).lightness() < 60
    monkeypatch.setattr(theme, "system_scheme", lambda app=None: "light")  # the OS: light
    assert manager.confirm() == "light"
    assert qapp.palette().color(qapp.palette().ColorRole.Window).lightness() > 200
    assert manager.confirm() == "light"  # a right guess changes nothing
    manager = theme.install(qapp, "dark", guess=True)  # a pinned theme is never guessed
    assert manager.scheme == "dark" and manager.confirm() == "dark"


# -- Log viewer ------------------------------------------------------------------------------


def test_log_viewer_filters_by_text_and_level_and_keeps_tracebacks_with_their_record(
    qtbot: Any, tmp_path: Path
) -> None:
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer

    path = tmp_path / LOG_FILENAME
    path.write_text(
        "2026-01-01 10:00:00,000 INFO     gradient_desktop.push [MainThread] push started\n"
        "2026-01-01 10:00:01,000 DEBUG    httpx [MainThread] HTTP Request: PUT /count\n"
        "2026-01-01 10:00:02,000 ERROR    gradient_desktop.push [MainThread] push failed\n"
        "Traceback (most recent call last):\n"
        "  ValueError: boom\n"
        "2026-01-01 10:00:03,000 INFO     gradient_desktop.ui [MainThread] window closed\n"
    )
    viewer = LogViewer(path)
    qtbot.addWidget(viewer)
    assert viewer.shown_text().count("\n") == 5  # six lines

    viewer.filter_edit.setText("push")
    viewer.apply_filter()
    shown = viewer.shown_text()
    assert "push started" in shown and "push failed" in shown and "ValueError: boom" in shown
    assert "window closed" not in shown and "HTTP Request" not in shown

    viewer.filter_edit.setText("")
    viewer.level.setCurrentText("ERROR")
    assert viewer.shown_text().splitlines() == [
        "2026-01-01 10:00:02,000 ERROR    gradient_desktop.push [MainThread] push failed",
        "Traceback (most recent call last):",
        "  ValueError: boom",
    ]
    assert viewer.status.text().startswith("3 of 6 lines")


def test_log_viewer_masks_a_key_even_in_a_file_written_before_it_was_registered(
    qtbot: Any, tmp_path: Path, clean_logging: None
) -> None:
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer

    key = "partner-key-written-raw-9f8e7d"
    path = tmp_path / LOG_FILENAME
    path.write_text(f"2026-01-01 10:00:00,000 INFO     x [MainThread] old line with {key}\n")
    register_secret(key)
    viewer = LogViewer(path)
    qtbot.addWidget(viewer)
    assert key not in viewer.shown_text()
    assert MASK in viewer.shown_text()


def test_log_viewer_without_a_log_says_where_it_looked(qtbot: Any, tmp_path: Path) -> None:
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer

    viewer = LogViewer(tmp_path / "nothing.log")
    qtbot.addWidget(viewer)
    assert viewer.shown_text() == ""
    assert "No log yet" in viewer.status.text()


# -- Help menu, shortcuts, geometry ----------------------------------------------------------


def test_help_menu_opens_each_dialog_once(qtbot: Any, window: Any) -> None:
    from gradient_desktop.ui.dialogs.about import AboutDialog
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer
    from gradient_desktop.ui.dialogs.settings import SettingsDialog
    from gradient_desktop.ui.dialogs.shortcuts import ShortcutsDialog

    titles = [a.text() for a in window.help_menu.actions() if not a.isSeparator()]
    assert titles == ["&Keyboard shortcuts", "Show &log", "&About Gradient Desktop"]
    # Settings sit in the Edit menu (Preferences role: the application menu on macOS).
    from gradient_desktop.ui.qt import QtGui

    assert window.settings_action in window.edit_menu.actions()
    assert window.settings_action.menuRole() == QtGui.QAction.MenuRole.PreferencesRole
    for action, attr, cls in (
        (window.about_action, "_about_dialog", AboutDialog),
        (window.settings_action, "_settings_dialog", SettingsDialog),
        (window.log_action, "_log_dialog", LogViewer),
        (window.shortcuts_action, "_shortcuts_dialog", ShortcutsDialog),
    ):
        action.trigger()
        first = getattr(window, attr)
        assert isinstance(first, cls) and first.isVisible()
        action.trigger()  # a second trigger raises the same dialog
        assert getattr(window, attr) is first
        first.close()


def test_shortcuts_list_is_generated_from_the_window_actions(
    qtbot: Any, qtmodeltester: Any, window: Any
) -> None:
    from gradient_desktop.ui.dialogs.shortcuts import ShortcutRow, ShortcutsDialog
    from gradient_desktop.ui.qt import QtGui

    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    qtmodeltester.check(dialog.model)
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    rows = set(dialog.rows)
    assert ShortcutRow("Help", "Keyboard shortcuts", "F1") in rows
    settings_keys = QtGui.QKeySequence("Ctrl+,").toString(native)
    assert ShortcutRow("Edit", "Settings…", settings_keys) in rows
    assert (
        ShortcutRow(
            "File", "Connect a partner…", QtGui.QKeySequence("Ctrl+Shift+N").toString(native)
        )
        in rows
    )
    assert len(dialog.rows) == len(rows)  # no duplicates
    # Every listed key really is the key of an action in the window.
    all_keys = {
        s.toString(native) for a in window.findChildren(QtGui.QAction) for s in a.shortcuts()
    } | {s.key().toString(native) for s in window.findChildren(QtGui.QShortcut)}
    for row in dialog.rows:
        assert all(k.strip() in all_keys for k in row.keys.split(", "))


def test_window_geometry_is_remembered_across_runs(
    qtbot: Any, qloop: Any, ctx: AppContext, isolated_home: Path
) -> None:
    from gradient_desktop.ui.main_window import MainWindow
    from gradient_desktop.ui.qt import QtCore, QtWidgets

    first = MainWindow(ctx)
    qtbot.addWidget(first)
    assert first.restore_geometry() is False  # nothing saved yet
    first.show()
    first.resize(1501, 951)
    qtbot.waitUntil(lambda: first.size().width() == 1501)
    first.close()  # closeEvent saves

    ini = isolated_home / "config" / "window.ini"  # our config folder, not the user's profile
    saved = QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat).value(
        "main_window/geometry"
    )
    assert isinstance(saved, QtCore.QByteArray) and saved == first.saveGeometry()

    second = MainWindow(ctx)
    qtbot.addWidget(second)
    assert second.restore_geometry() is True
    # Qt clamps a restored window to the screen (the offscreen one is 800x600), so compare with
    # what Qt itself makes of the saved bytes rather than with the raw size.
    probe = QtWidgets.QMainWindow()
    qtbot.addWidget(probe)
    probe.setMinimumSize(second.minimumSize())
    probe.restoreGeometry(saved)
    assert second.geometry() == probe.geometry()
    assert second.size() != QtCore.QSize(1280, 800)  # not the constructor's default
    second.close()
