"""The mapping grid's Qt-free rules (``ui/mapping/state.py``), tested directly: row states,
counters, filters, suggestions and their reasons, conflicts, stale clients, sync labels."""

from __future__ import annotations

import pytest

from gradient_desktop.services.mapping import GridRows, MappingChange
from gradient_desktop.services.suggest import Suggestion
from gradient_desktop.ui.mapping.state import (
    CONFLICT,
    MAPPED,
    STALE,
    SUGGESTED,
    UNMAPPED,
    GridState,
    shown_states,
)


@pytest.fixture
def state() -> GridState:
    """Four accounts, three clients (c3 gone from Gradient); a1 mapped to c1 and synced."""
    st = GridState()
    st.load(
        GridRows(
            left=[
                ("a1", "Acme Corp.", "Plan: Pro", 1),
                ("a2", "Salem Farms Corporation", "Plan: Pro", 1),
                ("a3", "Hughes Home Helth", "Plan: Basic", 0),
                ("a4", "Zenith Labs", "Plan: Basic", 1),
            ],
            right=[
                ("c1", "Acme Corporation", 0),
                ("c2", "Hughes Home Health", 0),
                ("c3", "Old", 1),
            ],
            mappings=[("a1", "c1", "manual", "synced", None)],
        )
    )
    return st


def test_unmapped_counts_accounts_with_a_suggestion_too(state: GridState) -> None:
    # Issue #11: "3 unmapped · 1 suggested" here and "4 unmapped" elsewhere for the same rows.
    state.set_suggestions([Suggestion("a3", "c2", 96, "matched hughes, home, helth≈health")])
    c = state.counters()
    assert (c["accounts"], c[MAPPED], c[UNMAPPED], c[SUGGESTED]) == (4, 1, 3, 1)
    assert c[UNMAPPED] == c["accounts"] - c[MAPPED]
    assert state.left_state("a3") == SUGGESTED and state.left_state("a2") == UNMAPPED


def test_unmapped_only_shows_suggested_rows_and_suggested_shows_only_them() -> None:
    assert shown_states(UNMAPPED) == {UNMAPPED, SUGGESTED}
    assert shown_states(SUGGESTED) == {SUGGESTED}
    assert shown_states(CONFLICT) == {CONFLICT}


def test_a_suggestion_keeps_its_reason_and_hides_once_its_client_is_taken(
    state: GridState,
) -> None:
    state.set_suggestions(
        [Suggestion("a3", "c2", 96, "matched hughes"), Suggestion("a4", "c2", 70)]
    )
    assert state.suggestion("a3") == ("c2", 96)
    assert state.suggestion_reason("a3") == "matched hughes"
    assert state.suggestion_reason("a4") == ""
    state.apply([MappingChange("a4", "c2")])
    assert state.suggestion("a3") is None and state.left_state("a3") == UNMAPPED
    assert state.pending_suggestions() == []
    state.set_one_per_client(False)
    assert state.suggestion("a3") == ("c2", 96)
    assert state.pending_suggestions(97) == [] and state.pending_suggestions(90) == [
        ("a3", "c2", 96)
    ]


def test_conflicts_only_with_one_account_per_client(state: GridState) -> None:
    state.apply([MappingChange("a2", "c1")])
    assert state.left_state("a1") == state.left_state("a2") == CONFLICT
    assert state.right_state("c1") == CONFLICT and state.counters()[CONFLICT] == 2
    state.set_one_per_client(False)
    assert state.left_state("a2") == MAPPED and state.counters()[CONFLICT] == 0
    state.apply([MappingChange("a2", None)])
    assert state.target_count["c1"] == 1 and "a2" not in state.origin


def test_a_mapping_to_a_stale_or_unknown_client_is_stale(state: GridState) -> None:
    state.apply([MappingChange("a2", "c3"), MappingChange("a4", "gone")])
    assert state.left_state("a2") == state.left_state("a4") == STALE
    assert state.right_state("c3") == STALE
    c = state.counters()
    assert (c[STALE], c["stale_clients"], c[UNMAPPED]) == (2, 1, 1)
    assert state.target_name("gone") == "(unknown client gone)"


def test_sync_labels(state: GridState) -> None:
    assert state.sync_label("a1") == "synced"
    state.apply([MappingChange("a3", "c2")])  # a3 is not published on Gradient yet
    assert state.sync_label("a3") == "saved · sent on publish"
    state.apply([MappingChange("a2", "c2")])
    assert state.sync_label("a2") == "saved"
    state.apply([MappingChange("a2", None)])
    assert state.sync_label("a2") == ""
    state.sync["a4"] = "failed"
    assert state.sync_label("a4") == "failed" and state.counters()["failed"] == 1


def test_suggestion_inputs_leave_out_mapped_accounts_and_taken_or_stale_clients(
    state: GridState,
) -> None:
    sources, targets = state.suggestion_inputs()
    assert [s for s, _n in sources] == ["a2", "a3", "a4"]
    assert [t for t, _n in targets] == ["c2"]
    state.set_one_per_client(False)
    assert [t for t, _n in state.suggestion_inputs()[1]] == ["c1", "c2"]


def test_search_keys_cover_id_name_and_description(state: GridState) -> None:
    assert state.left.keys[1] == "a2\x00salem farms corporation\x00plan: pro"
    assert state.right.keys[0] == "c1\x00acme corporation"
    assert state.is_published("a1") and not state.is_published("a3")
