"""A service's `target:` (a favourite's device or image entity) turned into the contact's JID.

services.yaml's `target:` puts `device_id` and `entity_id` into the call's data
(homeassistant/helpers/config_validation.py ENTITY_SERVICE_FIELDS, HA 2026.10.4). A favourite's
device has the account's id prefix and the JID as its identifier (entity.py), and its image
entity the unique id `<prefix><jid>_picture` (coordinator.subject_unique_id); both are read from
the registries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .accounts import id_prefix, subject_of_device
from .const import DOMAIN
from .coordinator import subject_unique_id
from .jids import is_subject_jid

PICTURE_KEY = "picture"


def has_target(data: Mapping[str, Any]) -> bool:
    """Whether the call names a device or an entity."""
    return bool(data.get(ATTR_DEVICE_ID) or data.get(ATTR_ENTITY_ID))


def _refused(target: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_favourite_target",
        translation_placeholders={"target": target},
    )


def jids_of_target(hass: HomeAssistant, data: Mapping[str, Any]) -> set[str]:
    """Return the JIDs of the favourites' devices and image entities a call targets.

    Anything else (the worker's device, a sensor, another integration's entity) is refused by name.
    Which account they belong to is services.entry_for_call's business.
    """
    jids: set[str] = set()
    devices = dr.async_get(hass)
    for device_id in data.get(ATTR_DEVICE_ID) or []:
        device = devices.async_get(device_id)
        subject = subject_of_device(hass, device) if device is not None else None
        if subject is None:
            raise _refused(device.name_by_user or device.name or device_id if device is not None else device_id)
        jids.add(subject.jid)
    entities = er.async_get(hass)
    for entity_id in data.get(ATTR_ENTITY_ID) or []:
        entry = entities.async_get(entity_id)
        account = hass.config_entries.async_get_entry(entry.config_entry_id) if entry is not None and entry.config_entry_id else None
        prefix = id_prefix(account) if account is not None else ""
        jid = entry.unique_id.removeprefix(prefix).removesuffix(f"_{PICTURE_KEY}") if entry is not None else ""
        if (
            entry is None
            or account is None
            or entry.platform != DOMAIN
            or entry.domain != "image"
            or not is_subject_jid(jid)
            or entry.unique_id != subject_unique_id(jid, PICTURE_KEY, prefix=prefix)
        ):
            raise _refused(entity_id)
        jids.add(jid)
    return jids
