"""Binary sensors: whether the worker is connected, and whether WhatsApp has paused it.

"Paused by WhatsApp" replaces the "Rate limited until" timestamp (issue 13), which showed a time
in the past once a pause was over. It is on while a rate-overlimit pause runs, with its end as the
`until` attribute, and turns off at that end by itself, even when no status arrives then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator
from .entity import WhatsAppWorkerEntity

# Pushed by the worker; nothing to throttle.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the worker's liveness sensor and its pause."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities([WorkerConnectedBinarySensor(coordinator, "worker_connected"), PausedBinarySensor(coordinator)])


class WorkerConnectedBinarySensor(WhatsAppWorkerEntity, BinarySensorEntity):
    """On while the worker holds its subscription; stays available to say that it does not."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "worker_connected"

    @property
    def is_on(self) -> bool:
        """True while the worker is connected."""
        return self.coordinator.data.worker_connected


class PausedBinarySensor(WhatsAppWorkerEntity, BinarySensorEntity):
    """On while WhatsApp's rate-overlimit pause runs; `until` says when it ends.

    Only on and off are state changes: a pause that is extended (or a status that repeats it)
    moves `until` alone, which core's logbook does not list (last_changed stays) and which is not
    recorded at all, so an hour of pauses writes two logbook entries per pause, not one per status.
    """

    _attr_translation_key = "paused"
    _unrecorded_attributes = frozenset({"until"})

    def __init__(self, coordinator: WhatsAppCoordinator) -> None:
        """One per worker."""
        super().__init__(coordinator, "paused")
        self._end_timer: CALLBACK_TYPE | None = None

    @property
    def available(self) -> bool:
        """A status from a worker that is gone describes the past."""
        data = self.coordinator.data
        return super().available and data.worker_connected and data.status is not None

    def _pause_end(self) -> datetime | None:
        """Return the end of the pause in the last status, if it is still ahead."""
        status = self.coordinator.data.status
        until = status.rate_limited_until if status is not None else None
        return until if until is not None and until > dt_util.utcnow() else None

    @property
    def is_on(self) -> bool:
        """True until the pause's end."""
        return self._pause_end() is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the pause ends; none when not paused (the worker keeps the last end, long past)."""
        end = self._pause_end()
        return {"until": end.isoformat() if end is not None else None}

    async def async_added_to_hass(self) -> None:
        """Follow the pause from the status there is already."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_end_timer)
        self._schedule_end()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Follow a new status, which may start, extend or end a pause."""
        self._schedule_end()
        super()._handle_coordinator_update()

    @callback
    def _schedule_end(self) -> None:
        """Turn off at the pause's end, whether or not a status comes then."""
        self._cancel_end_timer()
        if (end := self._pause_end()) is not None:
            self._end_timer = async_track_point_in_utc_time(self.hass, self._pause_ended, end)

    @callback
    def _pause_ended(self, _now: datetime) -> None:
        self._end_timer = None
        # A timer can fire a moment early (the loop's clock is not the wall clock): then wait on.
        self._schedule_end()
        self.async_write_ha_state()

    @callback
    def _cancel_end_timer(self) -> None:
        if self._end_timer is not None:
            self._end_timer()
            self._end_timer = None
