"""One measured run of the mapping-grid benchmark: ``python -m bench.grid_child MODE DB PARTNER``.

A child process per run, so its memory figure is its own and nothing Qt leaks into the bench
process. ``MODE`` is ``app`` (the real ``MappingGrid``) or ``bare`` (the baseline: two plain
``QTableView``s over a minimal ``QAbstractTableModel``, filled by the same SQL, search keys built
in C, filtered incrementally by a list comprehension and a model reset — the least a good grid
does). Prints one JSON line:
``load`` seconds, per-keystroke ``keys`` seconds, ``rss_load_mb`` (resident memory added by
the load) and ``rss_peak_mb``.

What is timed, for both modes alike:

* load — from "show this partner" to both panes painted: the store read, building the rows,
  the models, and a synchronous repaint of the window (``QWidget.repaint``).
* a keystroke — one search-text change applied to a pane's model plus the repaint of that
  pane. The app debounces typing (150 ms) before filtering; that delay is left out here, it
  is a choice about when to filter, not a cost.

The app's automatic match suggestions are off: in the app they run in a worker thread after
the load (``asyncio.to_thread``), so they never delay the grid. Mode ``extras`` times them on
their own, and a drop of 1,000 accounts on a client (store write, undo entry, repaint; undone
afterwards, so the database stays as built).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

#: Typed into the left pane's search box, then erased (erasing is the non-incremental path),
#: then the same in the right pane.
TYPED = "north"


def keystrokes() -> list[str]:
    up = [TYPED[: i + 1] for i in range(len(TYPED))]
    return up + up[-2::-1] + [""]


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    from bench.memory import own_peak_mb

    return own_peak_mb()


def show_painted(app: Any, window: Any) -> None:
    """The window at its bench size, shown and painted once."""
    window.resize(1280, 760)
    window.show()
    app.processEvents()
    window.repaint()


def time_keystrokes(panes: list[tuple[Any, Any]]) -> list[float]:
    """Seconds per keystroke of the search typed into each (model, view): filter, repaint."""
    keys = []
    for model, view in panes:
        for text in keystrokes():
            t = time.perf_counter()
            model.set_filter(text)
            view.viewport().repaint()
            keys.append(time.perf_counter() - t)
    return keys


def run_app(db_path: str, partner_id: int) -> dict[str, Any]:
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.ui.mapping.grid import MappingGrid
    from gradient_desktop.ui.qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    ctx = AppContext.open(__import__("pathlib").Path(db_path))
    partner = PartnerDirectory(ctx).by_id(partner_id)
    grid = MappingGrid(ctx)
    grid.auto_suggest = False  # worker thread in the app; see module docstring
    show_painted(app, grid)

    rss0 = rss_mb()
    t0 = time.perf_counter()
    grid.set_partner(partner)
    app.processEvents()
    grid.repaint()
    load = time.perf_counter() - t0
    rss1 = rss_mb()

    keys = time_keystrokes(
        [(grid.accounts_model, grid.accounts_view), (grid.clients_model, grid.clients_view)]
    )
    rows = (grid.accounts_model.rowCount(), grid.clients_model.rowCount())
    grid.close()
    ctx.close()
    return {"load": load, "keys": keys, "rss_load_mb": rss1 - rss0, "rows": rows}


def run_extras(db_path: str, partner_id: int) -> dict[str, Any]:
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.services.suggest import suggest
    from gradient_desktop.ui.mapping.grid import MappingGrid
    from gradient_desktop.ui.qt import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    ctx = AppContext.open(__import__("pathlib").Path(db_path))
    grid = MappingGrid(ctx)
    grid.auto_suggest = False
    grid.auto_sync = False  # nothing to send: the store and the grid are what is measured
    grid.set_partner(PartnerDirectory(ctx).by_id(partner_id))
    show_painted(app, grid)

    model = grid.accounts_model
    unmapped = [r for r in range(model.rowCount()) if model.id_at(r) not in grid.state.mapping]
    mime = model.mimeData([model.index(r, 0) for r in unmapped[:1000]])
    t = time.perf_counter()
    grid.clients_model.dropMimeData(
        mime, QtCore.Qt.DropAction.CopyAction, -1, -1, grid.clients_model.index(0, 0)
    )
    app.processEvents()
    grid.repaint()
    drop = time.perf_counter() - t
    grid.undo_stack.undo()

    sources, targets = grid.state.suggestion_inputs()
    t = time.perf_counter()
    found = suggest(sources, targets)
    took = time.perf_counter() - t
    grid.close()
    ctx.close()
    return {
        "drop": drop,
        "suggest": took,
        "suggested": len(found),
        "sources": len(sources),
        "targets": len(targets),
    }


def run_bare(db_path: str, partner_id: int) -> dict[str, Any]:
    from operator import itemgetter

    from PySide6 import QtCore, QtWidgets

    Qt = QtCore.Qt

    class Model(QtCore.QAbstractTableModel):
        def __init__(self, columns: int) -> None:
            super().__init__()
            self.columns = columns
            self.rows: list[tuple[Any, ...]] = []
            self.keys: list[str] = []
            self.visible: list[int] = []
            self.needle = ""

        def load(self, rows: list[tuple[Any, ...]]) -> None:
            self.beginResetModel()
            self.rows = rows
            # Built in C (map over itemgetter), as a careful hand-written grid would: the
            # baseline must be the least a *good* grid does, or the ratio flatters the app.
            self.keys = list(map(str.lower, map("\x00".join, map(itemgetter(0, 1), rows))))
            self.visible = list(range(len(rows)))
            self.needle = ""
            self.endResetModel()

        def set_filter(self, text: str) -> None:
            needle = text.lower()
            self.beginResetModel()
            keys = self.keys
            # Typing more letters narrows the rows shown (incremental), as the app does.
            base = self.visible if needle.startswith(self.needle) else range(len(keys))
            self.visible = [i for i in base if needle in keys[i]] if needle else list(base)
            self.needle = needle
            self.endResetModel()

        def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else len(self.visible)

        def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else self.columns

        def data(self, index: QtCore.QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
                return None
            return self.rows[self.visible[index.row()]][index.column()]

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    conn = sqlite3.connect(db_path)
    left_model, right_model = Model(3), Model(3)
    window = QtWidgets.QSplitter()
    left_view, right_view = QtWidgets.QTableView(), QtWidgets.QTableView()
    left_view.setModel(left_model)
    right_view.setModel(right_model)
    window.addWidget(left_view)
    window.addWidget(right_view)
    show_painted(app, window)

    rss0 = rss_mb()
    t0 = time.perf_counter()
    left = conn.execute(
        "SELECT account_id, name, COALESCE(description, '') FROM vendor_account "
        "WHERE partner_id = ? ORDER BY name COLLATE NOCASE",
        (partner_id,),
    ).fetchall()
    right = conn.execute(
        "SELECT client_id, name, stale FROM gradient_client WHERE partner_id = ? "
        "ORDER BY name COLLATE NOCASE",
        (partner_id,),
    ).fetchall()
    conn.execute(
        "SELECT source_id, target_id, origin, sync_state, sync_error FROM mapping "
        "WHERE partner_id = ? AND kind = 'account'",
        (partner_id,),
    ).fetchall()
    left_model.load(left)
    right_model.load(right)
    app.processEvents()
    window.repaint()
    load = time.perf_counter() - t0
    rss1 = rss_mb()

    keys = time_keystrokes([(left_model, left_view), (right_model, right_view)])
    rows = (left_model.rowCount(), right_model.rowCount())
    window.close()
    conn.close()
    return {"load": load, "keys": keys, "rss_load_mb": rss1 - rss0, "rows": rows}


def main(argv: list[str]) -> int:
    mode, db_path, partner_id = argv[0], argv[1], int(argv[2])
    run = {"app": run_app, "bare": run_bare, "extras": run_extras}[mode]
    result = run(db_path, partner_id)
    result["rss_peak_mb"] = peak_mb()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
