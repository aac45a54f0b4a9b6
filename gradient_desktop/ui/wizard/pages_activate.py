"""Step 6: what is about to go live (accounts mapped, services, unmapped left), then status
*active* and, optionally, a first usage sync with a progress bar."""

from __future__ import annotations

from gradient_desktop.api import Integration
from gradient_desktop.services.push import PushSummary
from gradient_desktop.services.setup import Step
from gradient_desktop.services.wording import noun, plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.wizard.base import SetupPage, busy_bar, wrap_label


class ActivatePage(SetupPage):
    step = Step.ACTIVATE

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            "Set the integration to ACTIVE: the MSP sees it connected, and usage you send from "
            "now on reconciles its PSA billing.",
            parent,
        )
        self.summary = wrap_label("")
        self.summary.setAccessibleName("Summary")
        self.layout_.addWidget(self.summary)
        self.usage_box = QtWidgets.QCheckBox()
        self.usage_box.setChecked(True)
        self.layout_.addWidget(self.usage_box)
        row = QtWidgets.QHBoxLayout()
        self.activate_button = QtWidgets.QPushButton("&Activate")
        self.activate_button.setDefault(True)
        self.activate_button.clicked.connect(self.activate)
        self.busy = busy_bar()
        row.addWidget(self.activate_button)
        row.addWidget(self.busy, 1)
        self.layout_.addLayout(row)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setAccessibleName("Usage sync progress")
        self.progress.hide()
        self.layout_.addWidget(self.progress)
        self.status = wrap_label("")
        self.status.setAccessibleName("Activation status")
        self.layout_.addWidget(self.status)
        self.finish_layout()
        self.setFinalPage(True)
        self._active = False
        self._bound = False

    def initializePage(self) -> None:
        flow = self.flow
        s = flow.mapping_summary()
        partner = flow.partner
        name = partner.name if partner else "the partner"
        self.summary.setText(
            f"<b>{name}</b><br>"
            f"Accounts mapped: <b>{s.mapped}</b> of {s.accounts}<br>"
            f"Services covered: <b>{s.services}</b><br>"
            f"Unmapped accounts left: <b>{s.unmapped}</b>"
            + (" (you can map them later on the Mapping page)" if s.unmapped else "")
        )
        if flow.is_demo:
            sent = flow.counts_already_sent()
            if sent:
                # A reconnect (or a second run): demo counts would overwrite what was pushed
                # before, so it is offered but never ticked by default (defect 5).
                self.usage_box.setText(
                    f"Replace the {plural(sent, 'count')} already sent with new demo counts "
                    f"({s.mapped} mapped accounts × {s.services} services)"
                )
            else:
                self.usage_box.setText(
                    f"Send a first usage sync now (demo counts for {s.mapped} mapped accounts "
                    f"× {s.services} services)"
                )
            self.usage_box.setEnabled(s.mapped > 0)
            self.usage_box.setChecked(s.mapped > 0 and not sent)
        else:
            queued = flow.queued_counts()
            self.usage_box.setText(f"Send the {queued} queued {noun(queued, 'count')} now")
            self.usage_box.setEnabled(queued > 0)
            self.usage_box.setChecked(queued > 0)
        self._active = partner is not None and partner.status == "active" and flow.step == Step.DONE
        self.activate_button.setEnabled(not self._active)

    def activate(self) -> None:
        self.activate_button.setEnabled(False)
        self.busy.show()
        theme.tint(self.status, None)
        self.status.setText("Setting the integration to active…")
        self.run(self.flow.activate(), self._activated, self._failed, self._cancelled)

    def _activated(self, integration: Integration) -> None:
        self.busy.hide()
        self._active = True
        theme.tint(self.status, "ok")
        self.status.setText(f"✔ The integration is {integration.status.upper()}.")
        if self.usage_box.isChecked() and self.usage_box.isEnabled():
            self.first_sync()

    def first_sync(self) -> None:
        self.progress.show()
        self.progress.setRange(0, 0)
        # The bar renders the partner's state (services/state.py), as every push view does.
        if not self._bound:
            binding(self.flow.ctx).changed.connect(self.render_progress)
            self._bound = True
        self.run(self.flow.first_usage_sync(), self._synced, self._sync_failed)

    def render_progress(self, partner_id: int) -> None:
        partner = self.flow.partner
        if partner is None or partner.id != partner_id or not self.progress.isVisible():
            return
        st = self.flow.ctx.state.get(partner_id)
        if st is not None and st.push_progress is not None:
            self.progress.setRange(0, max(st.push_progress.total, 1))
            self.progress.setValue(st.push_progress.done)

    def _synced(self, summary: PushSummary) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(f"✔ The integration is ACTIVE. First usage sync: {summary.text()}")

    def _sync_failed(self, exc: BaseException) -> None:
        self.progress.hide()
        self.status.setText(
            "✔ The integration is ACTIVE. The first usage sync did not finish; queued counts "
            "are sent on the next sync."
        )
        self.show_error(exc)

    def _failed(self, exc: BaseException) -> None:
        self.busy.hide()
        self.activate_button.setEnabled(True)
        self.status.setText("Not activated:")
        self.show_error(exc)

    def _cancelled(self) -> None:
        self.busy.hide()
        self.activate_button.setEnabled(not self._active)

    def isComplete(self) -> bool:
        return self._active and not self.running
