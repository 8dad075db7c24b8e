"""Several WhatsApp accounts: one entry per worker, each connection bound to its worker's entry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp.accounts import CONF_SCOPE, CONF_WORKER_ID
from custom_components.whatsapp.const import CONF_FAVOURITES, DOMAIN
from custom_components.whatsapp.services import entry_for_call
from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntryDisabler,
)
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .common import ANNA, JPEG_A, JPEG_B, avatar_payload, status_payload
from .conftest import FakeWorker
from .test_services import REFRESH_AVATAR_RESPONSE, REFRESH_AVATARS_RESPONSE

WORKER_A = "aaaaaaaa-1111-4111-8111-111111111111"
WORKER_B = "bbbbbbbb-2222-4222-8222-222222222222"


def _discovery_flows(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def _second_account(hass: HomeAssistant, connect_worker: Any) -> tuple[FakeWorker, MockConfigEntry | Any]:
    """Connect worker B beside A, confirm the account HA offers for it, and subscribe it."""
    worker_b = await connect_worker(subscribe=False)
    refused = await worker_b.hello(worker_id=WORKER_B)
    assert refused["error"]["code"] == "not_set_up"
    assert "not set up yet" in refused["error"]["message"]
    await hass.async_block_till_done()
    (flow,) = _discovery_flows(hass)
    assert flow["step_id"] == "worker_confirm"
    assert flow["context"]["unique_id"] == WORKER_B
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry_b = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry_b is not None
    hass.config_entries.async_update_entry(entry_b, options={CONF_FAVOURITES: [ANNA]})
    await hass.async_block_till_done()
    # The worker's quiet retry: now its hello is answered and its subscription is the new entry's.
    assert (await worker_b.hello(worker_id=WORKER_B))["success"]
    assert await worker_b.subscribe() == [ANNA]
    await hass.async_block_till_done()
    return worker_b, entry_b


async def test_a_new_worker_becomes_a_second_account(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """The first worker claims the existing entry; a second is offered, confirmed, and gets its own entry."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    assert init_integration.unique_id == WORKER_A
    assert CONF_SCOPE not in init_integration.data
    worker_b, entry_b = await _second_account(hass, connect_worker)
    assert entry_b.unique_id == WORKER_B
    assert entry_b.data[CONF_WORKER_ID] == WORKER_B
    assert entry_b.title == "WhatsApp bbbbbbbb"
    assert len(entry_b.data[CONF_SCOPE]) == 12
    assert init_integration.runtime_data.coordinator.link.identity.worker_id == WORKER_A
    assert entry_b.runtime_data.coordinator.link.identity.worker_id == WORKER_B
    # The same contact in both accounts: two devices, two picture entities, one per account.
    registry = er.async_get(hass)
    pictures = {
        entity.config_entry_id: entity
        for entity in registry.entities.values()
        if entity.platform == DOMAIN and entity.unique_id.endswith(f"{ANNA}_picture")
    }
    assert set(pictures) == {init_integration.entry_id, entry_b.entry_id}
    assert pictures[init_integration.entry_id].unique_id == f"{ANNA}_picture"
    assert pictures[entry_b.entry_id].unique_id == f"{entry_b.data[CONF_SCOPE]}_{ANNA}_picture"
    devices = dr.async_get(hass)
    anna_devices = {
        entry.entry_id
        for entry in (init_integration, entry_b)
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        if any(identifier[1].endswith(ANNA) for identifier in device.identifiers)
    }
    assert anna_devices == {init_integration.entry_id, entry_b.entry_id}
    # Each worker's messages land in its own account only.
    await worker_a.accepted("whatsapp/avatar", **avatar_payload(ANNA, JPEG_A))
    await worker_b.accepted("whatsapp/avatar", **avatar_payload(ANNA, JPEG_B))
    await worker_b.accepted("whatsapp/status", **status_payload(queue_length=7))
    await hass.async_block_till_done()
    assert init_integration.runtime_data.coordinator.data.pictures[ANNA].content == JPEG_A
    assert entry_b.runtime_data.coordinator.data.pictures[ANNA].content == JPEG_B
    assert init_integration.runtime_data.coordinator.data.status is None
    assert entry_b.runtime_data.coordinator.data.status is not None
    assert entry_b.runtime_data.coordinator.data.status.queue_length == 7


