"""Device triggers: a favourite's device offers "picture changed" and "picture removed"."""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.common import (
    async_get_device_automations,
    async_mock_service,
)

from custom_components.whatsapp.const import DOMAIN
from custom_components.whatsapp.device_trigger import async_attach_trigger
from homeassistant.components import automation
from homeassistant.components.device_automation import (
    DeviceAutomationType,
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from .common import ANNA, BERT, JPEG_B, avatar_payload
from .conftest import ENTRY_ID, FakeWorker


@pytest.fixture
def favourites() -> list[str]:
    """Anna and Bert are favourites, each with a device."""
    return [ANNA, BERT]


def device_id_of(hass: HomeAssistant, identifier: str) -> str:
    """Return the id of the device with this identifier (a JID, or the entry id for the worker)."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), ENTRY_ID)
    assert device is not None, identifier
    return device.id


async def test_a_favourites_device_offers_the_picture_triggers(hass: HomeAssistant, worker: FakeWorker) -> None:
    """What the automation editor lists for a contact's device; the worker's device has none."""
    anna = device_id_of(hass, ANNA)
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, anna)
    ours = [trigger for trigger in triggers if trigger["domain"] == DOMAIN]
    assert sorted(trigger["type"] for trigger in ours) == ["picture_changed", "picture_removed"]
    assert all(trigger["device_id"] == anna and trigger["platform"] == "device" for trigger in ours)
    worker_device = device_id_of(hass, ENTRY_ID)
    worker_triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, worker_device)
    assert [trigger for trigger in worker_triggers if trigger["domain"] == DOMAIN] == []


async def test_the_triggers_fire_on_that_contacts_picture_change_only(hass: HomeAssistant, worker: FakeWorker) -> None:
    """An automation on Anna's device runs when her picture changes, not when Bert's does."""
    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    anna = device_id_of(hass, ANNA)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "triggers": {"platform": "device", "domain": DOMAIN, "device_id": anna, "type": trigger_type},
                    "actions": {"action": "test.automation", "data": {"fired": trigger_type}},
                }
                for trigger_type in ("picture_changed", "picture_removed")
            ]
        },
    )
    # Baselines (the first report is no change), then Bert changes: nothing for Anna's automations.
    await worker.accepted("whatsapp/avatar", **avatar_payload())
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert"))
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=JPEG_B))
    await hass.async_block_till_done()
    assert calls == []
    await worker.accepted("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await hass.async_block_till_done()
    assert [call.data["fired"] for call in calls] == ["picture_changed"]
    await worker.accepted("whatsapp/avatar", **avatar_payload(content=None, state="none"))
    await hass.async_block_till_done()
    assert [call.data["fired"] for call in calls] == ["picture_changed", "picture_removed"]


async def test_a_device_that_is_no_contact_is_refused(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Attaching to the worker's device (or one that went) says why."""
    for device_id in (device_id_of(hass, ENTRY_ID), "no-such-device"):
        with pytest.raises(InvalidDeviceAutomationConfig, match="not a WhatsApp contact or group"):
            await async_attach_trigger(
                hass,
                {"platform": "device", "domain": DOMAIN, "device_id": device_id, "type": "picture_changed"},
                lambda *_: None,
                {"domain": "automation", "name": "test", "home_assistant_start": False, "variables": {}, "trigger_data": {"id": "0", "idx": "0", "alias": None}},
            )
