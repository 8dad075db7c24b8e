"""The service `whatsapp.purge_avatars`: the worker removes the pictures no contact or group uses any more.

The worker decides what is unused (it alone knows its files); favourites, and every subject HA
subscribes to, are never removed. The answer says how many files and bytes went.
"""

from __future__ import annotations

import probatio as vol

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import service

from .const import DOMAIN, PURGE_AVATARS_TIMEOUT_SECONDS, SERVICE_PURGE_AVATARS
from .coordinator import WhatsAppConfigEntry

PURGE_AVATARS_SCHEMA = vol.Schema({})


async def _purge_avatars(call: ServiceCall) -> ServiceResponse:
    # Core's helper (homeassistant/helpers/service.py, HA 2026.10.4): a translated
    # ServiceValidationError when there is no entry, or it is not loaded.
    entry: WhatsAppConfigEntry = service.async_get_config_entry(call.hass, DOMAIN, None)
    response = await entry.runtime_data.coordinator.link.async_call(
        SERVICE_PURGE_AVATARS, {}, PURGE_AVATARS_TIMEOUT_SECONDS
    )
    return response if call.return_response else None


@callback
def async_setup_purge_service(hass: HomeAssistant) -> None:
    """Register the service once, in async_setup, beside the refresh services."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_PURGE_AVATARS,
        _purge_avatars,
        schema=PURGE_AVATARS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
