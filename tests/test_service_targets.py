"""`whatsapp.refresh_avatar` with a favourite's device or image entity as its target."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.whatsapp.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .common import ANNA, BERT
from .conftest import ENTRY_ID, FakeWorker


@pytest.fixture
def favourites() -> list[str]:
    """Anna and Bert are favourites."""
    return [ANNA, BERT]


def device_of(hass: HomeAssistant, identifier: str) -> str:
    """Return the device id of a favourite (by JID) or of the worker (by entry id)."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), ENTRY_ID)
    assert device is not None
    return device.id


def picture_of(hass: HomeAssistant, jid: str) -> str:
    """Return a favourite's image entity id."""
    entity_id = er.async_get(hass).async_get_entity_id("image", DOMAIN, f"{jid}_picture")
    assert entity_id is not None
    return entity_id


async def forwarded_jid(hass: HomeAssistant, worker: FakeWorker, data: dict[str, Any]) -> str:
    """Call refresh_avatar, answer as the worker does, and return the JID the worker was asked about."""
    task = hass.async_create_task(
        hass.services.async_call(DOMAIN, "refresh_avatar", {"wait": 0, **data}, blocking=True, return_response=True)
    )
    call = await worker.next_event()
    response = {"jid": call["data"]["jid"], "queued": True, "position": 1, "eta_seconds": 2, "outcome": None, "timed_out": False}
    assert (await worker.command("whatsapp/call_result", call_id=call["call_id"], ok=True, response=response))["success"]
    assert (await task)["jid"] == call["data"]["jid"]
    jid: str = call["data"]["jid"]
    return jid


async def test_a_favourites_device_or_picture_is_the_contact(
    hass: HomeAssistant, worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    """Device and image entity each stand for their contact; a typed number still works."""
    assert await forwarded_jid(hass, worker, {"device_id": device_of(hass, BERT)}) == BERT
    assert await forwarded_jid(hass, worker, {"entity_id": picture_of(hass, ANNA)}) == ANNA
    assert await forwarded_jid(hass, worker, {"jid": "+49 170 9876543"}) == BERT
    # A device is read through config_entry_id: core reports the deprecated config_entries shim
    # (stops working in 2027.10) at every use.
    assert "DeviceEntry.config_entries" not in caplog.text


async def refusal(hass: HomeAssistant, data: dict[str, Any]) -> ServiceValidationError:
    """Return what HA says to a refresh_avatar call it refuses before asking the worker."""
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "refresh_avatar", data, blocking=True, return_response=True)
    return refused.value


async def test_a_call_must_name_one_favourite(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Two, or a typed contact and a target: refused, with the count (nothing at all is a schema error)."""
    for data, count in (
        ({"device_id": [device_of(hass, ANNA), device_of(hass, BERT)]}, "2"),
        ({"jid": ANNA, "entity_id": picture_of(hass, BERT)}, "2"),
    ):
        error = await refusal(hass, data)
        assert (error.translation_key, error.translation_placeholders) == ("one_subject", {"count": count}), data


async def test_what_is_no_favourite_is_refused_by_name(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The worker's device, a sensor, or a device that is gone: refused, named."""
    worker_device = device_of(hass, ENTRY_ID)
    for data, named in (
        ({"device_id": worker_device}, "WhatsApp"),
        ({"device_id": "gone"}, "gone"),
        ({"entity_id": "sensor.whatsapp_queue_length"}, "sensor.whatsapp_queue_length"),
        ({"entity_id": "image.nothing_here"}, "image.nothing_here"),
    ):
        error = await refusal(hass, data)
        assert (error.translation_key, error.translation_placeholders) == ("not_a_favourite_target", {"target": named})
