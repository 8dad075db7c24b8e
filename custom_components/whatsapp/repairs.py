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

While a QR shows, the dialog opens on a choice: scan it, or link with a phone number instead. The
number (the one phone rule, services.phone_number_digits) goes to the worker as a `pairing_code`
call; the worker reconnects to ask WhatsApp for a code for it (Baileys `requestPairingCode`) and
answers with it. The dialog then shows the code as the phone shows it (XXXX-XXXX) and follows the
pairing as with the QR. A worker started with a phone number shows its code without the choice.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import probatio as vol

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import (
    CALL_PAIRING_CODE,
    CONNECTION_PAIRING_STOPPED,
    DOMAIN,
    ISSUE_PAIRING,
    LOGGER,
)
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .pairing import pairing_qr_entity_id
from .services import phone_number_digits

# The issue's data: which account is waiting to be linked.
DATA_ENTRY_ID = "entry_id"
PROGRESS_SCAN_QR = "scan_qr"
PROGRESS_ENTER_CODE = "enter_code"
CONNECTION_OPEN = "open"
CONF_PHONE_NUMBER = "phone_number"
# The worker waits up to 60 s for WhatsApp's code (worker/src/wa/baileys/account.ts
# PAIRING_CODE_WAIT_MS); HA waits a little longer, so the worker's own refusal arrives first.
PAIRING_CODE_CALL_TIMEOUT_SECONDS = 75
# WhatsApp's pairing codes are 8 characters, shown on the phone in two groups of four.
PAIRING_CODE_GROUP = 4

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
        # The code the worker answered the dialog's `pairing_code` call with, until its status has it.
        self._requested_code: str | None = None

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
        if pairing_view(coordinator)[2] is None:
            return self.async_show_menu(step_id="init", menu_options=["link", CONF_PHONE_NUMBER])
        return await self.async_step_link()

    async def async_step_phone_number(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask for the phone number, and the worker for a pairing code for it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            digits = phone_number_digits(user_input[CONF_PHONE_NUMBER])
            if digits is None:
                errors[CONF_PHONE_NUMBER] = "invalid_phone_number"
            elif (coordinator := self._coordinator()) is None:
                return self.async_abort(reason="not_loaded")
            else:
                try:
                    response = await coordinator.link.async_call(
                        CALL_PAIRING_CODE, {CONF_PHONE_NUMBER: digits}, PAIRING_CODE_CALL_TIMEOUT_SECONDS
                    )
                except HomeAssistantError as err:
                    LOGGER.warning("No pairing code for the linking dialog: %s", err)
                    errors["base"] = "pairing_code_refused"
                else:
                    self._requested_code = str(response["code"])
                    return await self.async_step_link()
        return self.async_show_form(
            step_id=CONF_PHONE_NUMBER,
            data_schema=vol.Schema({vol.Required(CONF_PHONE_NUMBER): str}),
            errors=errors,
        )

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
        # The code the dialog asked for stands until the worker's status shows it (or a newer one);
        # the QR of before is no longer the way to link then.
        code = code or self._requested_code
        qr = "" if self._requested_code is not None else self._qr_markdown(coordinator, qr_image)
        placeholders = {"qr": qr, "code": shown_pairing_code(code) if code else ""}
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


def shown_pairing_code(code: str) -> str:
    """Return a pairing code as the phone shows it: ABCD1234 as ABCD-1234 (other lengths as they are)."""
    if len(code) != 2 * PAIRING_CODE_GROUP:
        return code
    return f"{code[:PAIRING_CODE_GROUP]}-{code[PAIRING_CODE_GROUP:]}"


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
