"""Parsing Gradient's answers into models: ``_id``, envelopes, extra fields, liberal client
pages."""

from __future__ import annotations

import pytest

from gradient_desktop.api.models import Integration, Vendor, parse_clients_page, unwrap


def test_models_accept_underscore_id_envelopes_and_extra_fields() -> None:
    wrapped = {
        "status": 200,
        "message": "ok",
        "data": {
            "_id": "v1",
            "name": "N",
            "skus": [{"_id": "s1", "name": "S"}],
            "__v": 0,
            "brandNew": True,
        },
    }
    vendor = Vendor.model_validate(unwrap(wrapped))
    assert (vendor.id, vendor.skus[0].id, vendor.model_extra) == (
        "v1",
        "s1",
        {"__v": 0, "brandNew": True},
    )
    bare = {"status": "active", "organizationId": "o", "lastSyncedAt": "1900-01-01T00:00:00Z"}
    assert Integration.model_validate(unwrap(bare)).never_synced


def test_clients_page_parsing_is_liberal() -> None:
    page = parse_clients_page({"meta": {"limit": 2}, "clients": [{"_id": 7, "name": None}]})
    assert (page.clients[0].id, page.clients[0].name, page.limit) == ("7", "", 2)
    assert parse_clients_page({"meta": "odd", "clients": ["a"]}).limit is None
    assert parse_clients_page([{"id": "x", "name": "X"}]).clients[0].name == "X"
    with pytest.raises(TypeError):
        parse_clients_page({"meta": {}})
    with pytest.raises(ValueError, match="no id"):
        parse_clients_page({"clients": [{"name": "nameless"}]})
