"""The partner's billing reconciliation in the sandbox, over real sockets: service cards appear
only when our count differs from the PSA agreement, stay quiet once reviewed for the month,
and approvals (with edited quantity or price) update the agreement and its history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gradient_desktop.sandbox.billing_models import first_of_next_month
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, make_state
from gradient_desktop.sandbox.seed_billing import demo_usage
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from gradient_desktop.sandbox.state import SandboxState
from tests.sandbox.helpers import API

B = "/_sandbox/billing"


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(rate_limit=None, random_seed=1234)) as server:
        yield server


# ``api``: the demo partner's plain httpx client on this ``sb`` (tests/sandbox/conftest.py).


class Partner:
    """The vendor pushing counts and the MSP on its billing page, both over HTTP."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api
        self.skus = [s["id"] for s in api.get(API).json()["data"]["skus"]]

    def account(self, account_id: str, client_index: int) -> str:
        assert self.api.post(
            f"{API}/organization/accounts", json=[{"id": account_id, "name": account_id}]
        ).is_success
        client = self.api.get(f"{API}/organization/clients").json()["clients"][client_index]
        r = self.api.post(
            "/_sandbox/map",
            json={"partnerKey": PARTNER_DEMO, "accountId": account_id, "clientId": client["id"]},
        )
        assert r.status_code == 200
        return client["id"]

    def push(self, account_id: str, sku: str, count: float) -> None:
        r = self.api.post(
            f"{API}/service/{sku}/count", json={"accountId": account_id, "unitCount": count}
        )
        assert r.status_code == 201, r.text

    def cards(self, state: str | None = None) -> dict[str, dict[str, Any]]:
        params = {"partnerKey": PARTNER_DEMO, **({"state": state} if state else {})}
        r = self.api.get(f"{B}/cards", params=params)
        assert r.status_code == 200, r.text
        return {c["id"]: c for c in r.json()["cards"]}

    def post(self, action: str, **body: Any) -> httpx.Response:
        return self.api.post(f"{B}/{action}", json={"partnerKey": PARTNER_DEMO, **body})

    def agreement(self, client_id: str) -> dict[str, Any]:
        r = self.api.get(
            f"{B}/agreements", params={"partnerKey": PARTNER_DEMO, "clientId": client_id}
        )
        (agreement,) = r.json()["agreements"]
        return agreement


def _line(agreement: dict[str, Any], sku: str) -> dict[str, Any] | None:
    return next((ln for ln in agreement["lines"] if ln["serviceId"] == sku), None)


def _client_with_line(p: Partner, sku: str) -> tuple[int, str, dict[str, Any]]:
    """The first PSA client whose agreement bills `sku`: (index, client id, line)."""
    clients = p.api.get(f"{API}/organization/clients").json()["clients"]
    for i, client in enumerate(clients):
        r = p.api.get(
            f"{B}/agreements", params={"partnerKey": PARTNER_DEMO, "clientId": client["id"]}
        )
        for agreement in r.json()["agreements"]:
            line = _line(agreement, sku)
            if line is not None:
                return i, client["id"], line
    raise AssertionError("no seeded agreement bills this service")


def test_demo_agreements_are_seeded_realistically() -> None:
    state = make_state("demo")
    sku_ids = [s["id"] for s in state.vendor("sandbox-vendor-demo")["skus"]]
    agreements = state.billing_agreements(PARTNER_DEMO)
    assert len(agreements) >= 180 and len(state.billing_agreements(PARTNER_SMALL)) >= 20
    lines = [ln for a in agreements for ln in a["lines"]]
    assert {ln["serviceId"] for ln in lines} == set(sku_ids)
    assert {ln["unitPrice"] for ln in lines if ln["serviceId"] == sku_ids[0]} == {45.0, 40.5}
    assert all(a["history"] == [] for a in agreements)
    # Against the counts the demo's first usage sync sends: some already match, some do not.
    from gradient_desktop.sandbox.names import normalize
    from gradient_desktop.sandbox.seed import demo_vendor_customers

    account_of = {normalize(c["name"]): c["id"] for c in demo_vendor_customers(PARTNER_DEMO)}
    verdicts = [
        ln["quantity"] == demo_usage(account_of[normalize(a["clientName"])], ln["serviceId"])
        for a in agreements
        if normalize(a["clientName"]) in account_of
        for ln in a["lines"]
    ]
    matching = sum(verdicts) / len(verdicts)
    assert 0.5 < matching < 0.85, matching
    assert make_state("demo").snapshot() == state.snapshot()  # deterministic


