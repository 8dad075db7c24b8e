"""The services' contact fields list the accounts' people by name, and still take a typed number."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.whatsapp import service_contacts
from custom_components.whatsapp.const import DOMAIN
from custom_components.whatsapp.picker import SERVICE_FIELD_OPTIONS_MAX
from homeassistant.core import HomeAssistant
from homeassistant.helpers.service import async_get_all_descriptions

from .common import (
    ANNA,
    BERT,
    GROUP,
    LID_USER,
    avatar_payload,
    directory_payload,
    status_payload,
)
from .conftest import FakeWorker
from .test_accounts import WORKER_A, _second_account
from .test_services import REFRESH_AVATAR_RESPONSE

# Two people called Anna apart by their number; one contact known by number only (LID_USER too).
ANNA_TWO = "491700000002@s.whatsapp.net"
NO_NAME = "491700000001@s.whatsapp.net"

# services.yaml's `text:`, as HA loads it.
TEXT_BOX = {"text": {"multiline": False, "multiple": False}}

ANNA_OPTION = ("Anna (+491701234567)", ANNA)
BERT_OPTION = ("Bert (+491709876543)", BERT)
# By name, whatever the case; equal names by number.
PEOPLE = [("anna (+491700000002)", ANNA_TWO), ANNA_OPTION, BERT_OPTION]


async def _field(hass: HomeAssistant, service: str, field: str) -> dict[str, Any]:
    field_description: dict[str, Any] = (await async_get_all_descriptions(hass))[DOMAIN][service]["fields"][field]
    return field_description


def _listed(field_description: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the (label, value) pairs a contact field's select lists, in order."""
    select = field_description["selector"]["select"]
    assert select["custom_value"] is True, "a typed number or JID is still accepted"
    assert select["mode"] == "dropdown"
    return [(option["label"], option["value"]) for option in select["options"]]


async def _push_directory(worker: FakeWorker, *entries: tuple[str, str | None], transfer_id: str = "t1") -> None:
    await worker.accepted("whatsapp/directory", **directory_payload(*entries, transfer_id=transfer_id))


async def test_before_any_directory_the_fields_are_text_boxes(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """With nothing known, services.yaml's text boxes stay."""
    assert (await _field(hass, "refresh_avatar", "jid"))["selector"] == TEXT_BOX
    assert (await _field(hass, "link_person", "contact"))["selector"] == TEXT_BOX


async def test_people_are_listed_by_name_then_number(
    hass: HomeAssistant, worker: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """Contacts (and groups for refresh_avatar) by name, equal names by number; those without a name after, by number."""
    await _push_directory(
        worker, (BERT, "Bert"), (GROUP, "Family"), (NO_NAME, None), (ANNA, "Anna"), (ANNA_TWO, "anna"), (LID_USER, None)
    )
    await hass.async_block_till_done()

    no_names = [(LID_USER, LID_USER), ("+491700000001", NO_NAME)]
    jid = await _field(hass, "refresh_avatar", "jid")
    assert _listed(jid) == [*PEOPLE, ("Family (120363012345678901@g.us)", GROUP), *no_names]
    assert jid["required"] is False
    contact = await _field(hass, "link_person", "contact")
    assert _listed(contact) == [*PEOPLE, *no_names], "a person is linked to a contact, not a group"
    assert contact["required"] is True
    # The rest of the description is services.yaml's: the target, the other fields.
    refresh = (await async_get_all_descriptions(hass))[DOMAIN]["refresh_avatar"]
    assert refresh["target"]["device"] == [{"integration": DOMAIN}]
    assert refresh["fields"]["wait"]["default"] == 30
    assert refresh["response"] == {"optional": True}

    # What the frontend loads for Developer Tools.
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "get_services"})
    services = (await client.receive_json())["result"]
    assert _listed(services[DOMAIN]["refresh_avatar"]["fields"]["jid"]) == _listed(jid)


