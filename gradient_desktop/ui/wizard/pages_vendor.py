"""Steps 1 and 2: the vendor profile (key → keyring; the vendor record shown and editable)
and the product (which SKUs this integration covers, or a new one from the official lists)."""

from __future__ import annotations

from typing import Any

from gradient_desktop.api import SERVICE_CATEGORIES, SERVICE_SUBCATEGORIES, Sku, Vendor
from gradient_desktop.services.context import DEMO_PROFILE, SANDBOX_URL
from gradient_desktop.services.setup import RECORD_KEY_REASON, Step
from gradient_desktop.services.wording import plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtWidgets
from gradient_desktop.ui.wizard.base import SecretField, SetupPage, busy_bar, wrap_label


class VendorPage(SetupPage):
    step = Step.VENDOR

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            "Who you are on Gradient: pick or create a vendor profile. Your vendor API key goes "
            "to the system keyring, never to a file.",
            parent,
        )
        form = QtWidgets.QFormLayout()
        self.profile_box = QtWidgets.QComboBox()
        self.profile_box.setEditable(True)
        self.profile_box.setAccessibleName("Vendor profile")
        self.profile_box.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.profile_box.currentTextChanged.connect(self._profile_changed)
        self.url_edit = QtWidgets.QLineEdit()
        self.url_edit.setAccessibleName("Gradient address")
        self.url_edit.textChanged.connect(self.completeChanged)
        self.vendor_key = SecretField("the vendor API key Gradient issued to you")
        self.vendor_key.setAccessibleName("Vendor API key")
        self.record_key = SecretField("a partner key, to read your vendor record")
        self.record_key.setAccessibleName("Partner key for the vendor record")
        form.addRow("Vendor &profile:", self.profile_box)
        form.addRow("Gradient &address:", self.url_edit)
        form.addRow("&Vendor API key:", self.vendor_key)
        form.addRow("Kick-off partner &key:", self.record_key)
        self.layout_.addLayout(form)
        self.record_reason = wrap_label(RECORD_KEY_REASON)
        theme.tint(self.record_reason, "muted")
        self.layout_.addWidget(self.record_reason)

        group = QtWidgets.QGroupBox("Your vendor record on Gradient")
        record = QtWidgets.QFormLayout(group)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setAccessibleName("Vendor name")
        self.support_edit = QtWidgets.QLineEdit()
        self.support_edit.setAccessibleName("Support page")
        self.portal_edit = QtWidgets.QLineEdit()
        self.portal_edit.setAccessibleName("Portal URL")
        self.portal_edit.setPlaceholderText(
            "opens when the MSP clicks your integration's portal link"
        )
        record.addRow("Name:", self.name_edit)
        record.addRow("Support page:", self.support_edit)
        record.addRow("Portal URL:", self.portal_edit)
        buttons = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("&Load vendor record")
        self.load_button.clicked.connect(self.load_record)
        self.save_button = QtWidgets.QPushButton("Save &changes")
        self.save_button.clicked.connect(self.save_record)
        self.save_button.setEnabled(False)
        self.busy = busy_bar()
        self.record_status = QtWidgets.QLabel()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.busy, 1)
        buttons.addWidget(self.record_status, 1)
        record.addRow(buttons)
        self.layout_.addWidget(group)
        self.finish_layout()
        self._loaded: Vendor | None = None

    # -- prefill --------------------------------------------------------------------------------

    def initializePage(self) -> None:
        flow = self.flow
        names = [p.name for p in flow.directory.profiles()]
        if DEMO_PROFILE not in names:
            names.append(DEMO_PROFILE)
        self.profile_box.blockSignals(True)
        self.profile_box.clear()
        self.profile_box.addItems(sorted(names, key=lambda n: (n == DEMO_PROFILE, n.lower())))
        self.profile_box.blockSignals(False)
        wanted = flow.data.get("profile")
        if not wanted:
            real = [n for n in names if n != DEMO_PROFILE]
            wanted = real[0] if real else DEMO_PROFILE
        self.profile_box.setCurrentText(wanted)
        self._profile_changed(wanted)
        if flow.record_key:
            self.record_key.setText(flow.record_key)
        cached = flow.data.get("vendor")
        if cached:
            self._show_fields(cached["name"], cached["support"], cached["portal"])
        if self._demo() or flow.record_credentials() is not None:
            self.load_record()

    def _demo(self) -> bool:
        return self.url_edit.text().startswith("sandbox://")

    def _profile_changed(self, name: str) -> None:
        defaults = self.flow.profile_defaults(name.strip())
        self.url_edit.setText(defaults["base_url"])
        demo = defaults["demo"]
        self.url_edit.setReadOnly(demo)
        for field, text in (
            (self.vendor_key, "the demo sandbox's public key (nothing goes to your keyring)"),
            (self.record_key, "the demo sandbox supplies it"),
        ):
            field.setEnabled(not demo)
            field.setText("")
            field.setPlaceholderText(text if demo else field.edit.placeholderText())
        if not demo:
            self.vendor_key.setPlaceholderText(
                "stored in the keyring — leave empty to keep it"
                if defaults["has_key"]
                else "the vendor API key Gradient issued to you"
            )
            self.record_key.setPlaceholderText("a partner key, to read your vendor record")
        self.completeChanged.emit()

    # -- the vendor record --------------------------------------------------------------------------

    def _save_profile(self) -> bool:
        return self.guarded(
            lambda: self.flow.save_vendor(
                self.profile_box.currentText(),
                self.url_edit.text().strip() or SANDBOX_URL,
                self.vendor_key.text() or None,
                self.record_key.text() or None,
                advance=False,
            )
        )

    def load_record(self) -> None:
        if not self._save_profile():
            return
        if self.flow.record_credentials() is None:
            self.show_error(RECORD_KEY_REASON)
            return
        self._busy(True, "Loading…")
        self.run(self.flow.load_vendor(), self._loaded_record, self._failed)

    def save_record(self) -> None:
        loaded = self._loaded
        if loaded is None:
            return
        changes: dict[str, Any] = {}
        for key, edit, old in (
            ("name", self.name_edit, loaded.name),
            ("vendor_support_page_url", self.support_edit, loaded.vendor_support_page_url or ""),
            ("integration_portal_url", self.portal_edit, loaded.integration_portal_url or ""),
        ):
            if edit.text().strip() != old:
                changes[key] = edit.text().strip()
        if not changes:
            self.record_status.setText("Nothing changed.")
            return
        self._busy(True, "Saving…")
        self.run(self.flow.update_vendor(**changes), self._saved_record, self._failed)

    def _busy(self, busy: bool, text: str = "") -> None:
        self.busy.setVisible(busy)
        self.load_button.setEnabled(not busy)
        self.save_button.setEnabled(not busy and self._loaded is not None)
        theme.tint(self.record_status, None)
        self.record_status.setText(text)

    def _show_fields(self, name: str, support: str, portal: str) -> None:
        self.name_edit.setText(name)
        self.support_edit.setText(support)
        self.portal_edit.setText(portal)

    def _loaded_record(self, vendor: Vendor) -> None:
        self._loaded = vendor
        self._show_fields(
            vendor.name, vendor.vendor_support_page_url or "", vendor.integration_portal_url or ""
        )
        self._busy(False, f"Loaded · {plural(len(vendor.skus), 'service')}")
        theme.tint(self.record_status, "ok")

    def _saved_record(self, vendor: Vendor) -> None:
        self._loaded_record(vendor)
        self.record_status.setText("Saved on Gradient.")

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self.show_error(exc)

    # -- navigation -----------------------------------------------------------------------------

    def isComplete(self) -> bool:
        return bool(self.profile_box.currentText().strip() and self.url_edit.text().strip())

    def validatePage(self) -> bool:
        self.cancel()
        return self.guarded(
            lambda: self.flow.save_vendor(
                self.profile_box.currentText(),
                self.url_edit.text().strip(),
                self.vendor_key.text() or None,
                self.record_key.text() or None,
            )
        )


