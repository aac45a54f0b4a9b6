"""History of one account × service: a step chart of the acknowledged count over time
(pyqtgraph, MIT; not Qt Charts, see PITFALLS.md) and the ledger rows behind it (who, when,
what, result). Rows that did not land are drawn as markers so a failure is visible at a glance.
"""

from __future__ import annotations

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.state import when as format_when
from gradient_desktop.services.usage import format_amount
from gradient_desktop.store.models import PartnerService
from gradient_desktop.store.outbox_rows import HistoryPoint
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.usage.models import RowsModel

_OPS = {"set": "set to", "add": "add", "subtract": "subtract"}


class HistoryPanel(QtWidgets.QWidget):
    """Chart + table for the cell last selected on the page."""

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.key: tuple[int, str, str] | None = None
        self.service: PartnerService | None = None
        self.points: list[HistoryPoint] = []
        self.title = QtWidgets.QLabel("History: select a cell")
        self.title.setWordWrap(True)
        theme.bold(self.title)
        # The chart (pyqtgraph, ~250 ms of imports) is built when first needed, not at start-up:
        # the cold-start benchmark counts every import before the first paint.
        self._plot: object | None = None
        self.table_model = RowsModel(["When", "Who", "Change", "Result", "Total after"], self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.table_model)
        self.table.setAccessibleName("Count history rows")
        self.table.verticalHeader().hide()
        # One cell's history (tens of rows): size the short columns to their contents and let
        # "Who" and "Result" share the rest, so nothing runs off the panel's right edge.
        header = self.table.horizontalHeader()
        mode = QtWidgets.QHeaderView.ResizeMode
        for col, how in enumerate(
            (
                mode.ResizeToContents,
                mode.Stretch,
                mode.ResizeToContents,
                mode.Stretch,
                mode.ResizeToContents,
            )
        ):
            header.setSectionResizeMode(col, how)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 2)

    @property
    def plot(self):  # pyqtgraph.PlotWidget, imported lazily
        if self._plot is None:
            import pyqtgraph as pg  # binds to PySide6: the only Qt binding installed

            pg.setConfigOptions(antialias=True)
            plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
            plot.setAccessibleName("Count history chart")
            plot.setMinimumHeight(180)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("left", "count")
            plot.addLegend(offset=(-10, 10))
            # pyqtgraph makes its two context menus without a parent, so they outlived the
            # chart as top-level windows (tests/conftest.py no_leaked_windows caught it): make
            # them children of the chart, as popups still, so they go when it goes.
            item = plot.getPlotItem()
            for menu in (item.ctrlMenu, item.getViewBox().menu):
                if menu is not None:
                    menu.setParent(plot, menu.windowFlags())
            layout = self.layout()
            assert isinstance(layout, QtWidgets.QVBoxLayout)
            layout.insertWidget(1, plot, 3)
            self._plot = plot
            self._style_plot()
            theme.on_change(self._on_theme_changed)
        return self._plot

    def _style_plot(self) -> None:
        """Chart colours from the palette and theme tokens: it follows light and dark."""
        import pyqtgraph as pg

        # The application's palette: a widget's own copy is updated only after this signal.
        palette = QtGui.QGuiApplication.palette()
        text = palette.color(QtGui.QPalette.ColorRole.Text)
        self.plot.setBackground(palette.color(QtGui.QPalette.ColorRole.Base))
        item = self.plot.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
        legend = item.legend
        if legend is not None:
            legend.setLabelTextColor(text)

    def _on_theme_changed(self, _scheme: str) -> None:
        self._style_plot()
        if self.key is not None:
            self._draw()  # the series take the new scheme's colours

    def show_cell(
        self, partner_id: int, account: str, service: PartnerService, account_name: str
    ) -> None:
        self.key = (partner_id, service.service_id, account)
        self.service = service
        self.title.setText(f"History: {account_name} × {service.name}")
        self.title.setAccessibleName("History title")
        self.reload()

    def clear(self) -> None:
        self.key = None
        self.points = []
        self.title.setText("History: select a cell")
        if self._plot is not None:
            self.plot.clear()
        self.table_model.set_rows([])

    def reload(self) -> None:
        if self.key is None:
            return
        from gradient_desktop.services.push import PushService

        self.points = PushService(self.ctx).cell_history(*self.key)
        self._draw()

    def _draw(self) -> None:
        import pyqtgraph as pg

        svc = self.service
        accent = theme.color("accent")
        self.plot.clear()
        sent = [p for p in self.points if p.state == "sent" and p.total is not None]
        xs = [(p.sent_at or p.created_at).timestamp() for p in sent]
        ys = [float(p.total or 0) for p in sent]
        if xs:
            # A step line: the count holds its value until the next acknowledged push.
            now = QtCore.QDateTime.currentSecsSinceEpoch()
            step_x, step_y = [xs[0]], [ys[0]]
            for x, y in zip(xs[1:], ys[1:], strict=True):
                step_x += [x, x]
                step_y += [step_y[-1], y]
            step_x.append(max(float(now), xs[-1]))
            step_y.append(ys[-1])
            self.plot.plot(step_x, step_y, pen=pg.mkPen(accent, width=2), name="acknowledged count")
            self.plot.plot(xs, ys, pen=None, symbol="o", symbolSize=7, symbolBrush=accent)
        last = ys[-1] if ys else 0.0
        others = [p for p in self.points if p.state != "sent"]
        for states, colour, label in (
            (("failed", "unmapped"), theme.color("error"), "failed / unmapped"),
            (("pending", "sending", "unknown"), theme.color("warning"), "queued"),
        ):
            pts = [p for p in others if p.state in states]
            if pts:
                self.plot.plot(
                    [p.created_at.timestamp() for p in pts],
                    [last] * len(pts),
                    pen=None,
                    symbol="x",
                    symbolSize=11,
                    symbolPen=pg.mkPen(colour, width=2),
                    name=label,
                )
        rows = []
        for p in reversed(self.points):  # newest first: what a user looks for
            when = format_when(p.sent_at or p.created_at)  # the app's one format
            who = (p.actor or "").split(" · ")[0]
            result = p.state + (f": {p.last_error}" if p.last_error else "")
            change = f"{_OPS.get(p.op, p.op)} {format_amount(p.unit_count, svc)}"
            rows.append([when, who, change, result, format_amount(p.total, svc)])
        self.table_model.set_rows(rows)
        if not sent:
            self.title.setText(self.title.text().split(" — ")[0] + " — no count acknowledged yet")
