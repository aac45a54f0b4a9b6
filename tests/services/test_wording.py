"""Counts agree with their nouns and verbs in the app's sentences (services/wording.py)."""

from __future__ import annotations

from gradient_desktop.services.billing import ServiceCard, totals, totals_text, usage_summary
from gradient_desktop.services.wording import noun, plural, verb


def test_nouns_and_verbs_agree_with_the_count() -> None:
    assert plural(1, "count") == "1 count" and plural(0, "count") == "0 counts"
    assert plural(1200, "count") == "1,200 counts" and plural(3, "entry") == "3 entries"
    assert plural(2, "match") == "2 matches" and noun(1, "card") == "card"
    assert verb(1, "needs") == "needs" and verb(192, "needs") == "need"
    assert verb(2, "differs") == "differ" and verb(2, "was") == "were" and verb(2, "has") == "have"
    assert verb(2, "pushes") == "push" and verb(1, "is") == "is"


def _card(i: int, state: str) -> ServiceCard:
    return ServiceCard(
        id=f"card-{i}",
        account_id=f"acct-{i}",
        account_name=f"Account {i}",
        client_id="c",
        client_name="Client",
        service_id="svc",
        service_name="Service",
        product="Service",
        agreement_id=None,
        vendor_quantity=2,
        vendor_updated_at=None,
        psa_quantity=1,
        difference=1,
        unit_price=1.0,
        unit_cost=0.5,
        proposed_quantity=2,
        proposed_price=1.0,
        monthly_difference=1.0,
        edited=False,
        state=state,
    )


def test_the_integration_checks_billing_line_agrees_with_its_counts() -> None:
    many = [_card(i, "needs_review") for i in range(192)] + [_card(999, "matched")]
    ok, text = usage_summary(many)
    assert ok and "shows 193 service cards" in text and "(1 matched, 192 need review)" in text
    ok, text = usage_summary([_card(1, "needs_review")])
    assert "shows 1 service card with" in text and "(1 needs review)" in text
    assert totals_text(totals(many)).startswith("192 of 193 cards need review · ")
    assert totals_text(totals(many[:1])).startswith("1 of 1 card needs review · ")


def test_figures_keep_only_the_phrases_whose_figure_is_not_zero() -> None:
    from gradient_desktop.services.wording import figures

    assert figures((2, "2 failed"), (0, "0 unmapped"), (1, "1 to check")) == [
        "2 failed",
        "1 to check",
    ]
    assert figures() == [] and figures((0, "none")) == []
