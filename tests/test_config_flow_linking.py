"""Adding the integration goes on to link the phone in the same dialog: the QR, followed until linked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.whatsapp.accounts import CONF_WORKER_ID
from custom_components.whatsapp.config_flow import SOURCE_LINK
from custom_components.whatsapp.const import CONF_FAVOURITES, DOMAIN
from custom_components.whatsapp.linking import WORKER_WAIT
from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntry,
    FlowType,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import (
    EVENT_DATA_ENTRY_FLOW_PROGRESSED,
    FlowResultType,
)
from homeassistant.setup import async_setup_component

from .common import PNG_QR_A, PNG_QR_B, pairing_status, status_payload
from .conftest import FakeWorker

WORKER_ID = "aaaaaaaa-1111-4111-8111-111111111111"
QR_ENTITY = "image.whatsapp_pairing_qr_code"


async def _add_integration(hass: HomeAssistant) -> tuple[ConfigEntry, str]:
    """Add the integration as the integrations page does; return the entry and the flow it goes on to."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    flow_type, flow_id = result["next_flow"]
    assert flow_type is FlowType.OPTIONS_FLOW
    assert hass.config_entries.options.async_get(flow_id)["context"]["source"] == SOURCE_LINK
    return result["result"], flow_id


async def _step(hass: HomeAssistant, flow_id: str) -> Any:
    """Fetch the dialog's current step, as the frontend does (GET runs the step again)."""
    await hass.async_block_till_done()
    return await hass.config_entries.options.async_configure(flow_id)


async def _worker_comes(hass: HomeAssistant, connect_worker: Any, status: dict[str, Any]) -> FakeWorker:
    """Connect the worker: hello, subscribe, and its first status."""
    worker: FakeWorker = await connect_worker(worker_id=WORKER_ID)
    await worker.accepted("whatsapp/status", **status)
    await hass.async_block_till_done()
    return worker


async def test_adding_the_integration_shows_the_qr_follows_it_and_finishes_when_linked(
    hass: HomeAssistant, connect_worker: Any
) -> None:
    """The dialog waits for the worker, offers its QR, follows the rotation and ends once the phone is linked."""
    entry, flow_id = await _add_integration(hass)
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.SHOW_PROGRESS
    assert step["progress_action"] == "wait_worker"

    worker = await _worker_comes(hass, connect_worker, pairing_status(PNG_QR_A))
    assert entry.unique_id == WORKER_ID
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.MENU
    assert step["step_id"] == "link_menu"
    assert step["menu_options"] == ["link", "phone_number"]
    step = await hass.config_entries.options.async_configure(flow_id, {"next_step_id": "link"})
    assert step["progress_action"] == "scan_qr"
    picture = hass.states.get(QR_ENTITY).attributes["entity_picture"]
    first_qr = step["description_placeholders"]["qr"]
    assert first_qr.startswith(f"![QR code]({picture}&qr=")

    progressed: list[Event] = []
    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, progressed.append)
    await worker.accepted("whatsapp/status", **pairing_status(PNG_QR_B))
    step = await _step(hass, flow_id)
    assert step["progress_action"] == "scan_qr"
    assert step["description_placeholders"]["qr"] not in ("", first_qr)
    assert [event.data["flow_id"] for event in progressed] == [flow_id]

    await worker.accepted("whatsapp/status", **status_payload())
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.FORM
    assert step["step_id"] == "linked"
    options = dict(entry.options)
    step = await hass.config_entries.options.async_configure(flow_id, {})
    assert step["type"] is FlowResultType.CREATE_ENTRY
    assert dict(entry.options) == options


async def test_the_dialog_links_with_a_phone_number_instead(hass: HomeAssistant, connect_worker: Any) -> None:
    """The other choice: a phone number, for which the worker's code shows as the phone shows it."""
    _, flow_id = await _add_integration(hass)
    worker = await _worker_comes(hass, connect_worker, pairing_status(PNG_QR_A))
    assert (await _step(hass, flow_id))["step_id"] == "link_menu"
    step = await hass.config_entries.options.async_configure(flow_id, {"next_step_id": "phone_number"})
    assert step["type"] is FlowResultType.FORM
    assert step["step_id"] == "phone_number"
    step = await hass.config_entries.options.async_configure(flow_id, {"phone_number": "12"})
    assert step["errors"] == {"phone_number": "invalid_phone_number"}

    answered = hass.async_create_task(hass.config_entries.options.async_configure(flow_id, {"phone_number": "+49 170 1234567"}))
    event = await worker.next_event()
    assert (event["service"], event["data"]) == ("pairing_code", {"phone_number": "491701234567"})
    await worker.accepted("whatsapp/call_result", call_id=event["call_id"], ok=True, response={"code": "FGW6TC92"})
    step = await answered
    assert step["progress_action"] == "enter_code"
    assert step["description_placeholders"] == {"qr": "", "code": "FGW6-TC92"}

    await worker.accepted("whatsapp/status", **status_payload())
    assert (await _step(hass, flow_id))["step_id"] == "linked"


