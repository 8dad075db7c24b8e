"""The pairing repair's fix flow: the current QR (or code) in the dialog, followed until the phone is linked."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.whatsapp.account_issues import account_issue_id
from custom_components.whatsapp.const import DOMAIN, ISSUE_PAIRING
from custom_components.whatsapp.linking import shown_pairing_code
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from .common import PNG_QR_A, PNG_QR_B, pairing_status, status_payload
from .conftest import ENTRY_ID, FakeWorker

QR_ENTITY = "image.whatsapp_pairing_qr_code"
FIX_URL = "/api/repairs/issues/fix"
# The one account's pairing issue (its id carries the entry's).
PAIRING_ISSUE = account_issue_id(ISSUE_PAIRING, ENTRY_ID)


async def _send_status(hass: HomeAssistant, worker: FakeWorker, **payload: Any) -> None:
    await worker.accepted("whatsapp/status", **payload)
    await hass.async_block_till_done()


@pytest.fixture
async def repairs(hass: HomeAssistant) -> None:
    """Load the repairs integration (its HTTP views) before any client freezes HA's router."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})


async def _start_fix(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, issue_id: str = PAIRING_ISSUE
) -> tuple[Any, dict[str, Any]]:
    # The repairs integration finds the fix flows of integrations loaded after it by this event.
    hass.bus.async_fire(EVENT_COMPONENT_LOADED, {"component": DOMAIN})
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.post(FIX_URL, json={"handler": DOMAIN, "issue_id": issue_id})
    assert response.status == 200, await response.text()
    return client, await response.json()


async def _choose(client: Any, step: dict[str, Any], option: str) -> dict[str, Any]:
    """Pick one of the dialog's menu options, as the frontend posts it."""
    assert step["type"] == "menu", step
    assert step["menu_options"] == ["link", "phone_number"]
    response = await client.post(f"{FIX_URL}/{step['flow_id']}", json={"next_step_id": option})
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def _current_step(client: Any, flow_id: str) -> dict[str, Any]:
    response = await client.get(f"{FIX_URL}/{flow_id}")
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


