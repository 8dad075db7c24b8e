"""Link the phone inside the pairing repair's dialog: the current QR (or code), followed until linked.

The fix flow is one progress step. Its task waits for the worker's next pairing news (a new QR, a
new code, linked, or gone); HA then runs the step again (homeassistant/data_entry_flow.py,
2026.10.4: the done callback of `progress_task` calls `async_configure`), which shows the new QR.
A progress step that comes back with other `description_placeholders` makes HA fire
`data_entry_flow_progressed` (FlowManager._async_configure, same file), on which the frontend
fetches the step again, so the dialog follows the QR as WhatsApp rotates it. Once the worker is
linked the dialog says so, and closing it finishes the flow.

The QR is the pairing image entity's own picture (its `entity_picture`: the image proxy's URL with
the entity's access token), shown as a markdown image in the step's description; a query
parameter that changes with the QR keeps the browser from showing a cached, older one.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import CONNECTION_PAIRING_STOPPED, DOMAIN, ISSUE_PAIRING
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .pairing import pairing_qr_entity_id

# The issue's data: which account is waiting to be linked.
DATA_ENTRY_ID = "entry_id"
PROGRESS_SCAN_QR = "scan_qr"
PROGRESS_ENTER_CODE = "enter_code"
CONNECTION_OPEN = "open"

# What the dialog shows; a change of any of it is news for the waiting step.
type PairingView = tuple[str, bytes | None, str | None]


def pairing_view(coordinator: WhatsAppCoordinator) -> PairingView:
    """Return where the worker is with pairing: its connection, QR and code ("gone" without a worker)."""
    data = coordinator.data
    if not data.worker_connected or data.status is None:
        return ("gone", None, None)
    status = data.status
    return (status.connection, status.pairing_qr_image, status.pairing_code)


class PairingRepairFlow(RepairsFlow):
    """Shows the current QR code (or pairing code) and finishes once the phone is linked."""

    def __init__(self, entry_id: str | None) -> None:
        """Follow one account's pairing (the issue names the entry)."""
        self._entry_id = entry_id
        self._shown: PairingView | None = None

    def _coordinator(self) -> WhatsAppCoordinator | None:
        entries: list[WhatsAppConfigEntry] = [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED and self._entry_id in (None, entry.entry_id)
        ]
        return entries[0].runtime_data.coordinator if len(entries) == 1 else None

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Open the dialog on the current QR or code."""
        if (coordinator := self._coordinator()) is None:
            return self.async_abort(reason="not_loaded")
        connection = pairing_view(coordinator)[0]
        if connection == CONNECTION_OPEN:
            return self.async_abort(reason="already_linked")
        if connection != "pairing":
            return self.async_abort(reason="not_pairing")
        return await self.async_step_link()

    async def async_step_link(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Show the QR (or code) the worker has now; run again at its next news."""
        if (coordinator := self._coordinator()) is None:
            return self.async_show_progress_done(next_step_id="not_pairing")
        view = pairing_view(coordinator)
        connection, qr_image, code = view
        if connection == CONNECTION_OPEN:
            return self.async_show_progress_done(next_step_id="linked")
        if connection in ("gone", CONNECTION_PAIRING_STOPPED, "logged-out"):
            return self.async_show_progress_done(next_step_id="not_pairing")
        # Connecting or closed between two QR codes: keep showing the last one, and wait.
        self._shown = view
        placeholders = {"qr": self._qr_markdown(coordinator, qr_image), "code": code or ""}
        return self.async_show_progress(
            step_id="link",
            progress_action=PROGRESS_ENTER_CODE if code else PROGRESS_SCAN_QR,
            description_placeholders=placeholders,
            # A background task: it waits on the worker, which HA's own waiting for its tasks
            # (at shutdown, or `async_block_till_done`) must not wait for.
            progress_task=self.hass.async_create_background_task(
                _async_news(coordinator, view), name=f"{DOMAIN} pairing dialog {self.flow_id}"
            ),
        )

    def _qr_markdown(self, coordinator: WhatsAppCoordinator, qr_image: bytes | None) -> str:
        entity_id = pairing_qr_entity_id(self.hass, coordinator.config_entry.entry_id)
        state = self.hass.states.get(entity_id)
        picture = state.attributes.get("entity_picture") if state is not None else None
        if qr_image is None or not isinstance(picture, str):
            return ""
        version = hashlib.sha256(qr_image).hexdigest()[:12]
        return f"![QR code]({picture}&qr={version})"

    async def async_step_linked(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Say that the phone is linked; closing the dialog fixes the issue.

        A form, not the end at once: HA runs the steps after a progress step by itself (the loop
        over SHOW_PROGRESS_DONE in FlowManager.async_configure), and a flow that ended there would be
        gone before the dialog fetched it again.
        """
        if user_input is not None:
            return self.async_create_entry(data={})
        return self.async_show_form(step_id="linked")

    async def async_step_not_pairing(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """End the dialog: the worker stopped pairing or went away, nothing to scan now."""
        return self.async_abort(reason="not_pairing")


async def _async_news(coordinator: WhatsAppCoordinator, shown: PairingView) -> None:
    """Return once what the dialog shows is out of date."""
    changed = asyncio.Event()

    def check() -> None:
        if pairing_view(coordinator) != shown:
            changed.set()

    remove = coordinator.async_add_listener(check)
    try:
        check()
        await changed.wait()
    finally:
        remove()


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None) -> RepairsFlow:
    """Return the fix flow of a fixable issue: only an account's pairing issue is (its data names the entry)."""
    if issue_id.startswith(f"{ISSUE_PAIRING}_"):
        entry_id = data.get(DATA_ENTRY_ID) if data else None
        return PairingRepairFlow(entry_id if isinstance(entry_id, str) else None)
    return ConfirmRepairFlow()