async def test_a_typed_number_still_works(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A number typed with + and spaces (the select's custom value) reaches the worker as the JID."""
    await _push_directory(worker, (ANNA, "Anna"))
    await hass.async_block_till_done()
    assert _listed(await _field(hass, "refresh_avatar", "jid")) == [ANNA_OPTION]
    task = hass.async_create_task(
        hass.services.async_call(
            DOMAIN, "refresh_avatar", {"jid": "+49 170 987 6543", "wait": 0}, blocking=True, return_response=True
        )
    )
    call = await worker.next_event()
    assert call["data"]["jid"] == BERT, "a number not in the list, normalised"
    response = {**REFRESH_AVATAR_RESPONSE, "jid": BERT}
    await worker.accepted("whatsapp/call_result", call_id=call["call_id"], ok=True, response=response)
    assert await task == response


async def test_a_large_address_book_lists_the_favourites(hass: HomeAssistant, worker: FakeWorker) -> None:
    """More subjects than the bound: only the favourites (here Anna), not a slice of the alphabet."""
    many = [(f"4915{index:09d}@s.whatsapp.net", f"Aaron {index}" if index % 2 else None) for index in range(SERVICE_FIELD_OPTIONS_MAX)]
    await _push_directory(worker, *many, (ANNA, "Anna"))
    await hass.async_block_till_done()
    assert _listed(await _field(hass, "refresh_avatar", "jid")) == [ANNA_OPTION]
    # One fewer fits: every one is listed.
    await _push_directory(worker, *many[1:], (ANNA, "Anna"), transfer_id="t2")
    await hass.async_block_till_done()
    assert len(_listed(await _field(hass, "refresh_avatar", "jid"))) == SERVICE_FIELD_OPTIONS_MAX


async def test_set_again_when_the_directory_changes_not_at_every_message(
    hass: HomeAssistant, worker: FakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status or a picture leaves the descriptions alone; a new directory, or a new name, sets them."""
    set_for: list[str] = []
    real = service_contacts.async_set_service_schema

    def counting(hass: HomeAssistant, domain: str, service: str, schema: dict[str, Any]) -> None:
        set_for.append(service)
        real(hass, domain, service, schema)

    monkeypatch.setattr(service_contacts, "async_set_service_schema", counting)
    await _push_directory(worker, (ANNA, "Anna"), (GROUP, "Family"))
    await hass.async_block_till_done()
    assert sorted(set_for) == ["link_person", "refresh_avatar"]

    set_for.clear()
    await worker.accepted("whatsapp/status", **status_payload())
    await worker.accepted("whatsapp/avatar", **avatar_payload(ANNA, name="Anna"))
    await _push_directory(worker, (ANNA, "Anna"), (GROUP, "Family"), transfer_id="t2")
    await hass.async_block_till_done()
    assert set_for == [], "nothing the fields list changed"

    # The group is renamed: only refresh_avatar lists groups.
    await _push_directory(worker, (ANNA, "Anna"), (GROUP, "Family & friends"), transfer_id="t3")
    await hass.async_block_till_done()
    assert set_for == ["refresh_avatar"]
    assert _listed(await _field(hass, "refresh_avatar", "jid"))[1] == ("Family & friends (120363012345678901@g.us)", GROUP)


async def test_every_account_is_listed_while_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """Two accounts: both lists in one (a contact in both, once, by a name); an unloaded account's contacts go."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    worker_b, entry_b = await _second_account(hass, connect_worker)
    await _push_directory(worker_a, (ANNA, "Anna"), (BERT, None))
    await _push_directory(worker_b, (BERT, "Bert"), (ANNA, "Anna B."))
    await hass.async_block_till_done()
    assert _listed(await _field(hass, "link_person", "contact")) == [ANNA_OPTION, BERT_OPTION]

    assert await hass.config_entries.async_unload(entry_b.entry_id)
    await hass.async_block_till_done()
    assert _listed(await _field(hass, "link_person", "contact")) == [ANNA_OPTION, ("+491709876543", BERT)]
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert (await _field(hass, "link_person", "contact"))["selector"] == TEXT_BOX
