"""Small widgets around the grid's tables: the per-pane header (title, search box, state
filter) and the action bar (map/unmap, suggestions threshold, one-account-per-client)."""

from __future__ import annotations

from gradient_desktop.services.suggest import AUTO_ACCEPT
from gradient_desktop.services.wording import plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.flow_layout import FlowLayout, group
from gradient_desktop.ui.mapping.pane_model import STATE_COLORS
from gradient_desktop.ui.mapping.state import CONFLICT, MAPPED, STALE, SUGGESTED, UNMAPPED
from gradient_desktop.ui.qt import QtCore, QtWidgets


class PaneHeader(QtWidgets.QWidget):
    """``Title   Search: [______]  Show: [All ▾]`` above one table."""

    def __init__(
        self,
        title: str,
        search_label: str,
        filters: dict[str, str | None],
        view: QtWidgets.QWidget,
        show_label: str = "Sho&w",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel(f"<b>{title}</b>")
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("name, id or description")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(f"Search {title.lower()}")
        label = QtWidgets.QLabel(search_label)
        label.setBuddy(self.search)
        self.mode = QtWidgets.QComboBox()
        self.mode.setAccessibleName(f"Show which {title.lower()}")
        for text, value in filters.items():
            self.mode.addItem(text, value)
        show = QtWidgets.QLabel(show_label)
        show.setBuddy(self.mode)
        # Two lines: title and filter, then the search box across the pane's whole width (on
        # one line the client pane left the box a few characters wide).
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(show)
        top.addWidget(self.mode)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(label)
        bottom.addWidget(self.search, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        # Enter in the search box moves into the table (keyboard path).
        self.search.returnPressed.connect(view.setFocus)


def _button(text: str, tip: str) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton(text)
    button.setToolTip(tip)
    return button


class SuggestionBar(QtWidgets.QWidget):
    """Actions on the selection and on suggestions, plus a line for messages."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.map_button = _button(
            "&Map selected",
            "Map the selected accounts to the current client (Ctrl+M, or Enter in the client list).",
        )
        self.unmap_button = _button("&Unmap", "Unmap the selected accounts (Delete).")
        self.accept_button = _button(
            "Accept s&elected suggestions",
            "Accept the suggestions of the selected accounts (Enter in the account list).",
        )
        # The threshold as a number and as a slider, kept equal.
        self.threshold = QtWidgets.QSpinBox()
        self.threshold.setSuffix(" %")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setFixedWidth(110)
        for box, name in ((self.threshold, ""), (self.slider, " slider")):
            box.setRange(50, 100)
            box.setValue(AUTO_ACCEPT)
            box.setAccessibleName(f"Suggestion confidence threshold{name}")
        self.slider.valueChanged.connect(self.threshold.setValue)
        self.threshold.valueChanged.connect(self.slider.setValue)
        threshold_label = QtWidgets.QLabel("&Threshold")
        threshold_label.setBuddy(self.threshold)
        self.accept_all_button = _button(
            "Accept &all ≥ threshold",
            "Accept every suggestion at or above the threshold, as one undo step (Ctrl+Shift+A).",
        )
        self.suggest_button = _button(
            "Su&ggest again", "Recompute suggestions for the unmapped accounts."
        )
        self.one_per_client = QtWidgets.QCheckBox("&One account per client")
        self.one_per_client.setChecked(True)
        self.one_per_client.setToolTip("Flag a client mapped from two accounts as a conflict.")
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Mapping messages")

        # Wraps onto a second line when narrow: one line of nine controls made the window
        # (and the wizard's mapping step) at least 1,063 px wide.
        actions = QtWidgets.QWidget()
        row = FlowLayout(actions)
        for w in (
            group(self.map_button, self.unmap_button, self.accept_button),
            group(threshold_label, self.slider, self.threshold),
            group(self.accept_all_button, self.suggest_button),
            self.one_per_client,
        ):
            row.addWidget(w)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(actions)
        layout.addWidget(self.message)

    def show_message(self, text: str, *, error: bool = False) -> None:
        theme.tint(self.message, "error" if error else None)
        self.message.setText(text)


def counters_html(c: dict[str, int], nouns: tuple[str, str] = ("account", "client")) -> str:
    """The grid's status line: every state with its colour and count.

    ``c`` holds the grid's own figures (suggestions, conflicts, stale rows: facts of this view);
    for a partner's accounts the grid first overwrites ``accounts``, ``mapped`` and ``unmapped``
    with the partner's state and adds ``published`` / ``mapped_remote`` (see
    ``MappingGrid.counters``), so this line says what the partners list and the wizard say.
    """

    def hue(state: str) -> str:  # the theme's colour now (light or dark), as HTML wants it
        return theme.color(STATE_COLORS[state]).name()

    left, right = nouns
    among = [
        f"<span style='color:{hue(CONFLICT)}'>● {plural(c['conflict'], 'conflict')}</span>",
        f"<span style='color:{hue(STALE)}'>● {c['stale']:,} stale</span>",
    ]
    parts = [
        plural(c["accounts"], left),
        f"<span style='color:{hue(MAPPED)}'>● {c['mapped']:,} mapped</span>",
        f"<span style='color:{hue(UNMAPPED)}'>● {c['unmapped']:,} unmapped</span> "
        f"(<span style='color:{hue(SUGGESTED)}'>● {c['suggested']:,} with a suggestion</span>)",
    ]
    if "published" in c:  # the state counts every mapping; conflicts and stale are among them
        parts[1] += " (" + ", ".join(among) + " among them)"
        parts.append(f"{c['published']:,} published")
        parts.append(f"{c['mapped_remote']:,} mapped on Gradient")
    else:
        parts[3:3] = among
    parts.append(f"{plural(c['clients'], right)} ({c['stale_clients']:,} stale)")
    if c["failed"]:
        parts.append(f"<b style='color:{hue(CONFLICT)}'>{c['failed']:,} not synced</b>")
    return " · ".join(parts)
