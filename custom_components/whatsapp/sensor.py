"""Sensors of the worker: WhatsApp connection, queue length, progress, the backfill's time left.

"Rate limited until" is gone (issue 13): a timestamp that stayed in the past after each pause and
wrote a logbook entry at every pause. The "Paused by WhatsApp" binary sensor says whether it is
paused and, in an attribute, until when; its entity is removed from the registry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

from homeassistant.components.automation import automations_with_entity
from homeassistant.components.script import scripts_with_entity
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfInformation,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .account_issues import (
    ISSUE_RATE_LIMITED_UNTIL_REMOVED,
    account_issue_id,
    account_placeholders,
)
from .const import CONNECTION_STATES, DOMAIN
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


def minutes_left(status: WorkerStatus) -> int | None:
    """Return the worker's ETA (which counts the pauses it has seen) in whole minutes, rounded up; none without work."""
    progress = status.progress
    if progress is None or progress.total == 0 or progress.eta_seconds is None:
        return None
    return math.ceil(progress.eta_seconds / 60)


def finishes_at(status: WorkerStatus) -> dict[str, Any]:
    """Return when the backfill should be done, for a card that shows a time of day rather than a duration."""
    progress = status.progress
    if progress is None or progress.total == 0 or progress.eta_seconds is None:
        return {"finishes_at": None}
    return {"finishes_at": (dt_util.utcnow() + timedelta(seconds=progress.eta_seconds)).isoformat(timespec="seconds")}


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
    # A duration with a unit, not a timestamp: its changes at every status are history, not
    # logbook entries (core's logbook leaves out states with a unit of measurement,
    # homeassistant/components/logbook/helpers.py `_is_state_filtered`, commit 00f9d74).
    # On the device page, not among the diagnostics: it is what a card shows during a backfill.
    WhatsAppSensorEntityDescription(
        key="time_left",
        translation_key="time_left",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=minutes_left,
        attributes_fn=finishes_at,
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

# The retired sensor, as its unique id ended, and the repair for automations that still use it.
RETIRED_SENSOR_KEY = "rate_limited_until"


@callback
def async_retire_rate_limited_until(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
    """Remove the old "Rate limited until" entity; a repair names the automations and scripts that used it.

    Removed rather than left deprecated: its value lives on as the `until` attribute of the
    "Paused by WhatsApp" binary sensor, and a dead entity would stay "unavailable" for good.
    """
    registry = er.async_get(hass)
    unique_id = f"{entry.entry_id}_{RETIRED_SENSOR_KEY}"
    if (entity_id := registry.async_get_entity_id("sensor", DOMAIN, unique_id)) is None:
        return
    users = [*automations_with_entity(hass, entity_id), *scripts_with_entity(hass, entity_id)]
    registry.async_remove(entity_id)
    if not users:
        return
    paused = registry.async_get_entity_id("binary_sensor", DOMAIN, f"{entry.entry_id}_paused")
    ir.async_create_issue(
        hass,
        DOMAIN,
        account_issue_id(ISSUE_RATE_LIMITED_UNTIL_REMOVED, entry.entry_id),
        is_fixable=False,
        # The entity is gone; nothing re-creates the issue, so it must outlive a restart.
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_RATE_LIMITED_UNTIL_REMOVED,
        translation_placeholders={
            "entity_id": entity_id,
            "users": ", ".join(users),
            "replacement": paused or "binary_sensor.whatsapp_paused_by_whatsapp",
            **account_placeholders(hass, entry.entry_id),
        },
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the worker's sensors."""
    coordinator = entry.runtime_data.coordinator
    async_retire_rate_limited_until(hass, entry)
    async_add_entities(WhatsAppSensor(coordinator, description) for description in SENSORS)


class WhatsAppSensor(WhatsAppWorkerEntity, SensorEntity):
    """A value from the worker's last status; unavailable while the worker is away."""

    entity_description: WhatsAppSensorEntityDescription
    # Moves at every status without saying anything history needs (it follows from the value):
    # not recorded. Core reads this per class (Entity.__init_subclass__), hence here.
    _unrecorded_attributes = frozenset({"finishes_at"})

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
