""""Paused by WhatsApp": on during a rate-overlimit pause, off at its end without a new status.

And the retirement of the "Rate limited until" sensor it replaces.
"""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.whatsapp.const import DOMAIN
from homeassistant.components import automation
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .common import status_payload
from .conftest import ENTRY_ID, FakeWorker, setup_entry

PAUSED = "binary_sensor.whatsapp_paused_by_whatsapp"
OLD = "sensor.whatsapp_rate_limited_until"


def wire_time(delta: timedelta) -> str:
    """Return a time `delta` from now, as the worker writes it."""
    return (dt_util.utcnow() + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_on_during_a_pause_and_off_at_its_end_without_a_new_status(
    hass: HomeAssistant, worker: FakeWorker, freezer: FrozenDateTimeFactory
) -> None:
    """The worker says nothing when the pause ends; the sensor turns off by itself."""
    end = dt_util.utcnow().replace(microsecond=0) + timedelta(minutes=5)
    await worker.accepted("whatsapp/status", **status_payload(rate_limited_until=end.isoformat().replace("+00:00", "Z")))
    await hass.async_block_till_done()
    state = hass.states.get(PAUSED)
    assert state.state == STATE_ON
    assert state.attributes["until"] == end.isoformat()
    freezer.tick(timedelta(minutes=4, seconds=59))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(PAUSED).state == STATE_ON
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(PAUSED)
    assert state.state == STATE_OFF
    assert state.attributes["until"] is None


async def test_a_past_end_is_not_a_pause(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The worker keeps the last pause's end after it passed: that is "not paused", with no time shown."""
    await worker.accepted("whatsapp/status", **status_payload(rate_limited_until=wire_time(-timedelta(minutes=3))))
    await hass.async_block_till_done()
    state = hass.states.get(PAUSED)
    assert state.state == STATE_OFF
    assert state.attributes["until"] is None


async def test_an_extended_pause_moves_its_end(
    hass: HomeAssistant, worker: FakeWorker, freezer: FrozenDateTimeFactory
) -> None:
    """A second 429 during the pause moves the end; the first end's timer does not turn it off."""
    await worker.accepted("whatsapp/status", **status_payload(rate_limited_until=wire_time(timedelta(minutes=2))))
    await hass.async_block_till_done()
    last_changed = hass.states.get(PAUSED).last_changed
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    extended_end = dt_util.utcnow() + timedelta(minutes=3)
    await worker.accepted("whatsapp/status", **status_payload(rate_limited_until=wire_time(timedelta(minutes=3))))
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=2, seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(PAUSED)
    assert state.state == STATE_ON
    assert state.last_changed == last_changed, "an extension is not a new pause"
    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    # The states it went through (the test harness's websocket may close after the jump in
    # time, which makes it unavailable afterwards): off at the later end, not before.
    shown = [
        (event.data["new_state"].state, event.data["new_state"].last_changed)
        for event in changes
        if event.data["entity_id"] == PAUSED and event.data["old_state"].state != event.data["new_state"].state
    ]
    assert shown[0][0] == STATE_OFF, shown
    assert shown[0][1] >= extended_end, shown


async def test_unavailable_when_the_worker_leaves(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A pause of a worker that is gone is not known to run."""
    await worker.accepted("whatsapp/status", **status_payload(rate_limited_until=wire_time(timedelta(minutes=5))))
    await worker.close()
    await hass.async_block_till_done()
    assert hass.states.get(PAUSED).state == STATE_UNAVAILABLE


def register_old_sensor(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Register the "Rate limited until" entity as an earlier version did."""
    er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, f"{ENTRY_ID}_rate_limited_until", config_entry=entry, suggested_object_id="whatsapp_rate_limited_until"
    )


async def test_the_old_sensor_is_removed_quietly_when_nothing_uses_it(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Removed from the registry; no repair when no automation or script refers to it."""
    mock_config_entry.add_to_hass(hass)
    register_old_sensor(hass, mock_config_entry)
    assert er.async_get(hass).async_get(OLD) is not None
    await setup_entry(hass, mock_config_entry)
    assert er.async_get(hass).async_get(OLD) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"rate_limited_until_removed_{mock_config_entry.entry_id}") is None


async def test_a_repair_names_the_automations_that_used_the_old_sensor(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """An automation that uses it is named in a repair, with the binary sensor to use instead."""
    mock_config_entry.add_to_hass(hass)
    register_old_sensor(hass, mock_config_entry)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "alias": "Tell me about pauses",
                "triggers": {"trigger": "state", "entity_id": OLD},
                "actions": {"action": "logbook.log", "data": {"name": "x", "message": "y"}},
            }
        },
    )
    await setup_entry(hass, mock_config_entry)
    assert er.async_get(hass).async_get(OLD) is None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"rate_limited_until_removed_{mock_config_entry.entry_id}")
    assert issue is not None
    assert issue.is_persistent
    assert issue.translation_placeholders == {
        "entity_id": OLD,
        "users": "automation.tell_me_about_pauses",
        "replacement": PAUSED,
        "account": "",
    }
