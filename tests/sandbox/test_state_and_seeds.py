"""The sandbox's state used directly (no HTTP) and its seeds: deterministic, realistic vendor
customers, thread-safe writes, more clients than the name lists hold."""

from __future__ import annotations

import random

import pytest

from gradient_desktop.sandbox.models import SandboxError
from gradient_desktop.sandbox.names import normalize
from gradient_desktop.sandbox.seed import (
    PARTNER_DEMO,
    PARTNER_SMALL,
    VENDOR_KEY,
    demo_vendor_customers,
    make_state,
)
from gradient_desktop.sandbox.state import SandboxState


def test_state_methods_usable_directly() -> None:
    state = make_state()
    sku = state.vendor(VENDOR_KEY)["skus"][0]["id"]
    state.create_accounts(PARTNER_SMALL, [{"id": "x", "name": "X"}])
    with pytest.raises(SandboxError) as err:
        state.set_count(PARTNER_SMALL, sku, 1, account_id="x")
    assert (
        err.value.status == 404 and err.value.body()["message"] == "No account map found with id: x"
    )
    client = next(iter(state.client_names(PARTNER_SMALL)))
    state.map_account(PARTNER_SMALL, "x", client)
    state.set_count(PARTNER_SMALL, sku, 2, account_id="x", no_build=True)
    assert (
        state.counts(PARTNER_SMALL)[(sku, "x")]["unitCount"] == 2
        and state.rebuilds(PARTNER_SMALL) == 0
    )
    assert (
        state.delete_client(PARTNER_SMALL, client) == 1
        and state.client_of(PARTNER_SMALL, "x") is None
    )
    with pytest.raises(SandboxError):
        state.set_status(PARTNER_SMALL, "Active")


def test_state_is_thread_safe_under_concurrent_writes() -> None:
    import threading

    state: SandboxState = make_state()
    sku = state.vendor(VENDOR_KEY)["skus"][0]["id"]
    state.create_accounts(PARTNER_DEMO, [{"id": "t", "name": "T"}])
    state.map_account(PARTNER_DEMO, "t", next(iter(state.client_names(PARTNER_DEMO))))

    def adder() -> None:
        for _ in range(500):
            state.set_count(PARTNER_DEMO, sku, 1, account_id="t", mode="add", no_build=True)

    threads = [threading.Thread(target=adder) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.counts(PARTNER_DEMO)[(sku, "t")]["unitCount"] == 2000


def test_seeds_are_deterministic_and_vendor_customers_realistic() -> None:
    a, b = make_state(), make_state()
    assert a.client_names(PARTNER_DEMO) == b.client_names(PARTNER_DEMO)
    assert a.vendor(VENDOR_KEY)["skus"] == b.vendor(VENDOR_KEY)["skus"]
    assert a.client_count(PARTNER_SMALL) == 25
    assert a.integration(PARTNER_SMALL)["name"] == "Fabrikam IT Partners"
    empty = make_state("empty")
    assert empty.vendor(VENDOR_KEY)["skus"] == [] and empty.client_count(PARTNER_DEMO) == 200
    with pytest.raises(ValueError):
        make_state("full")

    clients = set(a.client_names(PARTNER_DEMO).values())
    assert "Acme Corporation" in clients
    customers = demo_vendor_customers(PARTNER_DEMO)
    assert customers == demo_vendor_customers(PARTNER_DEMO)
    assert customers[0] == {**customers[0], "id": "cust-0001", "name": "ACME Corp."}
    assert [c["id"] for c in customers] == [f"cust-{i:04d}" for i in range(1, len(customers) + 1)]
    keys = {normalize(n) for n in clients}
    same_company = [c for c in customers if normalize(c["name"]) in keys]
    assert 170 <= len(same_company) <= 190  # ~90 % of the 200 clients
    assert len(customers) - len(same_company) >= 3  # customers the MSP does not have
    spelled_differently = [c for c in same_company if c["name"] not in clients]
    assert len(spelled_differently) > len(same_company) // 2
    # The simulated MSP maps exactly the customers it has.
    a.create_accounts(PARTNER_DEMO, customers)
    assert a.auto_map(PARTNER_DEMO)["accounts"] == len(same_company)
    with pytest.raises(KeyError):
        demo_vendor_customers("not-a-demo-key")


def test_more_clients_than_the_name_lists_hold_still_finish() -> None:
    from gradient_desktop.sandbox.names import company_names, normalize

    names = company_names(random.Random(5), 60_000)
    assert len({normalize(n) for n in names}) == 60_000
