"""Base entities: the worker's device (hub) and one device per favourite contact or group."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import WhatsAppCoordinator, subject_unique_id
from .models import shown_address


def worker_device_info(coordinator: WhatsAppCoordinator) -> DeviceInfo:
    """Describe the worker, which every status entity belongs to: a piece of software, so a service."""
    # No sw_version: it is unknown until the worker says hello (which writes it to the registry),
    # and the worker does not say hello again after a reload; leaving it out keeps the registry's.
    return DeviceInfo(
        identifiers={(DOMAIN, coordinator.config_entry.entry_id)},
        name="WhatsApp",
        manufacturer="WhatsApp Avatars",
        model="Worker",
        entry_type=DeviceEntryType.SERVICE,
    )


class WhatsAppWorkerEntity(CoordinatorEntity[WhatsAppCoordinator]):
    """An entity of the worker's device; unique ids are stable per config entry."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: WhatsAppCoordinator, key: str) -> None:
        """Ties the entity to the worker's device."""
        super().__init__(coordinator)
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{key}"
        self._attr_device_info = worker_device_info(coordinator)


class WhatsAppContactEntity(CoordinatorEntity[WhatsAppCoordinator]):
    """An entity of one contact's or group's device; unique ids come from the JID, never a name."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: WhatsAppCoordinator, jid: str, key: str) -> None:
        """Ties the entity to the subject's device, named after the contact as WhatsApp knows it."""
        super().__init__(coordinator)
        self.jid = jid
        self._attr_unique_id = subject_unique_id(jid, key, prefix=coordinator.id_prefix)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{coordinator.id_prefix}{jid}")},
            name=self.subject_name(),
            manufacturer="WhatsApp",
            model="Group" if jid.endswith("@g.us") else "Contact",
            via_device_id=coordinator.config_entry.runtime_data.worker_device_id,
            # A person or a group is not a service (DeviceEntryType has only SERVICE, which
            # makes the integration page count contacts as "services"): no entry type.
        )

    def subject_name(self) -> str:
        """Return the contact's or group's name as WhatsApp last reported it, else its number."""
        data = self.coordinator.data
        picture = data.pictures.get(self.jid)
        entry = data.directory.get(self.jid)
        return (picture.name if picture else None) or (entry.name if entry else None) or shown_address(self.jid)