def test_card_appears_only_when_the_count_differs_and_approval_updates_the_agreement(
    api: httpx.Client,
) -> None:
    p = Partner(api)
    sku = p.skus[0]
    index, client_id, line = _client_with_line(p, sku)
    p.account("a1", index)
    psa, price = line["quantity"], line["unitPrice"]

    p.push("a1", sku, psa)  # the same as the PSA: a matched card, nothing to review
    (card,) = p.cards().values()
    assert card["state"] == "matched" and card["difference"] == 0
    assert p.cards("needs_review") == {}

    p.push("a1", sku, psa + 3)
    card = p.cards("needs_review")[card["id"]]
    assert (card["vendorQuantity"], card["psaQuantity"], card["difference"]) == (psa + 3, psa, 3)
    assert card["monthlyDifference"] == round(3 * price, 2)
    assert card["accountName"] == "a1" and card["clientId"] == client_id

    r = p.post("approve", cardIds=[card["id"]])
    assert r.status_code == 200 and r.json()["cards"][0]["state"] == "approved"
    agreement = p.agreement(client_id)
    assert _line(agreement, sku)["quantity"] == psa + 3
    (entry,) = agreement["history"]
    assert entry["quantityFrom"] == psa and entry["quantityTo"] == psa + 3
    assert entry["effectiveDate"] == first_of_next_month().isoformat()
    assert entry["priceFrom"] == entry["priceTo"] == price

    p.push("a1", sku, psa + 3)  # the value already reconciled this month: no new card
    assert p.cards()[card["id"]]["state"] == "approved"
    assert p.cards("needs_review") == {}
    p.push("a1", sku, psa + 5)  # it changed again: back for review
    card = p.cards("needs_review")[card["id"]]
    assert card["difference"] == 2


def test_edit_price_and_quantity_before_approving_and_dismiss(
    api: httpx.Client, sb: SandboxServer
) -> None:
    p = Partner(api)
    sku = p.skus[1]
    index, client_id, line = _client_with_line(p, sku)
    p.account("a1", index)
    p.push("a1", sku, line["quantity"] + 10)
    cid = next(iter(p.cards()))

    assert p.post("edit", cardId=cid, price=-1).status_code == 400
    assert p.post("edit", cardId=cid).status_code == 400
    r = p.post("edit", cardId=cid, price=9.75, quantity=line["quantity"] + 8)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["edited"] and edited["proposedPrice"] == 9.75
    assert edited["monthlyDifference"] == round(
        (line["quantity"] + 8) * 9.75 - line["quantity"] * line["unitPrice"], 2
    )
    assert p.post("approve", cardIds=[cid], effectiveDate="March 1st").status_code == 400
    r = p.post("approve", cardIds=[cid], effectiveDate="2031-03-01")
    assert r.status_code == 200
    after = _line(p.agreement(client_id), sku)
    assert (after["quantity"], after["unitPrice"]) == (line["quantity"] + 8, 9.75)
    assert p.agreement(client_id)["history"][0]["effectiveDate"] == "2031-03-01"
    # Approved with an edited quantity: our count (still +10) does not reopen it this month.
    p.push("a1", sku, line["quantity"] + 10)
    assert p.cards()[cid]["state"] == "approved"
    assert p.post("approve", cardIds=[cid]).status_code == 409  # nothing to review
    assert p.post("dismiss", cardIds=["nope|x"]).status_code == 404

    p.push("a1", sku, line["quantity"] + 12)
    assert p.post("dismiss", cardIds=[cid]).json()["cards"][0]["state"] == "dismissed"
    p.push("a1", sku, line["quantity"] + 12)
    assert p.cards()[cid]["state"] == "dismissed"
    assert _line(p.agreement(client_id), sku)["quantity"] == line["quantity"] + 8
    # A new month: the difference is still there, so the card asks again.
    with sb.state.lock:
        sb.state.orgs[PARTNER_DEMO].billing.cards[cid].reviewed_month = "2001-01"
    p.push("a1", sku, line["quantity"] + 12)
    assert p.cards()[cid]["state"] == "needs_review"


