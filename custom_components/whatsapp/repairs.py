"""The pairing repair's fix flow: link the phone inside the repair's dialog (linking.py's steps).

Every other issue only says what to do (a confirmation closes it).
"""

from __future__ import annotations

from typing import Any, override

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowContext,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import DOMAIN, ISSUE_PAIRING
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .linking import PhoneLinkingSteps

# The issue's data: which account is waiting to be linked.
DATA_ENTRY_ID = "entry_id"


class PairingRepairFlow(RepairsFlow, PhoneLinkingSteps[RepairsFlowContext, RepairsFlowResult]):
    """Shows the current QR code (or pairing code) and finishes once the phone is linked."""

    def __init__(self, entry_id: str | None) -> None:
        """Follow one account's pairing (the issue names the entry)."""
        self._entry_id = entry_id

    @override
    def _linking_coordinator(self) -> WhatsAppCoordinator | None:
        entries: list[WhatsAppConfigEntry] = [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED and self._entry_id in (None, entry.entry_id)
        ]
        return entries[0].runtime_data.coordinator if len(entries) == 1 else None

    @override
    def _async_linked_result(self) -> RepairsFlowResult:
        return self.async_create_entry(data={})

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Open the dialog on the current QR or code (or the choice between the QR and a phone number)."""
        return await self._async_start_linking()


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None) -> RepairsFlow:
    """Return the fix flow of a fixable issue: only an account's pairing issue is (its data names the entry)."""
    if issue_id.startswith(f"{ISSUE_PAIRING}_"):
        entry_id = data.get(DATA_ENTRY_ID) if data else None
        return PairingRepairFlow(entry_id if isinstance(entry_id, str) else None)
    return ConfirmRepairFlow()
