"""Count settings (issue 12's CLI-only leftovers in the app): importing the totals Gradient holds
now lets an add on a never-pushed cell go through, computed from them, against a live sandbox;
turning the legacy count routes on asks first and Cancel leaves them off. Both are reachable
from the Usage page and the partners list."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.counts import CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.count_options import legacy_routes
from gradient_desktop.services.push import PushService
from gradient_desktop.services.usage import StagingError, UsageService
from gradient_desktop.ui.dialogs.count_settings import CountSettingsDialog
from gradient_desktop.ui.partners_view import PartnersView
from gradient_desktop.ui.qt import QtCore, QtWidgets
from gradient_desktop.ui.usage.page import UsagePage
from tests.gui_helpers import screenshot, settle
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

pytestmark = pytest.mark.gui


def _button(box: QtWidgets.QMessageBox, text: str) -> QtWidgets.QAbstractButton:
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


def _click(qtbot: Any, button: QtWidgets.QAbstractButton) -> None:
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def test_imported_totals_let_an_add_start_from_them(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 3))
    PushService(ctx).set_legacy_routes(partner, False)  # a real Gradient: documented sets only
    sid = service_ids(ctx, partner)[0]
    page = UsagePage(ctx, None)
    qtbot.addWidget(page)
    page.set_partner(partner)
    page.show()
    usage = UsageService(ctx, partner)
    with pytest.raises(StagingError, match="import the current totals"):
        usage.make_edit((sid, "acct-0001"), "add", 5)

    # The Usage page's button opens the partner's Count settings.
    _click(qtbot, page.count_settings_button)
    dialog = page.count_settings
    assert isinstance(dialog, CountSettingsDialog) and dialog.isVisible()
    assert not dialog.legacy.isChecked()
    screenshot(dialog, "count_settings.png")

    # A file with an add row is refused whole, with the reason.
    dialog.import_bytes(
        f"accountId,serviceId,unitCount,op\nacct-0001,{sid},3,add\n".encode(), "t.csv"
    )
    assert dialog.confirm_box is None and dialog.message.error
    assert "absolute counts" in dialog.message.text()

    # A good file asks first; Cancel records nothing.
    good = f"accountId,serviceId,unitCount\nacct-0001,{sid},30\nacct-0404,{sid},2\n".encode()
    dialog.import_bytes(good, "totals.csv")
    box = dialog.confirm_box
    assert box is not None and box.isVisible()
    assert box.text() == (
        "Record 2 current totals for Contoso (1 row names an account or service this partner "
        "does not have yet)?"
    )
    assert box.defaultButton() is _button(box, "Cancel")
    _click(qtbot, _button(box, "Cancel"))
    with pytest.raises(StagingError):
        usage.make_edit((sid, "acct-0001"), "add", 5)

    dialog.import_bytes(good, "totals.csv")
    _click(qtbot, _button(dialog.confirm_box, "Record totals"))
    assert dialog.message.text().startswith("Recorded 2 current totals for Contoso; nothing was")
    assert (sid, "acct-0001") not in sandbox.state.counts(PARTNER_KEY)  # nothing was sent

    # The add is now the absolute 35 on Gradient (computed from the imported 30).
    summary = qloop.run_until_complete(
        PushService(ctx).push(partner, [CountRow(sid, "acct-0001", 5, "add")])
    )
    assert summary.all_landed, summary.text()
    assert sandbox.state.counts(PARTNER_KEY)[(sid, "acct-0001")]["unitCount"] == 35
    dialog.close()
    settle(qloop)


def test_legacy_routes_switch_asks_before_turning_on(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 2))
    PushService(ctx).set_legacy_routes(partner, False)
    view = PartnersView(ctx, None)
    qtbot.addWidget(view)
    view.reload()
    view.select(partner.id)
    assert view.count_settings_action.isEnabled()
    view.count_settings_action.trigger()
    dialog = view.count_settings
    assert isinstance(dialog, CountSettingsDialog) and dialog.isVisible()

    dialog.legacy.click()
    box = dialog.confirm_box
    assert box is not None and box.defaultButton() is _button(box, "Cancel")
    assert "not in Gradient's public documentation" in box.informativeText()
    _click(qtbot, _button(box, "Cancel"))
    assert not dialog.legacy.isChecked() and not legacy_routes(ctx, partner)

    dialog.legacy.click()
    _click(qtbot, _button(dialog.confirm_box, "Turn on"))
    assert dialog.legacy.isChecked() and legacy_routes(ctx, partner)
    assert dialog.message.text().startswith("Legacy count routes are on for Contoso")
    # With them on, an add on a cell with no known total is accepted (sent as a change).
    sid = service_ids(ctx, partner)[0]
    assert UsageService(ctx, partner).make_edit((sid, "acct-0001"), "add", 5) is not None

    dialog.legacy.click()  # off needs no question: nothing can be billed twice then
    assert dialog.confirm_box is None and not legacy_routes(ctx, partner)
    assert "need a known total" in dialog.message.text()
    dialog.close()
    settle(qloop)