def test_bulk_approve_is_all_or_nothing_and_adds_missing_lines(api: httpx.Client) -> None:
    p = Partner(api)
    clients = api.get(f"{API}/organization/clients").json()["clients"]
    # A client whose agreement lacks a service: the PSA quantity counts as 0.
    index = None
    for i, client in enumerate(clients):
        r = api.get(
            f"{B}/agreements", params={"partnerKey": PARTNER_DEMO, "clientId": client["id"]}
        )
        found = r.json()["agreements"]
        if found and _line(found[0], p.skus[2]) is None:
            index = i
            break
    assert index is not None
    client_id = p.account("a1", index)
    p.account("a2", index + 1)
    p.push("a1", p.skus[2], 7)
    p.push("a2", p.skus[2], 1234)
    cards = p.cards("needs_review")
    new = next(c for c in cards.values() if c["accountId"] == "a1")
    assert new["psaQuantity"] == 0 and new["difference"] == 7 and new["unitPrice"] > 0

    assert p.post("approve", cardIds=[new["id"], "ghost|x"]).status_code == 404
    assert set(p.cards("needs_review")) == set(cards)  # nothing was approved
    r = p.post("approve", cardIds=list(cards))
    assert r.status_code == 200 and len(r.json()["cards"]) == 2
    assert p.cards("needs_review") == {}
    line = _line(p.agreement(client_id), p.skus[2])
    assert line is not None and line["quantity"] == 7 and line["unitPrice"] == new["unitPrice"]


def test_count_all_cards_chart_snapshot_and_disconnect(
    api: httpx.Client, sb: SandboxServer
) -> None:
    p = Partner(api)
    sku = p.skus[0]
    for i in range(3):
        p.account(f"a{i}", i)
    r = api.post(f"{API}/service/{sku}/count/all", json={"unitCount": 999})
    assert r.status_code == 201, r.text  # legacy "Create New Unit Count, All Clients"
    cards = p.cards("needs_review")
    assert len(cards) == 3 and all(c["vendorQuantity"] == 999 for c in cards.values())
    first = next(iter(cards.values()))
    p.post("approve", cardIds=[first["id"]])

    chart = {
        s["serviceId"]: s
        for s in api.get(f"{B}/chart", params={"partnerKey": PARTNER_DEMO}).json()["services"]
    }
    samples = chart[sku]["samples"]
    # One sample for the push of three counts, one for the approval.
    assert [s["kind"] for s in samples] == ["push", "approval"]
    assert samples[0]["vendor"] == samples[1]["vendor"] == 2997
    assert samples[1]["psa"] - samples[0]["psa"] == 999 - first["psaQuantity"]
    # A push of no_build rows ended by one that rebuilds is one more sample.
    for i, value in enumerate((5, 6, 7)):
        params = {"no_build": "true"} if i < 2 else {}
        r = api.post(
            f"{API}/service/{sku}/count",
            params=params,
            json={"accountId": f"a{i}", "unitCount": value},
        )
        assert r.status_code == 201
    chart = api.get(f"{B}/chart", params={"partnerKey": PARTNER_DEMO}).json()["services"]
    samples = next(s for s in chart if s["serviceId"] == sku)["samples"]
    assert [s["kind"] for s in samples] == ["push", "approval", "push"]
    assert samples[-1]["vendor"] == 18

    # The demo's snapshot/restore keeps agreements, cards and history.
    data = json.loads(json.dumps(sb.state.snapshot()))
    copy = SandboxState()
    copy.restore(data)
    assert copy.billing_cards(PARTNER_DEMO) == sb.state.billing_cards(PARTNER_DEMO)
    assert copy.billing_agreements(PARTNER_DEMO) == sb.state.billing_agreements(PARTNER_DEMO)

    # A disconnect deletes accounts and counts: their cards leave the billing page.
    assert api.post("/_sandbox/disconnect", json={"partnerKey": PARTNER_DEMO}).status_code == 200
    assert p.cards() == {}
    assert api.get(f"{B}/cards", params={}).status_code == 400
    assert (
        api.get(f"{B}/cards", params={"partnerKey": PARTNER_DEMO, "state": "odd"}).status_code
        == 400
    )


