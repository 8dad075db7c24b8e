"""The services `whatsapp.refresh_avatar` and `whatsapp.refresh_avatars`, forwarded to the worker.

Each acts on one account (config entry): the one named by `config_entry_id`, or the one of the
devices or entities given, or the only one; `entry_for_call` decides, for every service.
"""

from __future__ import annotations

import re
from typing import Any

import probatio as vol

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    service,
)

from .const import (
    CALL_RESPONSE_MARGIN_SECONDS,
    DEFAULT_FORCE,
    DEFAULT_REFRESH_SCOPE,
    DEFAULT_WAIT_SECONDS,
    DOMAIN,
    MAX_WAIT_SECONDS,
    REFRESH_AVATARS_TIMEOUT_SECONDS,
    REFRESH_SCOPES,
    SERVICE_REFRESH_AVATAR,
    SERVICE_REFRESH_AVATARS,
)
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .jids import is_subject_jid
from .targets import has_target, jids_of_target

ATTR_JID = "jid"
ATTR_FORCE = "force"
ATTR_WAIT = "wait"
ATTR_SCOPE = "scope"
# HA's own name for the field (homeassistant/helpers/service.py, 2026.10.4, and core's services
# with a `config_entry` selector, e.g. google_generative_ai_conversation).
ATTR_CONFIG_ENTRY_ID = "config_entry_id"

# The phone-number rule of worker/src/phone-number.ts, checked by both suites against
# tests/fixtures/phone-numbers.json: spaces, dashes, brackets and one leading + are how people
# write a number; what is left is 7 to 15 digits, country code first, no leading 0.
PHONE_NUMBER_SEPARATORS_RE = re.compile(r"[ ()\-]")
PHONE_NUMBER_DIGITS_RE = re.compile(r"[1-9][0-9]{6,14}")
# A device (`:12`) or agent (`_1`) suffix on the user part, as in worker/src/jid.ts. `\Z`, not
# `$`, which would also match before a trailing newline.
DEVICE_SUFFIX_RE = re.compile(r"[:_][0-9]+\Z")
# Spaces around a pasted value are forgiven; a newline or other control character is not (it
# would otherwise be stripped here but kept by every other reader of the same text).
SURROUNDING_SPACES = " "

REFRESH_AVATAR_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
            # The contact as typed, or (services.yaml `target:`) a favourite's device or image entity.
            vol.Optional(ATTR_JID): cv.string,
            vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [str]),
            vol.Optional(ATTR_ENTITY_ID): cv.comp_entity_ids,
            vol.Optional(ATTR_FORCE, default=DEFAULT_FORCE): cv.boolean,
            vol.Optional(ATTR_WAIT, default=DEFAULT_WAIT_SECONDS): vol.All(
                vol.Coerce(int), vol.Range(min=0, max=MAX_WAIT_SECONDS)
            ),
        }
    ),
    # Refused as a bad call when it names nothing at all.
    cv.has_at_least_one_key(ATTR_JID, ATTR_DEVICE_ID, ATTR_ENTITY_ID),
)

REFRESH_AVATARS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_SCOPE, default=DEFAULT_REFRESH_SCOPE): vol.In(REFRESH_SCOPES),
        vol.Optional(ATTR_FORCE, default=DEFAULT_FORCE): cv.boolean,
    }
)


