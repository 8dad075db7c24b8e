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
from homeassistant.helpers import config_validation as cv

from .const import DOMAIN, PURGE_AVATARS_TIMEOUT_SECONDS, SERVICE_PURGE_AVATARS
from .services import ATTR_CONFIG_ENTRY_ID, entry_for_call

PURGE_AVATARS_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


async def _purge_avatars(call: ServiceCall) -> ServiceResponse:
    # The account named, or the only one; an ambiguous call is refused (services.entry_for_call).
    entry = entry_for_call(call.hass, call)
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