async def test_a_connection_speaks_for_one_worker_only(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """After one worker's hello, a hello with another worker's id on the same connection is refused."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    refused = await worker_a.hello(worker_id=WORKER_B)
    assert refused["error"]["code"] == "already_subscribed"
    assert WORKER_A in refused["error"]["message"]
    # The connection still speaks for A, into A's entry.
    await worker_a.accepted("whatsapp/status", **status_payload(queue_length=3))
    assert init_integration.runtime_data.coordinator.data.status.queue_length == 3


@pytest.mark.parametrize(("first", "then"), [(None, WORKER_B), (WORKER_A, None)])
async def test_a_hello_cannot_add_or_drop_the_worker_id_on_its_connection(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any, first: str | None, then: str | None
) -> None:
    """A worker without an id stands for whichever entry there is; a later hello may not make it another worker."""
    worker = await connect_worker(worker_id=first)
    refused = await worker.hello(worker_id=then)
    assert refused["error"]["code"] == "already_subscribed"
    assert "belongs to" in refused["error"]["message"]
    # The connection still speaks for the first hello's worker, into the one entry.
    await worker.accepted("whatsapp/status", **status_payload(queue_length=5))
    assert init_integration.runtime_data.coordinator.data.status.queue_length == 5
    assert init_integration.unique_id == first


async def test_a_worker_without_an_id_is_refused_among_several_accounts(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A worker from before worker ids cannot say whose it is when there are two accounts."""
    await connect_worker(worker_id=WORKER_A)
    await _second_account(hass, connect_worker)
    anonymous = await connect_worker(subscribe=False)
    refused = await anonymous.hello()
    assert refused["error"]["code"] == "not_loaded"
    assert "worker_id" in refused["error"]["message"]


async def test_the_user_step_lists_the_waiting_workers(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """With an account set up, adding the integration offers the connected workers without an entry."""
    await connect_worker(worker_id=WORKER_A)
    waiting = await connect_worker(subscribe=False)
    assert (await waiting.hello(worker_id=WORKER_B))["error"]["code"] == "not_set_up"
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick_worker"
    options = result["data_schema"].schema[CONF_WORKER_ID].config["options"]
    assert [option["value"] for option in options] == [WORKER_B]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_WORKER_ID: WORKER_B})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == WORKER_B
    await hass.async_block_till_done()
    # The discovery flow of the same worker went with it.
    assert not _discovery_flows(hass)
    # Once the waiting worker's connection closes, it is no longer offered.
    third = await connect_worker(subscribe=False)
    assert (await third.hello(worker_id="cccccccc"))["error"]["code"] == "not_set_up"
    await third.close()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_waiting_worker"


def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> asyncio.Task[Any]:
    return hass.async_create_task(
        hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=True)
    )