def shown_input(text: str) -> str:
    """Return what the user typed, cut short, with invisible characters (a newline, a tab) escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[:60])


def phone_number_digits(text: str) -> str | None:
    """Return the digits of a phone number as people write it (`+49 170 1234567`), or None if it is not one."""
    digits = PHONE_NUMBER_SEPARATORS_RE.sub("", text).removeprefix("+")
    return digits if PHONE_NUMBER_DIGITS_RE.fullmatch(digits) else None


def normalise_jid(text: str) -> str:
    """Return a JID as the worker stores it, from what a user typed; ServiceValidationError if it is none."""
    raw = text.strip(SURROUNDING_SPACES)
    digits = phone_number_digits(raw)
    if digits is not None:
        raw = f"{digits}@s.whatsapp.net"
    user, at, server = raw.partition("@")
    server = server.lower()
    if server == "c.us":
        server = "s.whatsapp.net"
    jid = f"{DEVICE_SUFFIX_RE.sub('', user)}{at}{server}"
    if not is_subject_jid(jid):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_jid",
            translation_placeholders={"jid": shown_input(text)},
        )
    return jid


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _entry_ids_of_targets(hass: HomeAssistant, call: ServiceCall) -> set[str]:
    """Return the WhatsApp entries of the devices and entities a call names (none named: empty)."""
    ours = {entry.entry_id for entry in hass.config_entries.async_entries(DOMAIN)}
    entry_ids: set[str] = set()
    devices = dr.async_get(hass)
    for device_id in _as_list(call.data.get(ATTR_DEVICE_ID)):
        # config_entry_id, not the deprecated config_entries (see accounts.subject_of_device).
        if (device := devices.async_get(device_id)) is None or device.config_entry_id not in ours:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_whatsapp_target",
                translation_placeholders={"target": shown_input(device_id)},
            )
        entry_ids.add(device.config_entry_id)
    entities = er.async_get(hass)
    for entity_id in _as_list(call.data.get(ATTR_ENTITY_ID)):
        if (entity := entities.async_get(entity_id)) is None or entity.config_entry_id not in ours:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_whatsapp_target",
                translation_placeholders={"target": shown_input(entity_id)},
            )
        entry_ids.add(entity.config_entry_id)
    return entry_ids


def entry_for_call(hass: HomeAssistant, call: ServiceCall) -> WhatsAppConfigEntry:
    """Return the loaded account a service call acts on, or refuse it with a translated error.

    In order: the `config_entry_id` given; else the account of the devices and entities given
    (`device_id`, `entity_id`; all of one account); else the only account. With several accounts
    and none of these, the call is ambiguous and refused, naming the accounts to choose from.
    """
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    if entry_id is None:
        targets = _entry_ids_of_targets(hass, call)
        if len(targets) > 1:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="targets_of_several_accounts")
        if targets:
            entry_id = targets.pop()
    # Several accounts set up (loaded or not: a call must not land on another account because the
    # one meant failed to load) and no choice made: ambiguous.
    accounts = hass.config_entries.async_entries(DOMAIN, include_ignore=False, include_disabled=False)
    if entry_id is None and len(accounts) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ambiguous_account",
            translation_placeholders={"accounts": ", ".join(sorted(entry.title for entry in accounts))},
        )
    # Core's helper (homeassistant/helpers/service.py, HA 2026.10.4): a translated
    # ServiceValidationError for an unknown entry, another integration's, one not loaded, or none.
    entry: WhatsAppConfigEntry = service.async_get_config_entry(hass, DOMAIN, entry_id)
    return entry


def _coordinator(hass: HomeAssistant, call: ServiceCall) -> WhatsAppCoordinator:
    return entry_for_call(hass, call).runtime_data.coordinator


def subject_of_call(call: ServiceCall) -> str:
    """Return the one contact or group a call names: typed, or a favourite's device or picture."""
    typed: str | None = call.data.get(ATTR_JID)
    jids = jids_of_target(call.hass, call.data) if has_target(call.data) else set()
    if typed is not None and not jids:
        return normalise_jid(typed)
    if typed is None and len(jids) == 1:
        return jids.pop()
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="one_subject",
        translation_placeholders={"count": str(len(jids) + (typed is not None))},
    )


async def _refresh_avatar(call: ServiceCall) -> ServiceResponse:
    jid = subject_of_call(call)
    wait = call.data[ATTR_WAIT]
    coordinator = _coordinator(call.hass, call)
    response = await coordinator.link.async_call(
        SERVICE_REFRESH_AVATAR,
        {"jid": jid, "force": call.data[ATTR_FORCE], "wait": wait},
        wait + CALL_RESPONSE_MARGIN_SECONDS,
    )
    return response if call.return_response else None


async def _refresh_avatars(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass, call)
    response = await coordinator.link.async_call(
        SERVICE_REFRESH_AVATARS,
        {"scope": call.data[ATTR_SCOPE], "force": call.data[ATTR_FORCE]},
        REFRESH_AVATARS_TIMEOUT_SECONDS,
    )
    return response if call.return_response else None


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services once, in async_setup, so they exist (and explain) without an entry."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_REFRESH_AVATAR,
        _refresh_avatar,
        schema=REFRESH_AVATAR_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REFRESH_AVATARS,
        _refresh_avatars,
        schema=REFRESH_AVATARS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


