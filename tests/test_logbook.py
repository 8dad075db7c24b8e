"""The logbook with a real recorder: a favourite's new picture is one entry; pauses do not flood it.

Issue 13 counted 43 logbook entries in an hour of pauses, from the "Rate limited until" timestamp.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.whatsapp.const import EVENT_AVATAR_UPDATED
from custom_components.whatsapp.logbook import describe_avatar_updated
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .common import ANNA, JPEG_B, avatar_payload, status_payload
from .conftest import FakeWorker, setup_entry

PAUSED = "binary_sensor.whatsapp_paused_by_whatsapp"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """Start the recorder before Home Assistant (the conftest's autouse fixture would start HA first)."""


async def logbook_entries(hass: HomeAssistant, worker: FakeWorker, start: datetime) -> list[dict[str, Any]]:
    """Return what the logbook panel shows from `start` on: core's `logbook/get_events`, on the (admin) worker's socket.

    Not the REST API: after an hour on the frozen clock the test client's access token has expired.
    """
    await async_wait_recording_done(hass)
    end = dt_util.utcnow() + timedelta(minutes=1)
    result = await worker.accepted("logbook/get_events", start_time=start.isoformat(), end_time=end.isoformat())
    entries: list[dict[str, Any]] = result["result"]
    return entries


async def connected(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, connect_worker: Any
) -> FakeWorker:
    """Set up the logbook, the integration and a worker, after the recorder (requested first)."""
    assert await async_setup_component(hass, "logbook", {})
    await setup_entry(hass, mock_config_entry)
    worker: FakeWorker = await connect_worker()
    return worker


async def keep_socket_alive(worker: FakeWorker) -> None:
    """Two round trips after a jump in time, so the test client answers the server's heartbeat ping."""
    for _ in range(2):
        await worker.client.send_json_auto_id({"type": "ping"})
        assert (await worker.client.receive_json())["type"] == "pong"


async def test_the_description_names_the_favourite_and_its_picture() -> None:
    """Name, what happened, and the image entity the entry links to."""
    changed = Event(EVENT_AVATAR_UPDATED, {"jid": ANNA, "name": "Anna", "state": "fetched", "entity_id": "image.anna"})
    assert describe_avatar_updated(changed) == {
        "name": "Anna",
        "message": "changed their WhatsApp picture",
        "entity_id": "image.anna",
    }
    removed = Event(EVENT_AVATAR_UPDATED, {"jid": ANNA, "name": None, "state": "none", "entity_id": None})
    assert describe_avatar_updated(removed) == {"name": ANNA, "message": "removed their WhatsApp picture"}


async def test_a_favourites_new_picture_is_one_logbook_entry(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    connect_worker: Any,
) -> None:
    """The worker reports Anna's new picture; the logbook says so in words, on her picture entity."""
    worker = await connected(hass, mock_config_entry, connect_worker)
    await worker.accepted("whatsapp/avatar", **avatar_payload())
    start = dt_util.utcnow()
    await worker.accepted("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await hass.async_block_till_done()
    entries = await logbook_entries(hass, worker, start)
    pictures = [entry for entry in entries if entry.get("message") == "changed their WhatsApp picture"]
    assert len(pictures) == 1, entries
    assert pictures[0]["name"] == "Anna"
    assert pictures[0]["domain"] == "whatsapp"
    assert pictures[0]["entity_id"].startswith("image.")


async def test_an_hour_of_pauses_writes_two_entries_per_pause(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    connect_worker: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An hour of a backfill at the default pause (5 min), paused again 1 min after each pause.

    A status every 30 s moves the progress, the queue and the time left, and a second 429 during
    each pause moves its end: none of that is a logbook entry. Only "Paused" and "Not paused" are.
    """
    worker = await connected(hass, mock_config_entry, connect_worker)
    start = dt_util.utcnow()
    pauses = 0
    pause_end: datetime | None = None
    done = 0
    for step in range(120):
        now = dt_util.utcnow()
        if step % 12 == 2:
            # A 429: five minutes' pause, moved by 30 s when the next query also gets one.
            pause_end = now + timedelta(minutes=5)
            pauses += 1
        elif step % 12 == 3 and pause_end is not None:
            pause_end += timedelta(seconds=30)
        else:
            done += 0 if pause_end is not None and pause_end > now else 10
        until = None if pause_end is None else pause_end.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        progress = {"done": done, "total": 4_167, "rate_per_hour": 1_200, "eta_seconds": (4_167 - done) * 5}
        await worker.accepted(
            "whatsapp/status", **status_payload(queue_length=4_167 - done, progress=progress, rate_limited_until=until)
        )
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await keep_socket_alive(worker)
    # The hour's last pause ends after it, with no status then.
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await keep_socket_alive(worker)
    entries = await logbook_entries(hass, worker, start)
    ours = [entry for entry in entries if str(entry.get("entity_id", "")).startswith(("sensor.whatsapp", "binary_sensor.whatsapp"))]
    assert pauses == 10
    assert {entry["entity_id"] for entry in ours} == {PAUSED}, ours
    assert [entry["state"] for entry in ours] == ["on", "off"] * pauses, ours