async def test_a_new_options_dialog_takes_over_the_linking(hass: HomeAssistant, connect_worker: Any) -> None:
    """The frontend opens a new options flow for the `next_flow` of "Add integration": it links the phone too."""
    entry, flow_id = await _add_integration(hass)
    step = await hass.config_entries.options.async_init(entry.entry_id, context={"source": SOURCE_USER})
    assert step["type"] is FlowResultType.SHOW_PROGRESS
    assert step["progress_action"] == "wait_worker"
    # One dialog links the phone: the flow it took over from is gone.
    assert [flow["flow_id"] for flow in hass.config_entries.options.async_progress_by_handler(entry.entry_id)] == [
        step["flow_id"]
    ]
    assert flow_id != step["flow_id"]
    await _worker_comes(hass, connect_worker, pairing_status(PNG_QR_A))
    assert (await _step(hass, step["flow_id"]))["step_id"] == "link_menu"


async def test_a_worker_that_is_linked_already_ends_the_dialog_at_once(hass: HomeAssistant, connect_worker: Any) -> None:
    """A worker linked before (its data folder kept) comes and says so: nothing to scan."""
    _, flow_id = await _add_integration(hass)
    await _worker_comes(hass, connect_worker, status_payload())
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.FORM
    assert step["step_id"] == "linked"


async def test_removing_the_account_while_its_dialog_waits_ends_the_dialog(
    hass: HomeAssistant, connect_worker: Any
) -> None:
    """The account goes while the dialog waits for the worker: the dialog ends, nothing raises."""
    entry, flow_id = await _add_integration(hass)
    assert (await _step(hass, flow_id))["progress_action"] == "wait_worker"
    assert await hass.config_entries.async_remove(entry.entry_id)
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.ABORT
    assert step["reason"] == "not_pairing"


async def test_the_dialog_waits_for_a_worker_that_never_comes_and_offers_to_wait_again(
    hass: HomeAssistant, connect_worker: Any, freezer: FrozenDateTimeFactory
) -> None:
    """No worker within WORKER_WAIT: the dialog says so, and waiting again waits WORKER_WAIT more."""
    _, flow_id = await _add_integration(hass)
    assert (await _step(hass, flow_id))["progress_action"] == "wait_worker"
    freezer.tick(WORKER_WAIT - timedelta(seconds=1))
    async_fire_time_changed(hass)
    assert (await _step(hass, flow_id))["progress_action"] == "wait_worker"
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    step = await _step(hass, flow_id)
    assert step["type"] is FlowResultType.FORM
    assert step["step_id"] == "worker_missing"

    step = await hass.config_entries.options.async_configure(flow_id, {})
    assert step["progress_action"] == "wait_worker"
    freezer.tick(WORKER_WAIT - timedelta(seconds=1))
    async_fire_time_changed(hass)
    await _worker_comes(hass, connect_worker, pairing_status(PNG_QR_A))
    assert (await _step(hass, flow_id))["step_id"] == "link_menu"


async def test_the_one_waiting_worker_gets_the_entry(hass: HomeAssistant, connect_worker: Any) -> None:
    """No account yet, one worker waiting to be set up: "Add integration" is for it, and its offer goes."""
    # The integration is loaded without an entry (its last entry was deleted, say).
    assert await async_setup_component(hass, DOMAIN, {})
    waiting: FakeWorker = await connect_worker(subscribe=False)
    refused = await waiting.hello(worker_id=WORKER_ID)
    assert refused["error"]["code"] == "not_set_up"
    await hass.async_block_till_done()
    assert [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)] == [
        SOURCE_INTEGRATION_DISCOVERY
    ]
    entry, flow_id = await _add_integration(hass)
    assert entry.unique_id == WORKER_ID
    assert entry.data == {CONF_WORKER_ID: WORKER_ID}
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    # Its next hello (2 s later) is welcome, and the dialog shows its QR.
    assert (await waiting.hello(worker_id=WORKER_ID))["success"]
    await waiting.subscribe()
    await waiting.accepted("whatsapp/status", **pairing_status(PNG_QR_A))
    assert (await _step(hass, flow_id))["step_id"] == "link_menu"


async def test_the_favourites_dialog_of_a_linked_account_stays_as_it_was(
    hass: HomeAssistant, connect_worker: Any
) -> None:
    """Once linked, the options flow is the favourites picker again."""
    entry, flow_id = await _add_integration(hass)
    await _worker_comes(hass, connect_worker, status_payload())
    await hass.config_entries.options.async_configure(flow_id, {})
    step = await hass.config_entries.options.async_init(entry.entry_id, context={"source": SOURCE_USER})
    # No contacts reported yet: the picker says so, as it always did.
    assert step["type"] is FlowResultType.ABORT
    assert step["reason"] == "no_directory"
    assert CONF_FAVOURITES not in entry.options


async def test_configure_links_first_while_the_account_waits_to_be_linked(
    hass: HomeAssistant, connect_worker: Any
) -> None:
    """The dialog closed before linking: the integration's Configure opens on the QR or a phone number."""
    entry, flow_id = await _add_integration(hass)
    hass.config_entries.options.async_abort(flow_id)
    await _worker_comes(hass, connect_worker, pairing_status(PNG_QR_A))
    step = await hass.config_entries.options.async_init(entry.entry_id, context={"source": SOURCE_USER})
    assert step["type"] is FlowResultType.MENU
    assert step["step_id"] == "link_menu"
