"""The worker's sensors and its liveness binary sensor; the pause has its own tests (test_paused.py)."""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .common import status_payload
from .conftest import FakeWorker

CONNECTION = "sensor.whatsapp_connection"
QUEUE = "sensor.whatsapp_queue_length"
PROGRESS = "sensor.whatsapp_progress"
TIME_LEFT = "sensor.whatsapp_backfill_time_left"
PAUSED = "binary_sensor.whatsapp_paused_by_whatsapp"
WORKER_CONNECTED = "binary_sensor.whatsapp_worker_connected"


async def test_without_worker(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """No worker: liveness off, the status sensors unavailable (their values would be stale)."""
    assert hass.states.get(WORKER_CONNECTED).state == STATE_OFF
    for entity_id in (CONNECTION, QUEUE, PROGRESS, TIME_LEFT, PAUSED):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE


async def test_status_values(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Status values."""
    await worker.command(
        "whatsapp/status", **status_payload(rate_limited_until="2026-11-01T10:05:00.000Z")
    )
    await hass.async_block_till_done()
    assert hass.states.get(WORKER_CONNECTED).state == STATE_ON
    assert hass.states.get(CONNECTION).state == "open"
    assert hass.states.get(QUEUE).state == "12"
    assert hass.states.get(PROGRESS).state == "75.0"
    assert hass.states.get(PROGRESS).attributes["unit_of_measurement"] == "%"
    # 72 s left: 2 minutes, rounded up; with a unit, so its changes stay out of the logbook.
    time_left = hass.states.get(TIME_LEFT)
    assert time_left.state == "2"
    assert time_left.attributes["unit_of_measurement"] == "min"
    assert time_left.attributes["device_class"] == "duration"
    assert time_left.attributes["finishes_at"] is not None
    assert hass.states.get("sensor.whatsapp_rate_limited_until") is None


@pytest.mark.parametrize(
    ("wire", "shown"),
    [
        ("connecting", "connecting"),
        ("pairing", "pairing"),
        ("pairing-stopped", "pairing_stopped"),
        ("closed", "closed"),
        ("logged-out", "logged_out"),
    ],
)
async def test_connection_states(hass: HomeAssistant, worker: FakeWorker, wire: str, shown: str) -> None:
    """Connection states."""
    await worker.command("whatsapp/status", **status_payload(connection=wire))
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTION).state == shown
    assert shown in hass.states.get(CONNECTION).attributes["options"]


async def test_progress_without_work(hass: HomeAssistant, worker: FakeWorker) -> None:
    """No progress report, or an empty queue, is unknown rather than 0 % or 100 %."""
    await worker.command("whatsapp/status", **status_payload(progress=None))
    await hass.async_block_till_done()
    assert hass.states.get(PROGRESS).state == "unknown"
    await worker.command(
        "whatsapp/status", **status_payload(progress={"done": 0, "total": 0, "rate_per_hour": 0, "eta_seconds": None})
    )
    await hass.async_block_till_done()
    assert hass.states.get(PROGRESS).state == "unknown"
    assert hass.states.get(TIME_LEFT).state == "unknown"
    assert hass.states.get(TIME_LEFT).attributes["finishes_at"] is None


async def test_sensors_unavailable_when_worker_leaves(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Sensors unavailable when worker leaves."""
    await worker.command("whatsapp/status", **status_payload())
    await worker.close()
    await hass.async_block_till_done()
    assert hass.states.get(WORKER_CONNECTED).state == STATE_OFF
    assert hass.states.get(QUEUE).state == STATE_UNAVAILABLE


async def test_worker_entities_are_diagnostic(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The worker's status belongs in the device page's diagnostic section, not on the default dashboard."""
    registry = er.async_get(hass)
    for entity_id in (CONNECTION, QUEUE, PROGRESS, WORKER_CONNECTED):
        entry = registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.entity_category is EntityCategory.DIAGNOSTIC, entity_id
    # What a card shows during a backfill sits among the device's sensors, not its diagnostics.
    for entity_id in (TIME_LEFT, PAUSED):
        entry = registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.entity_category is None, entity_id


async def test_connection_says_why_and_when_it_tries_again(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Disconnected, with the worker's reason and its next attempt as attributes; none once open."""
    reason = "cannot reach WhatsApp (getaddrinfo ENOTFOUND web.whatsapp.com)"
    await worker.command(
        "whatsapp/status",
        **status_payload(connection="closed", connection_detail=reason, reconnect_at="2026-11-01T10:05:00.000Z"),
    )
    await hass.async_block_till_done()
    state = hass.states.get(CONNECTION)
    assert state.state == "closed"
    assert state.attributes["reason"] == reason
    assert state.attributes["reconnect_at"] == "2026-11-01T10:05:00+00:00"
    await worker.command("whatsapp/status", **status_payload())
    await hass.async_block_till_done()
    state = hass.states.get(CONNECTION)
    assert state.attributes["reason"] is None
    assert state.attributes["reconnect_at"] is None


async def test_status_with_too_long_a_reason_is_refused(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The reason is one sentence; a kilobyte of it is a broken worker."""
    result = await worker.command("whatsapp/status", **status_payload(connection="closed", connection_detail="x" * 513))
    assert not result["success"]
    assert result["error"]["code"] == "invalid_format"