def test_billing_service_on_a_local_sandbox_groups_totals_and_explains_refusals(
    sandbox: Any, run_async: Any
) -> None:
    from gradient_desktop.api.sandbox_admin import SandboxAdminError
    from gradient_desktop.services.billing import BillingService, group_cards, totals
    from gradient_desktop.services.context import AppContext
    from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

    ctx = AppContext.open()
    try:
        partner = run_async(connected_partner(ctx, sandbox, 4))
        billing = BillingService(ctx)
        assert billing.available(partner)  # a sandbox on 127.0.0.1
        sids = service_ids(ctx, partner)
        for i in range(4):
            for sid in sids[:2]:
                sandbox.state.set_count(PARTNER_KEY, sid, 100 + i, account_id=f"acct-{i:04d}")

        async def go() -> tuple[Any, Any, Any]:
            cards = await billing.cards(partner)
            first = next(c for c in cards if c.state == "needs_review")
            edited = await billing.edit(partner, first.id, price=1.5)
            approved = await billing.approve(partner, [first.id])
            with pytest.raises(SandboxAdminError) as refused:
                await billing.approve(partner, [first.id])
            return cards, (first, edited, approved), str(refused.value)

        cards, (first, edited, approved), refusal = run_async(go())
        assert len(cards) == 8 and {c.account_id for c in cards} == {
            f"acct-{i:04d}" for i in range(4)
        }
        by_service = group_cards(cards, "service")
        assert [len(g.cards) for g in by_service] == [4, 4]
        assert len(group_cards(cards, "client")) == 4
        t = totals(cards)
        review = [c for c in cards if c.state == "needs_review"]
        assert t.needs_review == len(review) and t.monthly_difference == round(
            sum(c.monthly_difference for c in review), 2
        )
        assert t.increases + t.decreases == pytest.approx(t.monthly_difference)
        assert edited.proposed_price == 1.5 and edited.edited
        assert approved[0].state == "approved" and approved[0].psa_quantity == first.vendor_quantity
        assert "approved, not waiting for review" in refusal and "Refresh" in refusal
    finally:
        ctx.close()


def test_effective_date_default_and_typed_numbers() -> None:
    from datetime import date

    from gradient_desktop.services.billing import parse_number

    assert first_of_next_month(date(2025, 12, 15)) == date(2026, 1, 1)
    assert first_of_next_month(date(2025, 1, 31)) == date(2025, 2, 1)
    assert parse_number(" $1,200.50 ", "unit price") == 1200.5
    for bad in ("abc", "-1", "nan", ""):
        with pytest.raises(ValueError, match="unit price"):
            parse_number(bad, "unit price")


def test_a_demo_snapshot_from_before_billing_gets_the_seeded_agreements() -> None:
    fresh = make_state("demo")
    sku = fresh.vendor("sandbox-vendor-demo")["skus"][0]["id"]
    fresh.create_accounts(PARTNER_DEMO, [{"id": "a1", "name": "Acme"}, {"id": "a2", "name": "B"}])
    clients = list(fresh.client_names(PARTNER_DEMO))
    fresh.map_account(PARTNER_DEMO, "a1", clients[0])
    fresh.map_account(PARTNER_DEMO, "a2", clients[1])
    fresh.set_count(PARTNER_DEMO, sku, 999, account_id="a1")
    psa = fresh.billing_cards(PARTNER_DEMO)[0]["psaQuantity"]
    fresh.set_count(PARTNER_DEMO, sku, psa, account_id="a1")  # now matched
    fresh.set_count(PARTNER_DEMO, sku, 998, account_id="a2")
    old = json.loads(json.dumps(fresh.snapshot()))
    for org in old["organizations"]:
        del org["billing"]  # as written by a build without the billing lane
    restored = SandboxState()
    restored.restore(old)
    assert restored.billing_agreements(PARTNER_DEMO) == fresh.billing_agreements(PARTNER_DEMO)
    assert restored.billing_agreements(PARTNER_SMALL) == fresh.billing_agreements(PARTNER_SMALL)

    # Counts received before the upgrade show as cards (the integration check reads them).
    def states(state: SandboxState) -> dict[str, tuple[str, float]]:
        return {c["id"]: (c["state"], c["difference"]) for c in state.billing_cards(PARTNER_DEMO)}

    assert states(restored) == states(fresh)
    assert sorted(s for s, _d in states(restored).values()) == ["matched", "needs_review"]