async def test_services_act_on_the_account_chosen_and_refuse_an_ambiguous_call(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """With two accounts a call names its account; without one it is refused with a translated error."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    worker_b, entry_b = await _second_account(hass, connect_worker)
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
    assert refused.value.translation_key == "ambiguous_account"
    assert refused.value.translation_placeholders == {"accounts": "WhatsApp, WhatsApp bbbbbbbb"}
    assert "Several WhatsApp accounts are set up (WhatsApp, WhatsApp bbbbbbbb)" in str(refused.value)
    task = _call(hass, "refresh_avatars", {"config_entry_id": entry_b.entry_id, "scope": "all"})
    call = await worker_b.next_event()
    assert call["service"] == "refresh_avatars"
    assert call["data"]["scope"] == "all"
    response = {**REFRESH_AVATARS_RESPONSE, "scope": "all"}
    await worker_b.accepted("whatsapp/call_result", call_id=call["call_id"], ok=True, response=response)
    assert await task == response
    # A's worker got nothing: its next message is the answer to its own call.
    task = _call(hass, "refresh_avatar", {"config_entry_id": init_integration.entry_id, "jid": ANNA, "wait": 0})
    call = await worker_a.next_event()
    assert call["data"]["jid"] == ANNA
    await worker_a.accepted(
        "whatsapp/call_result",
        call_id=call["call_id"],
        ok=True,
        response=REFRESH_AVATAR_RESPONSE,
    )
    assert await task == REFRESH_AVATAR_RESPONSE
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "refresh_avatars", {"config_entry_id": "no-such-entry"}, blocking=True, return_response=True
        )
    assert refused.value.translation_key == "service_config_entry_not_found"


async def test_a_device_or_entity_names_its_account(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """entry_for_call, which every service uses: a device or entity of an account picks that account."""
    await connect_worker(worker_id=WORKER_A)
    _, entry_b = await _second_account(hass, connect_worker)
    registry = er.async_get(hass)
    picture_a = registry.async_get_entity_id("image", DOMAIN, f"{ANNA}_picture")
    picture_b = registry.async_get_entity_id("image", DOMAIN, f"{entry_b.data[CONF_SCOPE]}_{ANNA}_picture")
    assert picture_a is not None
    assert picture_b is not None
    device_b = registry.async_get(picture_b).device_id

    def account(data: dict[str, Any]) -> str:
        return entry_for_call(hass, ServiceCall(hass, DOMAIN, "refresh_avatar", data)).entry_id

    assert account({ATTR_ENTITY_ID: picture_a}) == init_integration.entry_id
    assert account({ATTR_ENTITY_ID: [picture_b]}) == entry_b.entry_id
    assert account({ATTR_DEVICE_ID: device_b}) == entry_b.entry_id
    with pytest.raises(ServiceValidationError) as refused:
        account({ATTR_ENTITY_ID: [picture_a, picture_b]})
    assert refused.value.translation_key == "targets_of_several_accounts"
    with pytest.raises(ServiceValidationError) as refused:
        account({ATTR_ENTITY_ID: "sensor.not_ours"})
    assert refused.value.translation_key == "not_a_whatsapp_target"
    with pytest.raises(ServiceValidationError) as refused:
        account({ATTR_DEVICE_ID: "no-such-device"})
    assert refused.value.translation_key == "not_a_whatsapp_target"
    # A disabled account does not count: the other is then the only one.
    await hass.config_entries.async_set_disabled_by(entry_b.entry_id, ConfigEntryDisabler.USER)
    await hass.async_block_till_done()
    assert account({}) == init_integration.entry_id


async def test_a_new_worker_can_take_over_an_account_whose_worker_is_away(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A reinstalled app has a new worker id: the user makes it the worker of the account it replaces."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    await worker_a.close()
    await hass.async_block_till_done()
    worker_b = await connect_worker(subscribe=False)
    assert (await worker_b.hello(worker_id=WORKER_B))["error"]["code"] == "not_set_up"
    await hass.async_block_till_done()
    (flow,) = _discovery_flows(hass)
    # What the form offers: a new account, or the account whose worker is away.
    shown = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data={CONF_WORKER_ID: "dddddddd"}
    )
    assert shown["step_id"] == "worker_confirm"
    options = shown["data_schema"].schema["account"].config["options"]
    assert [option["value"] for option in options] == ["new", init_integration.entry_id]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"account": init_integration.entry_id})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "worker_replaced"
    assert init_integration.unique_id == WORKER_B
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert (await worker_b.hello(worker_id=WORKER_B))["success"]
    assert await worker_b.subscribe() == [ANNA]
    assert init_integration.runtime_data.coordinator.link.identity.worker_id == WORKER_B
