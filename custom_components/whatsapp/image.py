"""Image entities: a picture per favourite, and the worker's pairing QR.

One per favourite contact or group, showing the picture the worker pushed, and the worker's
pairing QR code while it waits to be linked.

A contact picture is HA's to keep: it stays available and shows the last picture while the worker
is away (stopped, restarting, updating), from memory and from .storage after an HA restart; the
worker's own entities say whether it is connected. A favourite with no picture (none set, or not
known yet) serves a neutral placeholder, and its `picture_state` attribute says why.
The pairing QR is the opposite: shown only while it can link anything (see `PairingQrImage`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.image import ImageEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, PAIRING_QR_CONTENT_TYPE, PICTURE_CONTENT_TYPE
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .entity import WhatsAppContactEntity, WhatsAppWorkerEntity
from .models import Picture
from .pairing import PAIRING_QR_KEY
from .placeholder import PLACEHOLDER_CONTENT_TYPE, PLACEHOLDER_PICTURE

# Pushed by the worker; nothing to throttle.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a picture per favourite, and follow the favourites as they change."""
    coordinator = entry.runtime_data.coordinator
    shown: set[str] = set()

    def favourite_device_ids() -> set[str]:
        # The favourites' device identifiers (entity.WhatsAppContactEntity): the JID, after the
        # account's prefix.
        return {f"{coordinator.id_prefix}{jid}" for jid in coordinator.data.favourites}

    @callback
    def sync_favourites() -> None:
        favourites = set(coordinator.data.favourites)
        if added := favourites - shown:
            shown.update(added)
            async_add_entities(ContactPictureImage(hass, coordinator, jid) for jid in sorted(added))
        if removed := shown - favourites:
            shown.difference_update(removed)
            _remove_devices_of_former_favourites(hass, entry, favourite_device_ids())

    async_add_entities([PairingQrImage(hass, coordinator)])
    # Favourites dropped while the entry was not loaded.
    _remove_devices_of_former_favourites(hass, entry, favourite_device_ids())
    sync_favourites()
    entry.async_on_unload(coordinator.async_add_listener(sync_favourites))


def _remove_devices_of_former_favourites(
    hass: HomeAssistant, entry: WhatsAppConfigEntry, favourites: set[str]
) -> None:
    """Remove the device (and so the entity) of each contact that is no longer a favourite.

    `async_remove_device`, as homeassistant/helpers/device_registry.py (HA 2026.10.4) asks: a device
    belongs to one config entry now, and `async_update_device(remove_config_entry_id=...)` is
    reported as deprecated and stops working in 2027.8.
    """
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        jids = {identifier for domain, identifier in device.identifiers if domain == DOMAIN}
        if jids and jids.isdisjoint(favourites) and entry.entry_id not in jids:
            registry.async_remove_device(device.id)


class ContactPictureImage(WhatsAppContactEntity, ImageEntity):
    """A contact's or group's profile picture: the device's main feature, named as the device."""

    # The contact itself (its device's name), not "<name> Profile picture" cut short on cards.
    _attr_name = None
    _attr_translation_key = "picture"

    def __init__(self, hass: HomeAssistant, coordinator: WhatsAppCoordinator, jid: str) -> None:
        """Start with the stored picture, if any."""
        super().__init__(coordinator, jid, "picture")
        ImageEntity.__init__(self, hass)
        self._show_current_picture()

    def _picture(self) -> Picture | None:
        return self.coordinator.data.pictures.get(self.jid)

    def _content(self) -> bytes | None:
        picture = self._picture()
        return picture.content if picture is not None else None

    def _show_current_picture(self) -> None:
        # Bumped only when the bytes changed (or went), so the frontend reloads only then; a
        # favourite never reported keeps None (state unknown) until the worker says something.
        picture = self._picture()
        self._attr_image_last_updated = picture.received_at if picture is not None else None
        self._attr_content_type = PICTURE_CONTENT_TYPE if self._content() is not None else PLACEHOLDER_CONTENT_TYPE

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The JID (for `whatsapp.refresh_avatar`) and the picture's state as the worker knows it."""
        picture = self._picture()
        return {"jid": self.jid, "picture_state": picture.state if picture else "unknown"}

    @callback
    def _handle_coordinator_update(self) -> None:
        self._show_current_picture()
        self._follow_renamed_contact()
        super()._handle_coordinator_update()

    def _follow_renamed_contact(self) -> None:
        """Rename the device after the contact; a name the user gave it wins."""
        if self.registry_entry is None or self.registry_entry.device_id is None:
            return
        registry = dr.async_get(self.hass)
        device = registry.async_get(self.registry_entry.device_id)
        if device is not None and device.name_by_user is None and device.name != (name := self.subject_name()):
            registry.async_update_device(device.id, name=name)

    async def async_image(self) -> bytes | None:
        """Return the last picture the worker sent, kept across restarts; the placeholder without one."""
        return self._content() or PLACEHOLDER_PICTURE


class PairingQrImage(WhatsAppWorkerEntity, ImageEntity):
    """The QR code to scan with the phone while the worker waits to be linked.

    Available, and serving the PNG the worker rendered, only while the worker is connected and
    pairing: a QR from a worker that is gone or already linked cannot link anything, so it is not
    shown (the image proxy then answers with an error, and a picture card shows the entity as
    unavailable). `image_last_updated` moves with every new QR (WhatsApp rotates it about every
    20 seconds), which makes a dashboard card fetch the new one.
    """

    _attr_content_type = PAIRING_QR_CONTENT_TYPE
    _attr_translation_key = PAIRING_QR_KEY

    def __init__(self, hass: HomeAssistant, coordinator: WhatsAppCoordinator) -> None:
        """No QR until the worker reports one."""
        super().__init__(coordinator, PAIRING_QR_KEY)
        ImageEntity.__init__(self, hass)
        self._attr_image_last_updated = self._received_at()

    def _current_qr(self) -> bytes | None:
        data = self.coordinator.data
        if not data.worker_connected or data.status is None or not data.status.pairing:
            return None
        return data.status.pairing_qr_image

    def _received_at(self) -> datetime | None:
        return self.coordinator.data.pairing_qr_received_at if self._current_qr() is not None else None

    @property
    def available(self) -> bool:
        """Only while there is a QR to scan."""
        return super().available and self._current_qr() is not None

    @callback
    def _handle_coordinator_update(self) -> None:
        self._attr_image_last_updated = self._received_at()
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the latest QR, or nothing when there is none to scan."""
        return self._current_qr()
