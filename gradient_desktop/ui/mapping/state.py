"""The mapping grid's in-memory state: both panes' rows as parallel lists, the current mapping,
suggestions, conflicts, stale clients and per-row sync state. Plain Python (no Qt), so the
models stay thin adapters and the rules here are testable on their own.

Rows are addressed by their position in the load order (``int``); ids map to positions through
dicts. Lowercase search keys are computed once at load, so a filter keystroke is one list
comprehension of substring tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from gradient_desktop.services.mapping import GridRows, MappingChange
from gradient_desktop.services.suggest import Suggestion

# Row states, in the order of precedence a row shows.
CONFLICT, STALE, MAPPED, SUGGESTED, UNMAPPED = (
    "conflict",
    "stale",
    "mapped",
    "suggested",
    "unmapped",
)
#: What a state filter shows: an account with a suggestion is still unmapped, so "Unmapped
#: only" shows it too (and the counters count it among the unmapped).
_SHOWN = {UNMAPPED: frozenset({UNMAPPED, SUGGESTED})}


def shown_states(mode: str) -> frozenset[str]:
    """The row states a state filter (``mode``) shows."""
    return _SHOWN.get(mode) or frozenset({mode})


# Per-row sync indicator (Mapping.sync_state "local" reads "saved": stored, not yet sent).
SYNC_LABELS = {"local": "saved", "syncing": "syncing…", "synced": "synced", "failed": "failed"}


@dataclass
class Side:
    """One pane's rows (columns as lists; ``keys`` are the lowercase search keys)."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    descs: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    pos: dict[str, int] = field(default_factory=dict)

    def load(self, rows: Iterable[tuple[Any, ...]], *, with_desc: bool = True) -> None:
        """``rows`` are (id, name, description, ...) tuples, or (id, name, ...) when
        ``with_desc`` is off."""
        rows = rows if isinstance(rows, list) else list(rows)
        # Column-wise in C (map/itemgetter, dict(zip)): at 50,000 rows every Python-level
        # loop here shows up in the load time.
        self.ids = list(map(itemgetter(0), rows))
        self.names = list(map(itemgetter(1), rows))
        fields: Callable[[Any], tuple[str, ...]]
        if with_desc:
            # Descriptions repeat a lot ("Plan: Server Pro"): one string object per text.
            distinct = {d: d for d in map(itemgetter(2), rows)}
            self.descs = list(map(distinct.__getitem__, map(itemgetter(2), rows)))
            fields = itemgetter(0, 1, 2)
        else:
            self.descs = [""] * len(rows)
            fields = itemgetter(0, 1)
        self.keys = list(map(str.lower, map("\x00".join, map(fields, rows))))
        self.pos = dict(zip(self.ids, range(len(self.ids)), strict=True))

    def __len__(self) -> int:
        return len(self.ids)


