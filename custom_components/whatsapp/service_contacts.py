"""The services' contact fields list the accounts' people by name, and still take a typed number.

services.yaml gives `refresh_avatar.jid` and `link_person.contact` a text box: right before any
directory is known. Once one is, the description of those services is set again at run time
(homeassistant/helpers/service.py, 2026.10.4: `async_set_service_schema` replaces the cached
description and drops the all-services cache, so the next `get_services` carries it; core's
notify/legacy.py does the same with its services.yaml fields), with a select of the contacts
(picker.service_field_subjects: by name first, then by number, bounded). The select is
`custom_value`, so a number (`+49 151 …`) or a JID typed into it is sent as typed, and normalised
by the service as before. The frontend Home Assistant 2026.10.4 ships (home-assistant-frontend
20260930.5, ha-selector-select) shows such a select as its generic picker with `no-sort`, in our
order, and filters it by every typed word against the label and the value
(src/components/ha-picker-combo-box.ts and src/resources/fuseMultiTerm.ts, home-assistant/frontend
85b2ca3), so "+49 151 1234567" finds "Anna (+491511234567)". Once picked, the field shows the
value (the JID): that picker has no label renderer for a custom-value select.

It follows each account's snapshot and sets the descriptions again only when a directory or the
favourites changed (the snapshot's directory is a new object only then), and only when the list
differs, not at every message. A browser that is open already keeps the list it loaded until it
reloads the page: the frontend fetches descriptions again only when a service is registered
(home-assistant-js-websocket 9.7.0, services.js).
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from dataclasses import dataclass
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.selector import SelectOptionDict, validate_selector
from homeassistant.helpers.service import async_set_service_schema
from homeassistant.loader import async_get_integration
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import load_yaml_dict

from .const import DOMAIN, SERVICE_LINK_PERSON, SERVICE_REFRESH_AVATAR
from .coordinator import WhatsAppCoordinator
from .models import DirectoryEntry
from .person_services import ATTR_CONTACT
from .picker import service_field_subjects
from .services import ATTR_JID


@dataclass(frozen=True, kw_only=True)
class ContactField:
    """A service field that names one contact (or group)."""

    service: str
    field: str
    # A person is linked to a contact, never to a group.
    kinds: frozenset[str]


CONTACT_FIELDS = (
    ContactField(service=SERVICE_REFRESH_AVATAR, field=ATTR_JID, kinds=frozenset({"contact", "group"})),
    ContactField(service=SERVICE_LINK_PERSON, field=ATTR_CONTACT, kinds=frozenset({"contact"})),
)

CONTACT_FIELDS_KEY: HassKey[ServiceContactFields] = HassKey(f"{DOMAIN}_service_contact_fields")


def contact_selector(options: list[SelectOptionDict]) -> dict[str, Any]:
    """Return the select a contact field shows: these people, or any number or JID typed."""
    return validate_selector({"select": {"options": options, "custom_value": True, "mode": "dropdown", "sort": False}})


def _load_services_yaml(path: str) -> dict[str, Any]:
    """Return services.yaml with each field's selector in the form HA's own loading gives it.

    (homeassistant/helpers/service.py, 2026.10.4, `_load_services_file`: `text:` becomes
    `{"text": {"multiline": False, "multiple": False}}`), so a description set again reads as
    the one it replaces.
    """
    services = load_yaml_dict(path)
    for description in services.values():
        for field in (description or {}).get("fields", {}).values():
            if "selector" in field:
                field["selector"] = validate_selector(field["selector"])
    return services


class ServiceContactFields:
    """Keeps the contact fields' options in step with every loaded account's directory."""

    def __init__(self, hass: HomeAssistant, services_yaml: Mapping[str, Any]) -> None:
        """Start from services.yaml, as HA described the services at start."""
        self._hass = hass
        self._services_yaml = services_yaml
        self._accounts: dict[str, WhatsAppCoordinator] = {}
        # What each account's list was last made from, by identity (the snapshot's directory is
        # replaced, never changed in place) and the favourites.
        self._seen: dict[str, tuple[Mapping[str, DirectoryEntry], tuple[str, ...]]] = {}
        # What each service's field lists now; empty: services.yaml's text box.
        self._listed: dict[str, list[SelectOptionDict]] = {}

    @callback
    def async_follow(self, coordinator: WhatsAppCoordinator) -> CALLBACK_TYPE:
        """List this account's contacts too, until the returned callback (its entry unloads)."""
        entry_id = coordinator.config_entry.entry_id
        self._accounts[entry_id] = coordinator
        stop_listening = coordinator.async_add_listener(self._async_account_changed)
        self._async_account_changed()

        @callback
        def stop() -> None:
            stop_listening()
            self._accounts.pop(entry_id, None)
            self._seen.pop(entry_id, None)
            self._async_refresh()

        return stop

    @callback
    def _async_account_changed(self) -> None:
        changed = False
        for entry_id, coordinator in self._accounts.items():
            data = coordinator.data
            seen = self._seen.get(entry_id)
            if seen is None or seen[0] is not data.directory or seen[1] != data.favourites:
                self._seen[entry_id] = (data.directory, data.favourites)
                changed = True
        if changed:
            self._async_refresh()

    @callback
    def _async_refresh(self) -> None:
        accounts = [(directory, favourites) for directory, favourites in self._seen.values()]
        for contact_field in CONTACT_FIELDS:
            subjects = service_field_subjects(accounts, contact_field.kinds)
            options = [SelectOptionDict(value=entry.jid, label=entry.label) for entry in subjects]
            if options == self._listed.get(contact_field.service, []):
                continue
            self._listed[contact_field.service] = options
            description: dict[str, Any] = copy.deepcopy(dict(self._services_yaml[contact_field.service]))
            if options:
                description["fields"][contact_field.field]["selector"] = contact_selector(options)
            async_set_service_schema(self._hass, DOMAIN, contact_field.service, description)


async def async_setup_contact_fields(hass: HomeAssistant) -> None:
    """Read services.yaml once (in the executor), for the descriptions set again later."""
    integration = await async_get_integration(hass, DOMAIN)
    services_yaml = await hass.async_add_executor_job(_load_services_yaml, str(integration.file_path / "services.yaml"))
    hass.data[CONTACT_FIELDS_KEY] = ServiceContactFields(hass, services_yaml)


@callback
def async_follow_contacts(hass: HomeAssistant, coordinator: WhatsAppCoordinator) -> CALLBACK_TYPE:
    """List an account's contacts in the services' contact fields while its entry is loaded."""
    return hass.data[CONTACT_FIELDS_KEY].async_follow(coordinator)
