"""Our count vs the PSA quantity per service over the last pushes: one small plot per service
(each on its own scale, so a server count of 40 is not flattened by 3,000 workstations), a solid
line for the total of our counts and a dashed one for the PSA agreements, one point per push or
approval; where the lines part, billing lags usage. pyqtgraph (MIT; not Qt Charts, see
PITFALLS.md), imported on first use so it costs nothing at start-up."""

from __future__ import annotations

from gradient_desktop.services.billing import ChartSeries
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

# Theme tokens (ui/theme.py): readable on the light and the dark palette alike.
_OURS, _PSA = "accent", "warning"


class BillingChart(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel("Our count vs the PSA, per service, over the last pushes")
        theme.bold(self.title)
        self.title.setWordWrap(True)
        self.title.setToolTip(
            "Solid: the total of our counts for the service. Dashed: the total quantity on the "
            "partner's PSA agreements. The lines meet once the partner approves the cards."
        )
        # The key sits above the plots rather than in them, where it would hide points.
        self.key = QtWidgets.QLabel()
        self._key_text()
        theme.on_change(self._on_theme_changed)
        self.key.setAccessibleName("Chart key")
        self.empty = QtWidgets.QLabel("No counts have reached the partner's billing page yet.")
        self.empty.setWordWrap(True)
        self._view: object | None = None
        self.series: list[ChartSeries] = []
        self._menus: list[QtWidgets.QMenu] = []  # the plots' context menus (show_series)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.key)
        layout.addWidget(self.empty)

    @property
    def view(self):  # pyqtgraph.GraphicsLayoutWidget, imported lazily
        if self._view is None:
            import pyqtgraph as pg

            view = pg.GraphicsLayoutWidget()
            view.setAccessibleName("Our count versus PSA quantity chart")
            view.setToolTip(self.title.toolTip())
            view.setMinimumHeight(220)
            layout = self.layout()
            assert isinstance(layout, QtWidgets.QVBoxLayout)
            layout.addWidget(view, 1)
            self._view = view
        return self._view

    def _key_text(self) -> None:
        ours, psa = theme.color(_OURS).name(), theme.color(_PSA).name()
        self.key.setText(
            f'<span style="color:{ours}">● — our count</span> &nbsp; '
            f'<span style="color:{psa}">■ - - PSA quantity</span>'
        )

    def _on_theme_changed(self, _scheme: str) -> None:
        self._key_text()
        if self._view is not None:
            self.show_series(self.series)  # background, axes and lines take the new scheme

    def show_series(self, series: list[ChartSeries]) -> None:
        import pyqtgraph as pg

        self.series = series
        drawn = [s for s in series if s.vendor]
        self.empty.setVisible(not drawn)
        self.key.setVisible(bool(drawn))
        if not drawn and self._view is None:
            return
        view = self.view
        view.clear()
        # pyqtgraph makes each plot's two context menus without a parent: they outlived the
        # plots as top-level windows (tests/conftest.py no_leaked_windows caught it once the
        # page ran inside the main window). They are the view's children now, and go with
        # the plots they belonged to.
        for menu in self._menus:
            menu.deleteLater()
        self._menus = []
        # The application's palette: a widget's own copy is updated only after a theme switch.
        palette = QtGui.QGuiApplication.palette()
        text = palette.color(QtGui.QPalette.ColorRole.Text)
        ours, psa = theme.color(_OURS), theme.color(_PSA)
        view.setBackground(palette.color(QtGui.QPalette.ColorRole.Base))
        for row, s in enumerate(drawn):
            plot = view.addPlot(row=row, col=0)
            for menu in (plot.ctrlMenu, plot.getViewBox().menu):
                if menu is not None:
                    menu.setParent(view, menu.windowFlags())
                    self._menus.append(menu)
            plot.setTitle(s.service_name, color=text, size="9pt")
            plot.showGrid(x=False, y=True, alpha=0.25)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(text)
                axis.setTextPen(text)
            xs = list(range(1, len(s.vendor) + 1))
            # Integer ticks: each is one push (or approval), oldest first.
            plot.getAxis("bottom").setTicks([[(x, str(x)) for x in xs]])
            plot.plot(
                xs,
                s.vendor,
                pen=pg.mkPen(ours, width=2),
                symbol="o",
                symbolSize=6,
                symbolBrush=ours,
                name="our count",
            )
            plot.plot(
                xs,
                s.psa,
                pen=pg.mkPen(psa, width=2, style=QtCore.Qt.PenStyle.DashLine),
                symbol="s",
                symbolSize=5,
                symbolBrush=psa,
                name="PSA quantity",
            )
            low, high = min(s.vendor + s.psa), max(s.vendor + s.psa)
            pad = max(1.0, (high - low) * 0.2)
            plot.setYRange(max(0.0, low - pad), high + pad)
            plot.setXRange(0.5, len(xs) + 0.5, padding=0)
            plot.setMouseEnabled(x=False, y=False)
            if row == len(drawn) - 1:
                plot.setLabel("bottom", "pushes and approvals, oldest to newest", color=text)