class ProductPage(SetupPage):
    step = Step.PRODUCT

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            "Which of your services (SKUs) this integration reports usage for. Tick them, or "
            "create a new one with Gradient's official category and subcategory.",
            parent,
        )
        self.busy = busy_bar()
        self.layout_.addWidget(self.busy)
        self.sku_list = QtWidgets.QListWidget()
        self.sku_list.setAccessibleName("Services")
        self.sku_list.itemChanged.connect(lambda _item: self.completeChanged.emit())
        self.layout_.addWidget(self.sku_list, 1)
        retry_row = QtWidgets.QHBoxLayout()
        self.reload_button = QtWidgets.QPushButton("&Reload services")
        self.reload_button.clicked.connect(self.load)
        retry_row.addWidget(self.reload_button)
        retry_row.addStretch(1)
        self.layout_.addLayout(retry_row)

        group = QtWidgets.QGroupBox("Create a service")
        form = QtWidgets.QFormLayout(group)
        self.new_name = QtWidgets.QLineEdit()
        self.new_name.setAccessibleName("New service name")
        self.new_description = QtWidgets.QLineEdit()
        self.new_description.setAccessibleName("New service description")
        self.category = QtWidgets.QComboBox()
        self.category.addItems(list(SERVICE_CATEGORIES))
        self.category.setAccessibleName("Category")
        self.subcategory = QtWidgets.QComboBox()
        self.subcategory.addItems(list(SERVICE_SUBCATEGORIES))
        self.subcategory.setAccessibleName("Subcategory")
        self.create_button = QtWidgets.QPushButton("Create &service")
        self.create_button.clicked.connect(self.create_service)
        form.addRow("Name:", self.new_name)
        form.addRow("Description:", self.new_description)
        form.addRow("Category:", self.category)
        form.addRow("Subcategory:", self.subcategory)
        form.addRow(self.create_button)
        self.layout_.addWidget(group)
        self.finish_layout()
        self._skus: list[Sku] = []

    def initializePage(self) -> None:
        self.load()

    def load(self) -> None:
        self.busy.show()
        self.reload_button.setEnabled(False)
        self.run(self.flow.load_vendor(), self._loaded, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.busy.hide()
        self.reload_button.setEnabled(True)
        self.create_button.setEnabled(True)
        self.show_error(exc)

    def _loaded(self, vendor: Vendor, checked: set[str] | None = None) -> None:
        self.busy.hide()
        self.reload_button.setEnabled(True)
        self.create_button.setEnabled(True)
        if checked is None:
            chosen = set(self.flow.data.get("service_ids") or [])
            checked = chosen or {s.id for s in vendor.skus}
        self._skus = list(vendor.skus)
        self.sku_list.blockSignals(True)
        self.sku_list.clear()
        for sku in self._skus:
            item = QtWidgets.QListWidgetItem(f"{sku.name}    ({sku.category} / {sku.subcategory})")
            item.setToolTip(sku.description)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, sku.id)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            state = QtCore.Qt.CheckState
            item.setCheckState(state.Checked if sku.id in checked else state.Unchecked)
            self.sku_list.addItem(item)
        self.sku_list.blockSignals(False)
        self.completeChanged.emit()

    def checked(self) -> list[Sku]:
        ids = {
            self.sku_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
            for i in range(self.sku_list.count())
            if self.sku_list.item(i).checkState() == QtCore.Qt.CheckState.Checked
        }
        return [s for s in self._skus if s.id in ids]

    def create_service(self) -> None:
        keep = {s.id for s in self.checked()}
        self.create_button.setEnabled(False)
        self.busy.show()

        async def create() -> tuple[Vendor, Sku]:
            sku = await self.flow.create_service(
                self.new_name.text(),
                self.new_description.text(),
                self.category.currentText(),
                self.subcategory.currentText(),
            )
            assert self.flow.vendor is not None
            return self.flow.vendor, sku

        def done(result: tuple[Vendor, Sku]) -> None:
            vendor, sku = result
            self._loaded(vendor, keep | {sku.id})
            self.new_name.clear()
            self.new_description.clear()

        self.run(create(), done, self._failed)

    def isComplete(self) -> bool:
        return not self.running and bool(self.checked())

    def validatePage(self) -> bool:
        return self.guarded(lambda: self.flow.choose_services(self.checked()))
