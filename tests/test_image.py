"""Picture entities: one per favourite, served through HA's image proxy, kept across restarts."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.whatsapp.const import DOMAIN, EVENT_AVATAR_UPDATED
from custom_components.whatsapp.placeholder import PLACEHOLDER_PICTURE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .common import (
    ANNA,
    BERT,
    JPEG_A,
    JPEG_B,
    avatar_payload,
    directory_payload,
    sha256,
)
from .conftest import ENTRY_ID, FakeWorker, setup_entry


def picture_entity_id(hass: HomeAssistant, jid: str) -> str | None:
    """Return the entity id of a favourite's picture, from its unique id."""
    return er.async_get(hass).async_get_entity_id("image", DOMAIN, f"{jid}_picture")


async def fetch_picture(hass: HomeAssistant, hass_client: ClientSessionGenerator, entity_id: str) -> tuple[int, bytes, str]:
    """Fetch a picture through HA's image proxy: status, bytes and content type."""
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{entity_id}")
    return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_favourite_gets_a_device_and_a_picture(
    hass: HomeAssistant, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The pushed bytes are what the image proxy serves, as image/jpeg."""
    entity_id = picture_entity_id(hass, ANNA)
    # The contact itself, named after its device (the number until WhatsApp reports a name).
    assert entity_id == "image.491701234567"
    assert (await worker.command("whatsapp/avatar", **avatar_payload()))["success"]
    await hass.async_block_till_done()

    state = hass.states.get(entity_id)
    assert state.state != STATE_UNAVAILABLE
    assert state.attributes["jid"] == ANNA
    assert state.attributes["picture_state"] == "fetched"
    assert (await fetch_picture(hass, hass_client, entity_id)) == (HTTPStatus.OK, JPEG_A, "image/jpeg")

    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, ANNA), ENTRY_ID)
    assert device.name == "Anna"
    assert device.via_device_id is not None
    # A person, not a service (the integration page would count contacts as "services").
    assert device.entry_type is None
    assert state.attributes["friendly_name"] == "Anna"


async def test_last_updated_bumps_only_when_bytes_change(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Last updated bumps only when bytes change."""
    entity_id = picture_entity_id(hass, ANNA)
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    first = hass.states.get(entity_id).state

    # Re-sent after a reconnect, same bytes: no change.
    await worker.command("whatsapp/avatar", **avatar_payload(checked_at="2026-11-02T10:00:00Z"))
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == first

    # Metadata only (no bytes): the last picture stays.
    await worker.command("whatsapp/avatar", **avatar_payload(with_image=False))
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == first

    await worker.command("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state != first


async def test_picture_removed(hass: HomeAssistant, worker: FakeWorker, hass_client: ClientSessionGenerator) -> None:
    """State `none` drops the picture; the proxy serves the neutral placeholder with 200, not a 500."""
    entity_id = picture_entity_id(hass, ANNA)
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    with_picture = hass.states.get(entity_id).state
    assert (await fetch_picture(hass, hass_client, entity_id))[2] == "image/jpeg"
    await worker.command("whatsapp/avatar", **avatar_payload(content=None, state="none"))
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state.attributes["picture_state"] == "none"
    # A new state, so a card fetches the placeholder instead of keeping the old picture.
    assert state.state != with_picture
    assert (await fetch_picture(hass, hass_client, entity_id)) == (
        HTTPStatus.OK, PLACEHOLDER_PICTURE, "image/svg+xml"
    )


async def test_favourite_never_reported_shows_the_placeholder(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Before the worker ever reported a favourite, its card shows the placeholder, not a broken image."""
    entity_id = picture_entity_id(hass, ANNA)
    state = hass.states.get(entity_id)
    assert state.state == "unknown"
    assert state.attributes["picture_state"] == "unknown"
    assert (await fetch_picture(hass, hass_client, entity_id))[:2] == (HTTPStatus.OK, PLACEHOLDER_PICTURE)


async def test_available_without_worker_and_still_served(
    hass: HomeAssistant, worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The worker gone: the picture entity stays available with its last picture.

    A card would spin on an unavailable one; the worker's own sensor says it is away.
    """
    entity_id = picture_entity_id(hass, ANNA)
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    before = hass.states.get(entity_id).state
    await worker.close()
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state.state == before
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"
    assert state.attributes["entity_picture"].startswith(f"/api/image_proxy/{entity_id}")
    assert (await fetch_picture(hass, hass_client, entity_id))[1] == JPEG_A


async def test_picture_survives_restart_while_worker_is_away(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    connect_worker: Any,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
) -> None:
    """The last picture is on disk (HA's .storage) and shows after a restart, before the worker returns."""
    worker = await connect_worker()
    await worker.command("whatsapp/avatar", **avatar_payload())
    await worker.close()
    await hass.async_block_till_done()
    assert hass_storage[f"whatsapp.picture.{ANNA}"]["data"]["sha256"] == sha256(JPEG_A)

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await setup_entry(hass, init_integration)
    entity_id = picture_entity_id(hass, ANNA)
    state = hass.states.get(entity_id)
    assert state.state not in (STATE_UNAVAILABLE, "unknown")
    assert (await fetch_picture(hass, hass_client, entity_id))[1] == JPEG_A

    # The worker comes back and re-sends the same picture: no event, entity available again.
    events = async_capture_events(hass, EVENT_AVATAR_UPDATED)
    worker = await connect_worker()
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state not in (STATE_UNAVAILABLE, "unknown")
    assert events == []


async def test_unreadable_stored_picture_is_ignored(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Unreadable stored picture is ignored."""
    hass_storage[f"whatsapp.picture.{ANNA}"] = {"version": 1, "key": f"whatsapp.picture.{ANNA}", "data": {"image": "!!"}}
    await setup_entry(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ANNA not in mock_config_entry.runtime_data.coordinator.data.pictures


async def test_favourites_added_and_removed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    worker: FakeWorker,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entities and devices follow the favourites; a dropped favourite's stored picture goes too."""
    await worker.command("whatsapp/directory", **directory_payload((ANNA, "Anna"), (BERT, "Bert")))
    await worker.command("whatsapp/avatar", **avatar_payload())
    hass.config_entries.async_update_entry(init_integration, options={"favourites": [BERT]})
    await hass.async_block_till_done()

    assert picture_entity_id(hass, ANNA) is None
    assert dr.async_get(hass).async_get_device_by_identifier((DOMAIN, ANNA), ENTRY_ID) is None
    assert f"whatsapp.picture.{ANNA}" not in hass_storage
    bert = picture_entity_id(hass, BERT)
    assert bert is not None
    assert dr.async_get(hass).async_get_device_by_identifier((DOMAIN, BERT), ENTRY_ID).name == "Bert"
    # The worker device stays.
    assert dr.async_get(hass).async_get_device_by_identifier((DOMAIN, init_integration.entry_id), ENTRY_ID) is not None
    # Removed with async_remove_device: HA reports the deprecated remove_config_entry_id call.
    assert "remove_config_entry_id" not in caplog.text


async def test_favourite_dropped_while_not_loaded_loses_its_device(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Favourite dropped while not loaded loses its device."""
    assert picture_entity_id(hass, ANNA) is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    hass.config_entries.async_update_entry(init_integration, options={"favourites": []})
    await setup_entry(hass, init_integration)
    assert dr.async_get(hass).async_get_device_by_identifier((DOMAIN, ANNA), ENTRY_ID) is None


async def test_device_follows_renamed_contact_unless_user_named_it(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Device follows renamed contact unless user named it."""
    registry = dr.async_get(hass)
    await worker.command("whatsapp/avatar", **avatar_payload(name="Anna"))
    await worker.command("whatsapp/avatar", **avatar_payload(name="Anna Maria"))
    await hass.async_block_till_done()
    device = registry.async_get_device_by_identifier((DOMAIN, ANNA), ENTRY_ID)
    assert device.name == "Anna Maria"
    registry.async_update_device(device.id, name_by_user="Mum")
    await worker.command("whatsapp/avatar", **avatar_payload(name="A. M."))
    await hass.async_block_till_done()
    assert registry.async_get_device_by_identifier((DOMAIN, ANNA), ENTRY_ID).name == "Anna Maria"


async def test_event_fired_only_when_a_favourites_picture_changes(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """`whatsapp_avatar_updated` fires for a favourite whose picture really changed, once per change.

    Never for a non-favourite: it would put the whole address book in the recorder.
    """
    events: list[Event] = async_capture_events(hass, EVENT_AVATAR_UPDATED)
    # The first report is the baseline; the same bytes again, metadata only, or hidden: no change.
    await worker.command("whatsapp/avatar", **avatar_payload())
    await worker.command("whatsapp/avatar", **avatar_payload(checked_at="2026-11-02T10:00:00Z"))
    await worker.command("whatsapp/avatar", **avatar_payload(with_image=False))
    await worker.command("whatsapp/avatar", **avatar_payload(content=None, state="hidden"))
    # Bert is no favourite: nothing, whatever happens to his picture.
    await worker.command("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert"))
    await worker.command("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=JPEG_B))
    await worker.command("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=None, state="none"))
    await hass.async_block_till_done()
    assert events == []
    await worker.command("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await worker.command("whatsapp/avatar", **avatar_payload(content=None, state="none"))
    await hass.async_block_till_done()
    entity_id = picture_entity_id(hass, ANNA)
    assert entity_id is not None
    assert [event.data for event in events] == [
        {"config_entry_id": init_integration.entry_id, "jid": ANNA, "name": "Anna", "state": "fetched", "sha256": sha256(JPEG_B), "entity_id": entity_id},
        {"config_entry_id": init_integration.entry_id, "jid": ANNA, "name": "Anna", "state": "none", "sha256": None, "entity_id": entity_id},
    ]


async def test_no_event_for_a_favourite_picked_again(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """Dropped and picked again, a favourite's re-sent picture is a new baseline, not a change."""
    events: list[Event] = async_capture_events(hass, EVENT_AVATAR_UPDATED)
    await worker.command("whatsapp/avatar", **avatar_payload())
    hass.config_entries.async_update_entry(init_integration, options={"favourites": []})
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(init_integration, options={"favourites": [ANNA]})
    await hass.async_block_till_done()
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    assert events == []


async def test_bytes_for_non_favourites_are_not_kept(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, hass_storage: dict[str, Any]
) -> None:
    """Bytes for non favourites are not kept."""
    await worker.command("whatsapp/avatar", **avatar_payload(jid=BERT))
    assert init_integration.runtime_data.coordinator.data.pictures[BERT].content is None
    assert f"whatsapp.picture.{BERT}" not in hass_storage


async def test_removing_the_entry_deletes_what_it_kept(
    hass: HomeAssistant, worker: FakeWorker, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Deleting the integration leaves no picture or directory behind in .storage."""
    assert (await worker.command("whatsapp/avatar", **avatar_payload()))["success"]
    await hass.async_block_till_done()
    assert f"whatsapp.picture.{ANNA}" in hass_storage
    hass_storage["whatsapp.directory"] = {"version": 1, "key": "whatsapp.directory", "data": {"entries": []}}
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert f"whatsapp.picture.{ANNA}" not in hass_storage
    assert "whatsapp.directory" not in hass_storage