async def test_the_dialog_shows_the_qr_follows_it_and_finishes_when_linked(
    hass: HomeAssistant, repairs: None, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The QR of the image entity in the dialog; a new QR is announced to the frontend; linked ends it."""
    await _send_status(hass, worker, **pairing_status(PNG_QR_A))
    client, step = await _start_fix(hass, hass_client)
    step = await _choose(client, step, "link")
    assert step["type"] == "progress", step
    assert step["step_id"] == "link"
    assert step["progress_action"] == "scan_qr"
    picture = hass.states.get(QR_ENTITY).attributes["entity_picture"]
    first_qr = step["description_placeholders"]["qr"]
    assert first_qr.startswith(f"![QR code]({picture}&qr=")
    # The image in the dialog is the QR itself, fetched as the browser does.
    url = first_qr.removeprefix("![QR code](").removesuffix(")")
    fetched = await client.get(url)
    assert fetched.status == 200
    assert await fetched.read() == PNG_QR_A

    progressed: list[Event] = []
    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, progressed.append)
    await _send_status(hass, worker, **pairing_status(PNG_QR_B))
    step = await _current_step(client, step["flow_id"])
    assert step["type"] == "progress"
    assert step["description_placeholders"]["qr"] != first_qr
    assert [event.data["flow_id"] for event in progressed] == [step["flow_id"]]
    url = step["description_placeholders"]["qr"].removeprefix("![QR code](").removesuffix(")")
    assert await (await client.get(url)).read() == PNG_QR_B
    # A status repeated for another reason (the queue) is no news for the dialog.
    await _send_status(hass, worker, **pairing_status(PNG_QR_B) | {"queue_length": 3})
    assert len(progressed) == 1

    await _send_status(hass, worker, **status_payload())
    step = await _current_step(client, step["flow_id"])
    assert step["type"] == "form"
    assert step["step_id"] == "linked"
    assert ir.async_get(hass).async_get_issue(DOMAIN, PAIRING_ISSUE) is None
    response = await client.post(f"{FIX_URL}/{step['flow_id']}", json={})
    assert (await response.json())["type"] == "create_entry"


async def test_the_dialog_offers_the_pairing_code(
    hass: HomeAssistant, repairs: None, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """A worker with a phone number configured pairs by code: the dialog shows the code, and a new one."""
    await _send_status(hass, worker, **pairing_status(PNG_QR_A, code="ABCD1234"))
    client, step = await _start_fix(hass, hass_client)
    assert step["type"] == "progress", "no choice: the worker links by code already"
    assert step["progress_action"] == "enter_code"
    assert step["description_placeholders"]["code"] == "ABCD-1234"
    await _send_status(hass, worker, **pairing_status(PNG_QR_A, code="WXYZ5678"))
    step = await _current_step(client, step["flow_id"])
    assert step["description_placeholders"]["code"] == "WXYZ-5678"


async def test_the_dialog_links_with_a_phone_number_instead(
    hass: HomeAssistant, repairs: None, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The choice: a number (the one phone rule), the worker's code shown as XXXX-XXXX, linked ends it."""
    await _send_status(hass, worker, **pairing_status(PNG_QR_A))
    client, step = await _start_fix(hass, hass_client)
    step = await _choose(client, step, "phone_number")
    assert step["type"] == "form", step
    assert step["step_id"] == "phone_number"
    url = f"{FIX_URL}/{step['flow_id']}"

    refused = await (await client.post(url, json={"phone_number": "0170 1234567"})).json()
    assert refused["type"] == "form"
    assert refused["errors"] == {"phone_number": "invalid_phone_number"}

    answered = hass.async_create_task(client.post(url, json={"phone_number": "+49 170 123-4567"}))
    event = await worker.next_event()
    assert {key: event[key] for key in ("type", "service", "data")} == {
        "type": "call",
        "service": "pairing_code",
        "data": {"phone_number": "491701234567"},
    }
    result = await worker.command("whatsapp/call_result", call_id=event["call_id"], ok=True, response={"code": "FGW6TC92"})
    assert result["success"], result
    step = await (await answered).json()
    assert step["type"] == "progress", step
    assert step["progress_action"] == "enter_code"
    assert step["description_placeholders"] == {"qr": "", "code": "FGW6-TC92"}

    # The worker's status catches up with the code; then the phone enters it.
    await _send_status(hass, worker, **pairing_status(None, code="FGW6TC92", qr=None))
    step = await _current_step(client, step["flow_id"])
    assert step["description_placeholders"]["code"] == "FGW6-TC92"
    await _send_status(hass, worker, **status_payload())
    step = await _current_step(client, step["flow_id"])
    assert step["type"] == "form"
    assert step["step_id"] == "linked"


async def test_the_dialog_says_when_no_pairing_code_came(
    hass: HomeAssistant, repairs: None, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """A worker that refuses the code (not waiting to be linked any more) leaves the form, with a clear error."""
    await _send_status(hass, worker, **pairing_status(PNG_QR_A))
    client, step = await _start_fix(hass, hass_client)
    step = await _choose(client, step, "phone_number")
    answered = hass.async_create_task(
        client.post(f"{FIX_URL}/{step['flow_id']}", json={"phone_number": "491701234567"})
    )
    event = await worker.next_event()
    error = {"code": "not_connected", "message": "the account is open, not waiting to be linked"}
    await worker.command("whatsapp/call_result", call_id=event["call_id"], ok=False, error=error)
    step = await (await answered).json()
    assert step["type"] == "form"
    assert step["errors"] == {"base": "pairing_code_refused"}


async def test_the_dialog_closes_when_the_worker_goes(
    hass: HomeAssistant, repairs: None, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """A worker that disconnects mid-pairing leaves nothing to scan: the flow ends, saying so."""
    await _send_status(hass, worker, **pairing_status(PNG_QR_A))
    client, step = await _start_fix(hass, hass_client)
    await worker.close()
    await hass.async_block_till_done()
    step = await _current_step(client, step["flow_id"])
    assert step["type"] == "abort"
    assert step["reason"] == "not_pairing"


def test_a_pairing_code_is_shown_as_the_phone_shows_it() -> None:
    """Eight characters in two groups of four; a code of another length as it came."""
    assert shown_pairing_code("FGW6TC92") == "FGW6-TC92"
    assert shown_pairing_code("FGW6TC9") == "FGW6TC9"