def test_reopen_undoes_an_approval_and_a_dismissal(api: httpx.Client) -> None:
    """Undo on the partner's page: the approved card waits for review again with the price the
    partner typed, the agreement line is back as it was and its history shows both changes; a
    line the approval created goes again; a card with a newer count cannot be undone."""
    p = Partner(api)
    sku = p.skus[0]
    index, client_id, line = _client_with_line(p, sku)
    p.account("a1", index)
    psa, price = line["quantity"], line["unitPrice"]
    p.push("a1", sku, psa + 2)
    (card_id,) = p.cards("needs_review")
    assert p.post("edit", cardId=card_id, price=price + 1).status_code == 200
    assert p.post("approve", cardIds=[card_id]).status_code == 200
    assert _line(p.agreement(client_id), sku)["quantity"] == psa + 2  # type: ignore[index]
    assert p.post("reopen", cardIds=["nope|x"]).status_code == 404

    r = p.post("reopen", cardIds=[card_id])
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert card["state"] == "needs_review" and card["proposedPrice"] == price + 1
    agreement = p.agreement(client_id)
    back = _line(agreement, sku)
    assert back is not None and (back["quantity"], back["unitPrice"]) == (psa, price)
    undone, approved = agreement["history"][:2]  # newest first
    assert approved["action"] == "approved" and undone["action"] == "undone"
    assert (undone["quantityFrom"], undone["quantityTo"]) == (psa + 2, psa)
    assert p.post("reopen", cardIds=[card_id]).status_code == 409  # nothing to undo now

    # Dismiss, then undo: the PSA was never touched.
    assert p.post("dismiss", cardIds=[card_id]).status_code == 200
    assert p.post("reopen", cardIds=[card_id]).json()["cards"][0]["state"] == "needs_review"
    assert len(p.agreement(client_id)["history"]) == 2

    # An approval that put a new service on the agreement takes it off again when undone.
    index2, client2, other = _client_without_a_line(p)
    p.account("a2", index2)
    p.push("a2", other, 4)
    other_id = f"a2|{other}"
    assert p.cards("needs_review")[other_id]["psaQuantity"] == 0
    assert p.post("approve", cardIds=[other_id]).status_code == 200
    assert _line(p.agreement(client2), other) is not None
    assert p.post("reopen", cardIds=[other_id]).status_code == 200
    assert _line(p.agreement(client2), other) is None

    # A newer count since the review: undoing would overwrite a newer decision.
    assert p.post("approve", cardIds=[other_id]).status_code == 200
    p.push("a2", other, 9)
    assert p.post("reopen", cardIds=[other_id]).status_code == 409


def _client_without_a_line(p: Partner) -> tuple[int, str, str]:
    """A PSA client whose agreement does not bill one of the vendor's services."""
    clients = p.api.get(f"{API}/organization/clients").json()["clients"]
    for i, client in enumerate(clients):
        r = p.api.get(
            f"{B}/agreements", params={"partnerKey": PARTNER_DEMO, "clientId": client["id"]}
        )
        billed = {ln["serviceId"] for a in r.json()["agreements"] for ln in a["lines"]}
        missing = [s for s in p.skus if s not in billed]
        if missing:
            return i, client["id"], missing[0]
    raise AssertionError("every client's agreement bills every service")
