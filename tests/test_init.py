"""Setup, unload and reload of the entry."""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp.const import DOMAIN
from custom_components.whatsapp.store import PictureStore
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .common import ANNA, BERT, status_payload
from .conftest import FakeWorker, setup_entry


async def test_setup_and_unload(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The entry loads without a worker and unloads cleanly."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.services.has_service(DOMAIN, "refresh_avatar")
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_worker_connects(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A subscribed worker turns the liveness sensor on."""
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "on"


async def test_reload_takes_over_the_open_subscription_and_asks_for_everything(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A reload keeps the worker connected: the new entry holds its open subscription at once.

    It sends the favourites and asks the worker to resend status, directory and pictures, and
    service calls go down the same subscription, without the worker sending anything first.
    """
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "on"
    assert await worker.next_event() == {"type": "favourites", "jids": [ANNA]}
    assert await worker.next_event() == {"type": "resend"}

    task = hass.async_create_task(
        hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
    )
    call = await worker.next_event()
    assert call["service"] == "refresh_avatars"
    response = {"scope": "missing", "queued": 0, "matched": 0, "queue_length": 0, "eta_seconds": None}
    result = await worker.command("whatsapp/call_result", call_id=call["call_id"], ok=True, response=response)
    assert result["success"], result
    assert await task == response

    # What the worker resends lands in the loaded entry.
    assert (await worker.command("whatsapp/status", **status_payload()))["success"]
    await hass.async_block_till_done()
    assert hass.states.get("sensor.whatsapp_queue_length").state == "12"


async def test_reload_keeps_the_worker_version(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """The worker says hello once per connection, not after a reload: its device keeps the version."""
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, init_integration.entry_id), init_integration.entry_id
    )
    assert device is not None
    assert device.sw_version == "0.1.0-test"


async def test_worker_that_left_while_unloaded_is_not_taken_over(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A socket that closed while no entry was loaded leaves nothing to take over."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await worker.close()
    await hass.async_block_till_done()
    await setup_entry(hass, init_integration)
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"


async def test_hello_records_version_on_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """Hello records version on device."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, init_integration.entry_id), init_integration.entry_id)
    assert device.sw_version == "0.1.0-test"


async def test_favourites_that_are_not_jids_are_ignored(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Options edited by hand: a value that is not exactly a JID never becomes an entity or a file."""
    entry = MockConfigEntry(domain=DOMAIN, options={"favourites": [ANNA, f"{BERT}\n", "../x", 5]})
    await setup_entry(hass, entry)
    assert entry.runtime_data.coordinator.data.favourites == (ANNA,)
    assert "not contact or group JIDs" in caplog.text
    ids = {e.unique_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}
    assert f"{ANNA}_picture" in ids
    assert not any("\n" in unique_id or "../" in unique_id for unique_id in ids)


async def test_picture_store_refuses_a_name_that_is_not_a_jid(hass: HomeAssistant) -> None:
    """The last guard before a JID becomes part of a file name in .storage."""
    store = PictureStore(hass)
    for bad in (f"{ANNA}\n", "../../etc/passwd", ""):
        with pytest.raises(ValueError, match="not a contact or group JID"):
            await store.async_load(bad)
