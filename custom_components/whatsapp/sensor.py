"""Sensors of the worker: WhatsApp connection, queue length, progress, rate limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONNECTION_STATES
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .entity import WhatsAppWorkerEntity
from .models import WorkerStatus

# Pushed by the worker; nothing to throttle.
PARALLEL_UPDATES = 0


def connection_option(wire_state: str) -> str:
    """Enum options are translation keys, which must be snake_case."""
    return wire_state.replace("-", "_")


@dataclass(frozen=True, kw_only=True)
class WhatsAppSensorEntityDescription(SensorEntityDescription):
    """A worker sensor, read from the last status."""

    value_fn: Callable[[WorkerStatus], str | int | float | datetime | None]
    attributes_fn: Callable[[WorkerStatus], dict[str, Any]] | None = None


SENSORS: tuple[WhatsAppSensorEntityDescription, ...] = (
    WhatsAppSensorEntityDescription(
        key="connection",
        translation_key="connection",
        device_class=SensorDeviceClass.ENUM,
        options=[connection_option(state) for state in CONNECTION_STATES],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: connection_option(status.connection),
        # Why it is not connected and when the worker tries again: "Disconnected" alone does not
        # say whether to wait, fix the network or look at the phone.
        attributes_fn=lambda status: {
            "reason": status.connection_detail,
            "reconnect_at": status.reconnect_at.isoformat() if status.reconnect_at else None,
        },
    ),
    WhatsAppSensorEntityDescription(
        key="queue_length",
        translation_key="queue_length",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.queue_length,
    ),
    WhatsAppSensorEntityDescription(
        key="progress",
        translation_key="progress",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.progress.percent if status.progress else None,
    ),
    WhatsAppSensorEntityDescription(
        key="rate_limited_until",
        translation_key="rate_limited_until",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.rate_limited_until,
    ),
    # What the pictures take on disk (the worker's data folder), and how many there are.
    WhatsAppSensorEntityDescription(
        key="picture_storage",
        translation_key="picture_storage",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEBIBYTES,
        suggested_display_precision=1,
        value_fn=lambda status: status.storage.bytes if status.storage else None,
        attributes_fn=lambda status: {"files": status.storage.files if status.storage else None},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the worker's sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(WhatsAppSensor(coordinator, description) for description in SENSORS)


class WhatsAppSensor(WhatsAppWorkerEntity, SensorEntity):
    """A value from the worker's last status; unavailable while the worker is away."""

    entity_description: WhatsAppSensorEntityDescription

    def __init__(self, coordinator: WhatsAppCoordinator, description: WhatsAppSensorEntityDescription) -> None:
        """One sensor per description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """A status from a worker that is gone describes the past."""
        data = self.coordinator.data
        return super().available and data.worker_connected and data.status is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the description adds to the value, from the same status."""
        status = self.coordinator.data.status
        if self.entity_description.attributes_fn is None or status is None:
            return None
        return self.entity_description.attributes_fn(status)

    @property
    def native_value(self) -> str | int | float | datetime | None:
        """The value from the last status."""
        status = self.coordinator.data.status
        return self.entity_description.value_fn(status) if status is not None else None
