"""Quitting while a push runs asks first (Cancel is the default), on Ctrl+Q and on closing the
window; quitting anyway leaves the unsent rows queued, and the next start finishes them with
every count landing exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.services.push import PushService
from gradient_desktop.ui.qt import QtCore, QtWidgets
from tests.gui_helpers import close_ctx, open_ctx, settle, wait_until
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

pytestmark = pytest.mark.gui
ROWS = 240


def _window(qtbot: Any, ctx: Any, partner: Any) -> Any:
    from gradient_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)  # shortcuts (Ctrl+Q) reach only the active window
    window.select_partner_id(partner.id)
    window.tabs.setCurrentIndex(2)
    return window


def _button(box: QtWidgets.QMessageBox, text: str) -> QtWidgets.QAbstractButton:
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


def test_quit_mid_push_asks_then_leaves_the_rest_queued_for_the_next_start(
    qtbot: Any, qloop: Any, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=40)
    ctx = open_ctx()
    ctx.settings.default_concurrency = 2  # slow enough to quit in the middle
    partner = qloop.run_until_complete(connected_partner(ctx, sb, ROWS))
    sid = service_ids(ctx, partner)[0]
    window = _window(qtbot, ctx, partner)
    page = window.pages[2]
    lines = ["accountId,serviceId,unitCount"] + [f"acct-{i:04d},{sid},{i + 1}" for i in range(ROWS)]
    page.import_bytes("\n".join(lines).encode(), "counts.csv")
    page.push_action.trigger()
    wait_until(qloop, lambda: bool(ctx.state.running_pushes()))
    wait_until(qloop, lambda: ctx.state.running_pushes()[0].push_progress.done >= 10)

    # Ctrl+Q: the window stays, a question names the progress, Cancel is the default.
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Q, QtCore.Qt.KeyboardModifier.ControlModifier)
    box = window.quit_box
    assert box is not None and box.isVisible() and window.isVisible()
    assert (
        box.text().startswith("A push is running (") and " of 240 sent). Quit anyway?" in box.text()
    )
    assert box.informativeText() == "The rest stays queued and is finished next time."
    assert box.defaultButton() is _button(box, "Cancel")
    qtbot.mouseClick(_button(box, "Cancel"), QtCore.Qt.MouseButton.LeftButton)
    settle(qloop, 0.2)
    assert window.isVisible() and window.quit_box is None
    assert PushService(ctx).running() is not None  # the push went on

    # Closing the window asks the same; this time quit anyway.
    window.close()
    box = window.quit_box
    assert box is not None and box.isVisible() and window.isVisible()
    qtbot.mouseClick(_button(box, "Quit anyway"), QtCore.Qt.MouseButton.LeftButton)
    settle(qloop, 0.3)
    assert not window.isVisible()
    assert PushService(ctx).running() is None
    landed = len(sb.state.counts(PARTNER_KEY))
    assert 0 < landed < ROWS, landed  # really stopped in the middle
    queued = ctx.outbox.list_resumable(partner.id or 0)
    assert len(queued) >= ROWS - landed  # plus rows in flight, resolved without doubling
    close_ctx(qloop, ctx)

    # The next start finishes the rest, exactly once. Asked to quit meanwhile and left
    # unanswered, the app quits by itself as soon as the push is done: nothing is lost then.
    ctx2 = open_ctx()
    ctx2.settings.default_concurrency = 2
    window2 = _window(qtbot, ctx2, partner)
    page2 = window2.pages[2]
    assert page2.banner.text().startswith("Finishing ")
    wait_until(qloop, lambda: PushService(ctx2).running() is not None)
    window2.close()
    assert window2.quit_box is not None and window2.isVisible()
    app = QtWidgets.QApplication.instance()
    app.setQuitOnLastWindowClosed(False)  # the test's loop runs on; the app's would end here
    try:
        wait_until(qloop, lambda: not window2.isVisible(), 60)
    finally:
        app.setQuitOnLastWindowClosed(True)
    assert page2.push_task is not None and page2.push_task.result().all_landed
    counts = sb.state.counts(PARTNER_KEY)
    assert {k[1]: v["unitCount"] for k, v in counts.items()} == {
        f"acct-{i:04d}": i + 1 for i in range(ROWS)
    }
    assert window2.quit_box is None
    close_ctx(qloop, ctx2)
