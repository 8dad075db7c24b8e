"""Setup, unload and reload of the entry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp.const import DOMAIN

from .conftest import FakeWorker


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
