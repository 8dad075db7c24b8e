"""The services `whatsapp.link_person` and `whatsapp.unlink_person` (person_link.py does the work)."""

from __future__ import annotations

import probatio as vol

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er

from .const import DOMAIN, SERVICE_LINK_PERSON, SERVICE_UNLINK_PERSON
from .coordinator import WhatsAppCoordinator
from .person_link import PERSON_DOMAIN
from .services import ATTR_CONFIG_ENTRY_ID, _coordinator, normalise_jid

ATTR_PERSON = "person"
ATTR_CONTACT = "contact"

LINK_PERSON_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PERSON): cv.entity_id,
        vol.Required(ATTR_CONTACT): cv.string,
    }
)
UNLINK_PERSON_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string, vol.Required(ATTR_PERSON): cv.entity_id}
)


def person_id_of(hass: HomeAssistant, entity_id: str) -> str:
    """Return the person storage collection's id of a person entity (its unique id there)."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None or entry.domain != PERSON_DOMAIN or entry.platform != PERSON_DOMAIN:
        # A person from configuration.yaml has no editable picture; only the UI's have an entry.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_person",
            translation_placeholders={"person": entity_id},
        )
    return entry.unique_id


async def async_link_person(coordinator: WhatsAppCoordinator, person_id: str, jid: str) -> None:
    """Link a person to a contact and tell the worker (the service and the options flow)."""
    await coordinator.person_pictures.async_link(person_id, jid)
    # The worker sends the bytes of a JID new in the list; one HA already holds (a favourite's)
    # is shown at once, as the worker will not send it again.
    if (picture := coordinator.data.pictures.get(jid)) is not None and picture.content is not None:
        await coordinator.person_pictures.async_picture(jid, picture.state, picture.sha256, picture.content)
    coordinator.async_send_favourites()


async def _link_person(call: ServiceCall) -> ServiceResponse:
    jid = normalise_jid(call.data[ATTR_CONTACT])
    coordinator = _coordinator(call.hass, call)
    person_id = person_id_of(call.hass, call.data[ATTR_PERSON])
    await async_link_person(coordinator, person_id, jid)
    # The contact as the worker knows it, e.g. from a number typed with spaces.
    return {"jid": jid} if call.return_response else None


async def _unlink_person(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass, call)
    person_id = person_id_of(call.hass, call.data[ATTR_PERSON])
    link = coordinator.person_pictures.links.get(person_id)
    if link is None or not await coordinator.person_pictures.async_unlink(person_id):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="person_not_linked",
            translation_placeholders={"person": call.data[ATTR_PERSON]},
        )
    coordinator.async_send_favourites()
    return {"jid": link.jid} if call.return_response else None


@callback
def async_setup_person_services(hass: HomeAssistant) -> None:
    """Register the person services once, in async_setup."""
    # A response is optional: it names the contact (as normalised from what was typed).
    hass.services.async_register(
        DOMAIN, SERVICE_LINK_PERSON, _link_person, schema=LINK_PERSON_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_UNLINK_PERSON,
        _unlink_person,
        schema=UNLINK_PERSON_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
