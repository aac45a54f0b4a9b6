"""The usage-source editor: where the rows come from, which field holds what, and a preview of
the first rows with every problem found, which must succeed before the source can be saved."""

from __future__ import annotations

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import FieldMap, Preview, SourceConfig, SourceStore, preview
from gradient_desktop.services.wording import plural
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.sync.alert_box import AlertSourceBox
from gradient_desktop.ui.tasks import TaskRunner, describe_error

KIND_LABELS = {"file": "File (CSV, JSON, XLSX)", "sql": "SQL database", "http": "HTTP endpoint"}


class SourceEditor(QtWidgets.QWidget):
    saved = QtCore.Signal(str)

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = TaskRunner(self)
        self._previewed: str | None = None  # the config JSON the last good preview was of
        self._had_secret = False  # the source being edited has a secret in the keyring

        self.name = QtWidgets.QLineEdit()
        self.kind = QtWidgets.QComboBox()
        for key, label in KIND_LABELS.items():
            self.kind.addItem(label, key)
        self.path = QtWidgets.QLineEdit()
        self.path.setPlaceholderText("a file, or a folder (the newest matching file is read)")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        # A widget, not a bare layout, so every form row is a widget shown or hidden alike.
        path_row = QtWidgets.QWidget()
        path_layout = QtWidgets.QHBoxLayout(path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.path, 1)
        path_layout.addWidget(browse)
        self.pattern = QtWidgets.QLineEdit()
        self.pattern.setPlaceholderText("with a folder, e.g. usage-*.csv")
        self.sheet = QtWidgets.QLineEdit()
        self.sheet.setPlaceholderText("Excel sheet (empty: the first)")
        self.url = QtWidgets.QLineEdit()
        # A SQLite database is a file: picked like one, written as its address for the user.
        self.db_browse = QtWidgets.QPushButton("SQLite file…")
        self.db_browse.setToolTip("Pick a SQLite database file")
        self.db_browse.clicked.connect(self._browse_database)
        url_row = QtWidgets.QWidget()
        url_layout = QtWidgets.QHBoxLayout(url_row)
        url_layout.setContentsMargins(0, 0, 0, 0)
        url_layout.addWidget(self.url, 1)
        url_layout.addWidget(self.db_browse)
        self.query = QtWidgets.QPlainTextEdit()
        self.query.setPlaceholderText("SELECT customer_id, product, quantity FROM usage")
        self.query.setMaximumHeight(70)
        self.records = QtWidgets.QLineEdit()
        self.records.setPlaceholderText("where the list is in the JSON, e.g. data.items")
        self.next = QtWidgets.QLineEdit()
        self.next.setPlaceholderText("where the next page's link is, e.g. links.next")
        self.auth_header = QtWidgets.QLineEdit()
        self.auth_header.setPlaceholderText("Authorization (the token is sent as Bearer …)")
        self.timeout = QtWidgets.QSpinBox()
        self.timeout.setRange(1, 600)
        self.timeout.setValue(30)
        self.timeout.setSuffix(" s")
        self.timeout.setToolTip("How long to wait for the database or the endpoint")
        self.secret = QtWidgets.QLineEdit()
        self.secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("password or token (kept in the system keyring)")
        self.account = QtWidgets.QLineEdit("accountId")
        self.service = QtWidgets.QLineEdit("serviceId")
        self.count = QtWidgets.QLineEdit("unitCount")
        self.op = QtWidgets.QLineEdit()
        self.op.setPlaceholderText("optional: set / add / subtract")
        self.partner = QtWidgets.QLineEdit()
        self.partner.setPlaceholderText("optional: the partner's name")
        self.bytes = QtWidgets.QCheckBox("Storage counts are in bytes (converted to MB/GB/TB)")

        form = self._form = QtWidgets.QFormLayout()
        form.addRow("&Name", self.name)
        form.addRow("&Kind", self.kind)
        self._rows: dict[str, tuple[str, QtWidgets.QWidget]] = {
            "path": ("File or folder", path_row),
            "pattern": ("Pattern", self.pattern),
            "sheet": ("Sheet", self.sheet),
            "url": ("&Address", url_row),
            "query": ("&Query", self.query),
            "records": ("Records at", self.records),
            "next": ("Next page at", self.next),
            "auth_header": ("Token header", self.auth_header),
            "secret": ("Password/token", self.secret),
            "timeout": ("Time-out", self.timeout),
        }
        for label, widget in self._rows.values():
            form.addRow(label, widget)
        mapping = QtWidgets.QGroupBox("Which field holds what")
        mform = QtWidgets.QFormLayout(mapping)
        mform.addRow("Account id", self.account)
        mform.addRow("Service id or name", self.service)
        mform.addRow("Count", self.count)
        mform.addRow("Operation", self.op)
        mform.addRow("Partner", self.partner)
        mform.addRow("", self.bytes)
        self.alert_box = AlertSourceBox()  # an alert source: its rows become PSA tickets
        self.alert_box.toggled.connect(lambda on: mapping.setEnabled(not on))
        self.alert_box.changed.connect(self._changed)

        self.preview_button = QtWidgets.QPushButton("&Preview")
        self.preview_button.setToolTip("Read the source and list its problems (Ctrl+Shift+P)")
        self.preview_button.clicked.connect(self.run_preview)
        preview_key = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Shift+P"), self)
        preview_key.setWhatsThis("Preview the usage source")
        preview_key.activated.connect(self._preview_if_enabled)
        self.save_button = QtWidgets.QPushButton("&Save source")
        self.save_button.setEnabled(False)
        self.save_button.setToolTip("Preview the source first.")
        self.save_button.clicked.connect(self.save)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        self.status = QtWidgets.QLabel("Fill in the source, then Preview it.")
        self.status.setWordWrap(True)
        self.table = QtWidgets.QTableWidget()
        self.table.setAccessibleName("Preview rows")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems = QtWidgets.QListWidget()
        self.problems.setAccessibleName("Problems found")
        self.problems.setMaximumHeight(120)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.alert_box)  # above the usage fields it turns off
        layout.addWidget(mapping)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problems)

        self.kind.currentIndexChanged.connect(self._show_rows)
        for w in (
            self.name,
            self.path,
            self.pattern,
            self.sheet,
            self.url,
            self.records,
            self.next,
            self.auth_header,
            self.secret,
            self.account,
            self.service,
            self.count,
            self.op,
            self.partner,
        ):
            w.textChanged.connect(self._changed)
        self.query.textChanged.connect(self._changed)
        self.timeout.valueChanged.connect(self._changed)
        self.bytes.toggled.connect(self._changed)
        self._show_rows()

    # -- fields ----------------------------------------------------------------------------

    def _preview_if_enabled(self) -> None:
        if self.preview_button.isEnabled():
            self.run_preview()

    def _show_rows(self) -> None:
        kind = self.kind.currentData()
        wanted = {
            "file": {"path", "pattern", "sheet", "records"},
            "sql": {"url", "query", "secret", "timeout"},
            "http": {"url", "records", "next", "auth_header", "secret", "timeout"},
        }[kind]
        for key, (_, widget) in self._rows.items():
            self._form.setRowVisible(widget, key in wanted)
        self.db_browse.setVisible(kind == "sql")
        self.url.setPlaceholderText(
            "sqlite:///path/to/file.db, postgresql+psycopg://user@host/db or "
            "mysql+pymysql://user@host/db (no password here)"
            if kind == "sql"
            else "https://product.example.com/api/usage"
        )
        self._changed()

    def _browse_database(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            "SQLite database",
            "",
            "SQLite databases (*.sqlite *.sqlite3 *.db);;All files (*)",
        )
        if path:
            self.url.setText(f"sqlite:///{path}")

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Usage file", "", "Usage files (*.csv *.json *.xlsx);;All files (*)"
        )
        if path:
            self.path.setText(path)

    def config(self) -> SourceConfig:
        config = SourceConfig(
            name=self.name.text().strip(),
            kind=self.kind.currentData(),
            path=self.path.text().strip(),
            pattern=self.pattern.text().strip(),
            sheet=self.sheet.text().strip(),
            url=self.url.text().strip(),
            query=self.query.toPlainText().strip(),
            records_path=self.records.text().strip(),
            next_path=self.next.text().strip(),
            auth_header=self.auth_header.text().strip(),
            timeout_s=float(self.timeout.value()),
            has_secret=bool(self.secret.text()) or self._had_secret,
            mapping=FieldMap(
                account=self.account.text().strip(),
                service=self.service.text().strip(),
                count=self.count.text().strip(),
                op=self.op.text().strip(),
                partner=self.partner.text().strip(),
                count_unit="bytes" if self.bytes.isChecked() else "units",
            ),
        )
        try:
            config.emits, config.alert_fields = self.alert_box.values()
        except ValueError:  # the preview refuses it, naming the columns as typed
            config.emits, config.alert_fields = "alerts", {self.alert_box.columns.text(): ""}
        return config

    def load(self, config: SourceConfig | None) -> None:
        config = config or SourceConfig(name="", kind="file")
        self._had_secret = config.has_secret
        self.name.setText(config.name)
        self.kind.setCurrentIndex(max(self.kind.findData(config.kind), 0))
        self.path.setText(config.path)
        self.pattern.setText(config.pattern)
        self.sheet.setText(config.sheet)
        self.url.setText(config.url)
        self.query.setPlainText(config.query)
        self.records.setText(config.records_path)
        self.next.setText(config.next_path)
        self.auth_header.setText(config.auth_header)
        self.timeout.setValue(max(1, min(600, round(config.timeout_s))))
        self.secret.clear()
        self.secret.setPlaceholderText(
            "stored in the keyring (type to replace)" if config.has_secret else "password or token"
        )
        m = config.mapping
        for w, v in (
            (self.account, m.account),
            (self.service, m.service),
            (self.count, m.count),
            (self.op, m.op),
            (self.partner, m.partner),
        ):
            w.setText(v)
        self.bytes.setChecked(m.count_unit == "bytes")
        self.alert_box.load(config)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.problems.clear()
        self._changed()

    def _changed(self) -> None:
        # Saving is allowed only for exactly what was previewed.
        ok = self._previewed is not None and self._previewed == self._key()
        self.save_button.setEnabled(ok)

    def _key(self) -> str:
        return self.config().to_json() + self.name.text() + self.secret.text()

    # -- preview and save -------------------------------------------------------------------

    def run_preview(self) -> None:
        config = self.config()
        secret = self.secret.text() or None
        self._previewed = None
        self._changed()
        self.status.setText("Reading the source…")
        self.preview_button.setEnabled(False)
        key = self._key()
        self.tasks.start(
            preview(self.ctx, config, secret),
            on_done=lambda p: self._show_preview(p, key),
            on_error=self._preview_failed,
        )

    def _preview_failed(self, exc: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.status.setText(
            str(exc) if type(exc).__name__ == "SourceError" else describe_error(exc)
        )

    def _show_preview(self, p: Preview, key: str) -> None:
        self.preview_button.setEnabled(True)
        self.table.clear()
        self.table.setColumnCount(len(p.columns))
        self.table.setHorizontalHeaderLabels(p.columns)
        self.table.setRowCount(len(p.rows))
        for r, (line, rec) in enumerate(p.rows):
            self.table.setVerticalHeaderItem(r, QtWidgets.QTableWidgetItem(str(line)))
            for c, col in enumerate(p.columns):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(rec.get(col, ""))))
        self.problems.clear()
        for problem in p.errors:
            self.problems.addItem(f"Error — row {problem.line}: {problem.reason}")
        for problem in p.unmatched:
            self.problems.addItem(f"Not matched — row {problem.line}: {problem.reason}")
        verdict = (
            "Fix the errors in the source before saving: a source with errors is never sent."
            if p.errors
            else "Looks good: save the source to use it in syncs."
        )
        self.status.setText(
            f"{plural(p.total, 'row')} read; {p.routed} go to a partner, {len(p.unmatched)} match none, "
            f"{len(p.errors)} have errors. {verdict}"
        )
        self._previewed = key if not p.errors else None
        self._changed()

    def save(self) -> None:
        config = self.config()
        try:
            SourceStore(self.ctx).save(config, self.secret.text() or None)
        except Exception as exc:  # a keyring or validation problem, shown as a sentence
            self.status.setText(str(exc) if "Source" in type(exc).__name__ else describe_error(exc))
            return
        self.status.setText(f"Saved source {config.name}.")
        self.saved.emit(config.name)
