"""Binary sensor: whether the worker is connected (holds its subscription)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import WhatsAppConfigEntry
from .entity import WhatsAppWorkerEntity

# Pushed by the worker; nothing to throttle.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the worker's liveness sensor."""
    async_add_entities([WorkerConnectedBinarySensor(entry.runtime_data.coordinator, "worker_connected")])


class WorkerConnectedBinarySensor(WhatsAppWorkerEntity, BinarySensorEntity):
    """On while the worker holds its subscription; stays available to say that it does not."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "worker_connected"

    @property
    def is_on(self) -> bool:
        """True while the worker is connected."""
        return self.coordinator.data.worker_connected
