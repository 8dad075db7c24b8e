"""Device triggers: a favourite's device offers "picture changed" and "picture removed".

They ride on the `whatsapp_avatar_updated` event the coordinator already fires for a favourite
whose picture really changed (the blueprint's event), matched on the device's JID and the new
state. The shape follows core's event-based device triggers (homeassistant/components/nanoleaf/
device_trigger.py, HA 2026.10.4): TRIGGER_SCHEMA, async_get_triggers, and async_attach_trigger
handing an event trigger to homeassistant/components/homeassistant/triggers/event.py.
"""

from __future__ import annotations

import probatio as vol

from homeassistant.components.device_automation import (
    DEVICE_TRIGGER_BASE_SCHEMA,
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .accounts import AccountSubject, subject_of_device
from .const import DOMAIN, EVENT_AVATAR_UPDATED

TRIGGER_PICTURE_CHANGED = "picture_changed"
TRIGGER_PICTURE_REMOVED = "picture_removed"
# The event's `state` for each trigger: a new picture is `fetched`, a removed one `none`.
STATE_BY_TRIGGER = {TRIGGER_PICTURE_CHANGED: "fetched", TRIGGER_PICTURE_REMOVED: "none"}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_DOMAIN): DOMAIN,
        vol.Required(CONF_DEVICE_ID): str,
        vol.Required(CONF_TYPE): vol.In(tuple(STATE_BY_TRIGGER)),
    }
)


def subject_of_device_id(hass: HomeAssistant, device_id: str) -> AccountSubject | None:
    """Return the account and JID a device stands for; None for the worker's device or another."""
    device = dr.async_get(hass).async_get(device_id)
    return None if device is None else subject_of_device(hass, device)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """Offer the picture triggers on a contact's or group's device (the worker's has none)."""
    if subject_of_device_id(hass, device_id) is None:
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: trigger_type}
        for trigger_type in STATE_BY_TRIGGER
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the device's account and JID in `whatsapp_avatar_updated` with the trigger's state."""
    subject = subject_of_device_id(hass, config[CONF_DEVICE_ID])
    if subject is None:
        raise InvalidDeviceAutomationConfig(
            f"Device {config[CONF_DEVICE_ID]} is not a WhatsApp contact or group"
        )
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            event_trigger.CONF_PLATFORM: CONF_EVENT,
            event_trigger.CONF_EVENT_TYPE: EVENT_AVATAR_UPDATED,
            event_trigger.CONF_EVENT_DATA: {
                # The same contact in two accounts is two devices: the account is matched too.
                "config_entry_id": subject.entry_id,
                "jid": subject.jid,
                "state": STATE_BY_TRIGGER[config[CONF_TYPE]],
            },
        }
    )
    return await event_trigger.async_attach_trigger(hass, event_config, action, trigger_info, platform_type="device")