class GridState:
    """Accounts (left) ↔ clients (right) and everything derived from their mapping."""

    def __init__(self) -> None:
        self.left = Side()
        self.right = Side()
        self.right_stale: set[str] = set()
        self.right_note: dict[str, str] = {}  # e.g. "mapped on Gradient" (services)
        self.mapping: dict[str, str] = {}
        self.origin: dict[str, str] = {}
        self.sync: dict[str, str] = {}
        self.sync_error: dict[str, str] = {}
        self.published = bytearray()  # per left row: 1 when Gradient has the account
        self.target_count: Counter[str] = Counter()
        self.suggestions: dict[str, tuple[str, int]] = {}
        self.reasons: dict[str, str] = {}  # why each suggestion was made (matched words)
        self.one_per_client = True
        self.conflict_targets: set[str] = set()

    # -- loading ---------------------------------------------------------------------------------

    def load(self, rows: GridRows, right_notes: dict[str, str] | None = None) -> None:
        self.left.load(rows.left)
        self.published = bytearray(map(itemgetter(3), rows.left))
        self.right.load(rows.right, with_desc=False)
        self.right_stale = {cid for cid, _name, stale in rows.right if stale}
        self.right_note = dict(right_notes or {})
        # The few distinct state/origin texts are shared, not one string per row.
        words: dict[str, str] = {}
        self.mapping = {m[0]: m[1] for m in rows.mappings}
        self.origin = {m[0]: words.setdefault(m[2], m[2]) for m in rows.mappings}
        self.sync = {m[0]: words.setdefault(m[3], m[3]) for m in rows.mappings}
        self.sync_error = {m[0]: m[4] for m in rows.mappings if m[4]}
        self.suggestions = {}
        self._recount()

    def is_published(self, source: str) -> bool:
        pos = self.left.pos.get(source)
        return pos is not None and bool(self.published[pos])

    def _recount(self) -> None:
        self.target_count = Counter(self.mapping.values())
        self._update_conflicts()

    def _update_conflicts(self) -> None:
        if self.one_per_client:
            self.conflict_targets = {t for t, n in self.target_count.items() if n > 1}
        else:
            self.conflict_targets = set()

    def set_one_per_client(self, on: bool) -> None:
        self.one_per_client = on
        self._update_conflicts()

    # -- changes ---------------------------------------------------------------------------------

    def apply(self, changes: Iterable[MappingChange]) -> None:
        """Mirror changes the store accepted (``MappingService.apply``)."""
        for change in changes:
            old = self.mapping.pop(change.source_id, None)
            if old is not None:
                self.target_count[old] -= 1
                if self.target_count[old] <= 0:
                    del self.target_count[old]
            if change.target_id is not None:
                self.mapping[change.source_id] = change.target_id
                self.origin[change.source_id] = change.origin
                self.target_count[change.target_id] += 1
            else:
                self.origin.pop(change.source_id, None)
            self.sync[change.source_id] = "local"
            self.sync_error.pop(change.source_id, None)
        self._update_conflicts()

    def set_suggestions(self, suggestions: Iterable[Suggestion]) -> None:
        suggestions = list(suggestions)
        self.suggestions = {s.source_id: (s.target_id, s.confidence) for s in suggestions}
        self.reasons = {s.source_id: s.reason for s in suggestions if s.reason}

    # -- reading ---------------------------------------------------------------------------------

    def suggestion(self, source: str) -> tuple[str, int] | None:
        """The pending suggestion of an unmapped row (hidden once its target is taken)."""
        if source in self.mapping:
            return None
        hit = self.suggestions.get(source)
        if hit is None or (self.one_per_client and hit[0] in self.target_count):
            return None
        return hit

    def suggestion_reason(self, source: str) -> str:
        """Why ``source``'s suggestion was made ("matched carter, dentistry"), or ""."""
        return self.reasons.get(source, "")

    def left_state(self, source: str) -> str:
        target = self.mapping.get(source)
        if target is None:
            return SUGGESTED if self.suggestion(source) is not None else UNMAPPED
        if target in self.conflict_targets:
            return CONFLICT
        if target in self.right_stale or target not in self.right.pos:
            return STALE
        return MAPPED

    def right_state(self, target: str) -> str:
        if target in self.right_stale:
            return STALE
        if target in self.conflict_targets:
            return CONFLICT
        return MAPPED if target in self.target_count else UNMAPPED

    def sync_label(self, source: str) -> str:
        state = self.sync.get(source)
        if state is None:
            return ""
        if state == "local" and source in self.mapping and not self.is_published(source):
            return "saved · sent on publish"
        if state == "local" and source not in self.mapping:
            return ""
        return SYNC_LABELS.get(state, state)

    def target_name(self, target: str) -> str:
        pos = self.right.pos.get(target)
        return self.right.names[pos] if pos is not None else f"(unknown client {target})"

    def pending_suggestions(self, threshold: int = 0) -> list[tuple[str, str, int]]:
        """(source, target, confidence) of every visible suggestion at or above ``threshold``.

        With one account per client, two suggestions never share a target (suggest() already
        hands each target to one source) and a taken target hides its suggestion.
        """
        out = []
        for source in self.suggestions:
            hit = self.suggestion(source)
            if hit is not None and hit[1] >= threshold:
                out.append((source, hit[0], hit[1]))
        return out

    def counters(self) -> dict[str, int]:
        """The status line's numbers, from the mapping and suggestions alone (not a loop over
        50,000 rows: unmapped is what is left). ``unmapped`` counts every account without a
        mapping, those with a suggestion included (``suggested`` is a part of it), so it says
        what "accounts − mapped" says everywhere else in the app."""
        pos, known = self.left.pos, self.right.pos
        conflict = stale = mapped = 0
        for source, target in self.mapping.items():
            if source not in pos:
                continue
            if target in self.conflict_targets:
                conflict += 1
            elif target in self.right_stale or target not in known:
                stale += 1
            else:
                mapped += 1
        suggested = sum(1 for s in self.suggestions if s in pos and self.suggestion(s))
        total = len(self.left)
        return {
            "accounts": total,
            "clients": len(self.right),
            MAPPED: mapped,
            UNMAPPED: total - mapped - conflict - stale,
            SUGGESTED: suggested,
            CONFLICT: conflict,
            STALE: stale,
            "stale_clients": len(self.right_stale),
            "failed": sum(1 for v in self.sync.values() if v == "failed"),
        }

    def suggestion_inputs(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Unmapped rows and the clients they may still go to (not stale; free if one per
        client)."""
        left = self.left
        sources = [
            (i, n) for i, n in zip(left.ids, left.names, strict=True) if i not in self.mapping
        ]
        right = self.right
        taken = self.target_count if self.one_per_client else {}
        targets = [
            (i, n)
            for i, n in zip(right.ids, right.names, strict=True)
            if i not in self.right_stale and i not in taken
        ]
        return sources, targets
