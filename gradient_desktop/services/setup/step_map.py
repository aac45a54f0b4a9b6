"""Step 5: publish the vendor's customers as accounts, load the partner's clients, map them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gradient_desktop.services.integration import (
    ClientSync,
    PublishResult,
    parse_customers_csv,
)
from gradient_desktop.services.mapping import MappingChange
from gradient_desktop.services.setup.base import FlowBase
from gradient_desktop.services.setup.steps import (
    MappingSummary,
    SetupError,
    Step,
    normalize_exact,
    now_iso,
)
from gradient_desktop.store.models import (
    MappingOrigin,
)

log = logging.getLogger(__name__)


class MappingSteps(FlowBase):
    """Step 5: publish the vendor's customers as accounts, load the partner's clients, map them."""

    # -- step 5: accounts, clients, mapping ---------------------------------------------------

    def customers_source(self) -> str:
        """'demo' (the sandbox's customer list) or 'file' (the vendor imports a CSV)."""
        return "demo" if self.extras.provides_customers else "file"

    def import_customers(self, text: str) -> int:
        """Customers from CSV text ``id,name,description`` saved for this partner."""
        partner = self._need_partner()
        customers = parse_customers_csv(text)
        return self.integration.save_customers(partner, customers)

    async def publish(
        self,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> tuple[PublishResult, ClientSync]:
        """Push the vendor's customers as accounts, then load the partner's Gradient clients."""
        partner = self._need_partner()
        provided = self.extras.customers(partner)
        if provided is not None:
            self.integration.save_customers(partner, provided)
        if not self.integration.accounts(partner):
            raise SetupError(
                "There are no customers to publish yet: import your customer list "
                "(a CSV file with the columns id,name,description)."
            )

        def accounts_progress(done: int, total: int) -> None:
            if progress:
                progress("accounts", done, total)

        def clients_progress(done: int) -> None:
            if progress:
                progress("clients", done, 0)

        published = await self.integration.publish_accounts(partner, accounts_progress)
        clients = await self.integration.sync_clients(partner, clients_progress)
        self.data["accounts_published_at"] = now_iso()
        self.data["clients_loaded"] = clients.total
        self._persist(Step.MAP_CLIENTS)
        return published, clients

    def auto_match_exact(self) -> list[MappingChange]:
        """Map every unmapped account to the client with the same name (case and spacing
        ignored); returns the changes made (apply their inverse to undo)."""
        changes = self.exact_matches()
        if changes:
            self.mapping.apply(self._need_partner(), changes)
        return changes

    def exact_matches(self) -> list[MappingChange]:
        """The changes ``auto_match_exact`` would make (the wizard applies them as one undo
        step through the mapping grid)."""
        partner = self._need_partner()
        current = self.mapping.mappings(partner)
        taken = set(current.values())
        by_name: dict[str, str] = {}
        for c in self.integration.clients(partner):
            if not c.stale:
                by_name.setdefault(normalize_exact(c.name), c.client_id)
        changes = []
        for account in self.integration.accounts(partner):
            if account.account_id in current:
                continue
            hit = by_name.get(normalize_exact(account.name))
            if hit and hit not in taken:
                taken.add(hit)
                changes.append(
                    MappingChange(account.account_id, hit, MappingOrigin.SUGGESTED.value)
                )
        return changes

    def map_account(self, account_id: str, client_id: str | None) -> list[MappingChange]:
        return self.mapping.apply(self._need_partner(), [MappingChange(account_id, client_id)])

    async def sync_mappings(self, account_ids: list[str] | None = None) -> dict[str, str]:
        """Send mappings to Gradient; then read ``isMapped`` back. Returns failures."""
        partner = self._need_partner()
        errors = await self.mapping.sync(partner, account_ids)
        await self.integration.refresh_account_states(partner)
        self.extras.saved()
        return errors

    async def resync_mappings(self) -> dict[str, str]:
        """After a (re)publish: send the saved mappings Gradient does not have yet."""
        partner = self._need_partner()
        mapped = list(self.mapping.mappings(partner))
        states = self.mapping.sync_states(partner, mapped)
        todo = [i for i in mapped if states.get(i, ("local", None))[0] != "synced"]
        return await self.sync_mappings(todo) if todo else {}

    def mapping_summary(self) -> MappingSummary:
        partner = self._need_partner()
        return MappingSummary(
            accounts=len(self.integration.accounts(partner)),
            mapped=len(self.mapping.mappings(partner)),
            clients=len(self.integration.clients(partner)),
            services=len(self.integration.services(partner)),
        )

    def finish_mapping(self) -> None:
        self.data["mapped_accounts"] = self.mapping_summary().mapped
        self._persist(Step.ACTIVATE)
