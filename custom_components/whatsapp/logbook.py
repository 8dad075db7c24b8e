"""The logbook's line for a favourite's new picture: "Alice changed their WhatsApp picture".

Core's logbook lists a custom event only when an integration describes it
(homeassistant/components/logbook/__init__.py, `async_describe_event`; doorbird/logbook.py does
the same for its events). Rate-limit pauses stay out of it by design (binary_sensor.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_AVATAR_UPDATED


@callback
def describe_avatar_updated(event: Event) -> dict[str, Any]:
    """Name the favourite, say what happened, and point at its picture entity."""
    data = event.data
    name = data.get("name") or data.get("jid") or "A favourite"
    message = "removed their WhatsApp picture" if data.get("state") == "none" else "changed their WhatsApp picture"
    entry: dict[str, Any] = {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}
    if entity_id := data.get("entity_id"):
        entry[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
    return entry


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the picture-changed event."""
    async_describe_event(DOMAIN, EVENT_AVATAR_UPDATED, describe_avatar_updated)
