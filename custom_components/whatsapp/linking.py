"""Link the phone inside a dialog: the current QR (or code), followed until linked.

The steps are shared by the pairing repair's fix flow (repairs.py) and by the options flow that
"Add integration" goes on to while the new account's phone is not linked (config_flow.py), so
both dialogs behave alike, as people know it from WhatsApp Web.

The link step is a progress step. Its task waits for the worker's next pairing news (a new QR, a
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

A dialog right after "Add integration" comes before the worker does (it says hello again every
2 s while it waits to be set up, worker/src/ha/session.ts): that dialog waits for it, up to
WORKER_WAIT, and then offers to wait again. The repair's dialog is for a worker that was there:
when it goes, the dialog ends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import hashlib
from typing import Any

import probatio as vol

from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowContext, FlowHandler, FlowResult
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CALL_PAIRING_CODE, CONNECTION_PAIRING_STOPPED, DOMAIN, LOGGER
from .coordinator import WhatsAppCoordinator
from .pairing import pairing_qr_entity_id
from .services import phone_number_digits

PROGRESS_SCAN_QR = "scan_qr"
PROGRESS_ENTER_CODE = "enter_code"
PROGRESS_WAIT_WORKER = "wait_worker"
PROGRESS_WAIT_QR = "wait_qr"
CONNECTION_OPEN = "open"
CONNECTION_GONE = "gone"
CONF_PHONE_NUMBER = "phone_number"
MENU_SCAN_QR = "link"
# The worker waits up to 60 s for WhatsApp's code (worker/src/wa/baileys/account.ts
# PAIRING_CODE_WAIT_MS); HA waits a little longer, so the worker's own refusal arrives first.
PAIRING_CODE_CALL_TIMEOUT_SECONDS = 75
# WhatsApp's pairing codes are 8 characters, shown on the phone in two groups of four.
PAIRING_CODE_GROUP = 4
# How long the dialog after "Add integration" waits for a worker: one that runs says hello within
# 2 s of waiting to be set up, and one that was refused before the integration was loaded at all
# (`unknown_command`) retries within its longest backoff, 60 s and a fifth of jitter
# (worker/src/ha/bridge.ts DEFAULT_BRIDGE_TIMING). After that, the app is most likely not running.
WORKER_WAIT = timedelta(seconds=90)

# What the dialog shows; a change of any of it is news for the waiting step.
type PairingView = tuple[str, bytes | None, str | None]


def pairing_view(coordinator: WhatsAppCoordinator) -> PairingView:
    """Return where the worker is with pairing: its connection, QR and code ("gone" without a worker)."""
    data = coordinator.data
    if not data.worker_connected or data.status is None:
        return (CONNECTION_GONE, None, None)
    status = data.status
    return (status.connection, status.pairing_qr_image, status.pairing_code)


def shown_pairing_code(code: str) -> str:
    """Return a pairing code as the phone shows it: ABCD1234 as ABCD-1234 (other lengths as they are)."""
    if len(code) != 2 * PAIRING_CODE_GROUP:
        return code
    return f"{code[:PAIRING_CODE_GROUP]}-{code[PAIRING_CODE_GROUP:]}"


class PhoneLinkingSteps[ContextT: FlowContext, ResultT: FlowResult[Any, Any]](FlowHandler[ContextT, ResultT, str]):
    """The steps that show the current QR (or pairing code) and finish once the phone is linked.

    A flow mixes them in and says which account it follows (`_linking_coordinator`), how it ends
    once linked (`_async_linked_result`), and whether it waits for a worker that is not there.
    """

    # True: a missing worker is on its way (a new account); False: the dialog ends without it.
    _waits_for_worker = False
    _shown: PairingView | None = None
    # The code the worker answered the dialog's `pairing_code` call with, until its status has it.
    _requested_code: str | None = None
    # While no worker is connected: when the dialog stops waiting and offers to wait again.
    _worker_deadline: datetime | None = None
    # The step that offers the QR or a phone number, and whether this dialog offered it yet.
    _menu_step_id = "init"
    _menu_offered = False
    # What the running progress task waits on: the same view again needs no new task.
    _watching: tuple[PairingView, datetime | None] | None = None

    def _linking_coordinator(self) -> WhatsAppCoordinator | None:
        """Return the coordinator of the account being linked (None: not loaded)."""
        raise NotImplementedError

    def _async_linked_result(self) -> ResultT:
        """End the flow once the user closes the dialog on "linked"."""
        raise NotImplementedError

    async def _async_start_linking(self) -> ResultT:
        """Open the dialog: the choice of QR or phone number while a QR shows, else the link step."""
        if (coordinator := self._linking_coordinator()) is None:
            return self.async_abort(reason="not_loaded")
        connection, _, code = pairing_view(coordinator)
        if connection == CONNECTION_OPEN:
            return self.async_abort(reason="already_linked")
        if connection == "pairing" and code is None:
            self._menu_offered = True
            return self.async_show_menu(step_id=self._menu_step_id, menu_options=[MENU_SCAN_QR, CONF_PHONE_NUMBER])
        if connection != "pairing" and not self._waits_for_worker:
            return self.async_abort(reason="not_pairing")
        return await self.async_step_link()

    async def async_step_phone_number(self, user_input: dict[str, str] | None = None) -> ResultT:
        """Ask for the phone number, and the worker for a pairing code for it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            digits = phone_number_digits(user_input[CONF_PHONE_NUMBER])
            if digits is None:
                errors[CONF_PHONE_NUMBER] = "invalid_phone_number"
            elif (coordinator := self._linking_coordinator()) is None:
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

    async def async_step_link(self, user_input: dict[str, str] | None = None) -> ResultT:
        """Show the QR (or code) the worker has now, or wait for the worker; run again at its next news."""
        if (coordinator := self._linking_coordinator()) is None:
            return self.async_show_progress_done(next_step_id="not_pairing")
        view = pairing_view(coordinator)
        connection, qr_image, code = view
        if connection == CONNECTION_OPEN:
            return self.async_show_progress_done(next_step_id="linked")
        if connection == CONNECTION_GONE and self._waits_for_worker:
            return self._async_wait_for_worker(coordinator, view)
        self._worker_deadline = None
        if connection in (CONNECTION_GONE, CONNECTION_PAIRING_STOPPED, "logged-out"):
            return self.async_show_progress_done(next_step_id="not_pairing")
        # Connecting or closed between two QR codes: keep showing the last one, and wait.
        self._shown = view
        # The code the dialog asked for stands until the worker's status shows it (or a newer one);
        # the QR of before is no longer the way to link then.
        code = code or self._requested_code
        qr = "" if self._requested_code is not None else self._qr_markdown(coordinator, qr_image)
        if not qr and not code:
            # Connected, the first QR not there yet (the worker is still connecting to WhatsApp).
            return self._async_show_waiting(coordinator, view, PROGRESS_WAIT_QR, None)
        if not code and not self._menu_offered:
            # The first QR of a dialog that waited for it: the choice of QR or phone number first.
            return self.async_show_progress_done(next_step_id=self._menu_step_id)
        placeholders = {"qr": qr, "code": shown_pairing_code(code) if code else ""}
        return self.async_show_progress(
            step_id="link",
            progress_action=PROGRESS_ENTER_CODE if code else PROGRESS_SCAN_QR,
            description_placeholders=placeholders,
            progress_task=self._news_task(coordinator, view, None),
        )

    def _async_wait_for_worker(self, coordinator: WhatsAppCoordinator, view: PairingView) -> ResultT:
        now = dt_util.utcnow()
        if self._worker_deadline is None:
            self._worker_deadline = now + WORKER_WAIT
        elif now >= self._worker_deadline:
            return self.async_show_progress_done(next_step_id="worker_missing")
        return self._async_show_waiting(coordinator, view, PROGRESS_WAIT_WORKER, self._worker_deadline)

    def _async_show_waiting(
        self, coordinator: WhatsAppCoordinator, view: PairingView, action: str, deadline: datetime | None
    ) -> ResultT:
        return self.async_show_progress(
            step_id="link",
            progress_action=action,
            description_placeholders={"qr": "", "code": ""},
            progress_task=self._news_task(coordinator, view, deadline),
        )

    def _news_task(self, coordinator: WhatsAppCoordinator, view: PairingView, deadline: datetime | None) -> asyncio.Task[None]:
        # The frontend fetching the step again runs it again: the task that waits on the same
        # news goes on (HA registers a task once, data_entry_flow.FlowManager._async_handle_step).
        task = self.async_get_progress_task()
        if task is not None and not task.done() and self._watching == (view, deadline):
            return task
        self._watching = (view, deadline)
        # A background task: it waits on the worker, which HA's own waiting for its tasks (at
        # shutdown, or `async_block_till_done`) must not wait for.
        return self.hass.async_create_background_task(
            _async_news(self.hass, coordinator, view, deadline), name=f"{DOMAIN} linking dialog {self.flow_id}"
        )

    def _qr_markdown(self, coordinator: WhatsAppCoordinator, qr_image: bytes | None) -> str:
        entity_id = pairing_qr_entity_id(self.hass, coordinator.config_entry.entry_id)
        state = self.hass.states.get(entity_id)
        picture = state.attributes.get("entity_picture") if state is not None else None
        if qr_image is None or not isinstance(picture, str):
            return ""
        version = hashlib.sha256(qr_image).hexdigest()[:12]
        return f"![QR code]({picture}&qr={version})"

    async def async_step_worker_missing(self, user_input: dict[str, str] | None = None) -> ResultT:
        """Say that no worker came; submitting waits for it again."""
        if user_input is not None:
            self._worker_deadline = None
            return await self.async_step_link()
        return self.async_show_form(step_id="worker_missing")

    async def async_step_linked(self, user_input: dict[str, str] | None = None) -> ResultT:
        """Say that the phone is linked; closing the dialog finishes the flow.

        A form, not the end at once: HA runs the steps after a progress step by itself (the loop
        over SHOW_PROGRESS_DONE in FlowManager.async_configure), and a flow that ended there would be
        gone before the dialog fetched it again.
        """
        if user_input is not None:
            return self._async_linked_result()
        return self.async_show_form(step_id="linked")

    async def async_step_not_pairing(self, user_input: dict[str, str] | None = None) -> ResultT:
        """End the dialog: the worker stopped pairing or went away, nothing to scan now."""
        return self.async_abort(reason="not_pairing")


async def _async_news(
    hass: HomeAssistant, coordinator: WhatsAppCoordinator, shown: PairingView, deadline: datetime | None
) -> None:
    """Return once what the dialog shows is out of date, or the wait for the worker is over."""
    changed = asyncio.Event()

    @callback
    def check() -> None:
        if pairing_view(coordinator) != shown:
            changed.set()

    @callback
    def waited_long_enough(_now: datetime) -> None:
        changed.set()

    remove = coordinator.async_add_listener(check)
    cancel_deadline = async_track_point_in_utc_time(hass, waited_long_enough, deadline) if deadline else None
    try:
        check()
        await changed.wait()
    finally:
        remove()
        if cancel_deadline is not None:
            cancel_deadline()
