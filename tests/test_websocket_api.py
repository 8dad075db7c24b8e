"""The worker's websocket commands, as protocol/protocol.json describes them."""

from __future__ import annotations

import base64
import logging
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.whatsapp.const import DOMAIN, MAX_PICTURE_BYTES, PROTOCOL_VERSION
from custom_components.whatsapp.websocket_api import _decode_picture, _PictureError
from homeassistant.core import HomeAssistant
from homeassistant.helpers.discovery_flow import async_create_flow
from homeassistant.setup import async_setup_component

from .common import (
    ANNA,
    BERT,
    GROUP,
    JPEG_A,
    LID_USER,
    avatar_payload,
    directory_payload,
    every_command,
    sha256,
    status_payload,
)
from .conftest import FakeWorker


async def test_hello_answers_versions(hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any) -> None:
    """The handshake answers the protocol and the integration's version."""
    worker = await connect_worker(subscribe=False)
    result = await worker.hello()
    assert result["success"]
    assert result["result"] == {"protocol_version": PROTOCOL_VERSION, "integration_version": "0.1.0"}
    await hass.async_block_till_done()
    coordinator = init_integration.runtime_data.coordinator
    assert coordinator.data.worker_version == "0.1.0-test"


async def test_hello_refuses_other_protocol(init_integration: MockConfigEntry, connect_worker: Any) -> None:
    """A worker of another protocol version is told so with a stable code."""
    worker = await connect_worker(subscribe=False)
    result = await worker.hello(protocol_version=PROTOCOL_VERSION + 1)
    assert not result["success"]
    assert result["error"]["code"] == "unsupported_version"


async def test_commands_answer_not_loaded_without_entry(hass: HomeAssistant, connect_worker: Any) -> None:
    """While HA starts (integration set up, no entry loaded) the worker gets `not_loaded` and retries."""
    assert await async_setup_component(hass, DOMAIN, {})
    worker = await connect_worker(subscribe=False)
    assert await worker.refusal_codes(every_command()) == dict.fromkeys(dict(every_command()), "not_loaded")


async def test_subscribe_sends_favourites_and_marks_worker_connected(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """The subscription brings the favourites at once; its end is the worker's end."""
    worker = await connect_worker(subscribe=False)
    assert (await worker.hello())["success"]
    assert await worker.subscribe() == [ANNA]
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "on"

    await worker.close()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"


async def test_commands_before_hello_are_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """The version handshake comes first on every connection; nothing else is applied before it."""
    worker = await connect_worker(subscribe=False)
    commands = every_command()[1:]
    assert await worker.refusal_codes(commands) == dict.fromkeys(dict(commands), "hello_required")
    coordinator = init_integration.runtime_data.coordinator
    assert not coordinator.link.connected
    assert coordinator.data.status is None
    assert coordinator.data.directory == {}
    assert ANNA not in coordinator.data.pictures
    # A refused version does not count as the handshake either.
    assert not (await worker.hello(protocol_version=PROTOCOL_VERSION + 1))["success"]
    assert await worker.refused("whatsapp/status", **status_payload()) == "hello_required"
    assert (await worker.hello())["success"]
    await worker.accepted("whatsapp/status", **status_payload())


async def test_hello_holds_across_a_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """The worker does not say hello again when only the entry reloads: its socket stays."""
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    # The reloaded entry holds the open subscription: favourites and a resend request come first.
    assert await worker.next_event() == {"type": "favourites", "jids": [ANNA]}
    assert await worker.next_event() == {"type": "resend"}
    assert (await worker.command("whatsapp/status", **status_payload()))["success"]


@pytest.mark.parametrize(
    "jid",
    [f"{ANNA}\n", f"{GROUP}\n", f"{LID_USER}\n", f"\n{ANNA}", "491701234567\n@s.whatsapp.net"],
)
async def test_jid_with_a_newline_is_refused_everywhere(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, jid: str
) -> None:
    """`re.match(...$)` would take a trailing newline; every JID field is a full match."""
    assert await worker.refused("whatsapp/avatar", **avatar_payload(jid=jid)) == "invalid_format"
    assert await worker.refused("whatsapp/directory", **directory_payload((jid, "x"))) == "invalid_format"
    coordinator = init_integration.runtime_data.coordinator
    assert jid not in coordinator.data.pictures
    assert jid not in coordinator.data.directory


async def test_unsubscribe_ends_the_link(hass: HomeAssistant, worker: FakeWorker) -> None:
    """An explicit unsubscribe is the worker leaving too."""
    await worker.accepted("unsubscribe_events", subscription=worker.subscription_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"


async def test_newer_subscription_replaces_older(hass: HomeAssistant, worker: FakeWorker, connect_worker: Any) -> None:
    """A newer subscription replaces the older one.

    After a network drop the worker reconnects before HA notices; the old socket closing later must not mark the new worker as gone.
    """
    newer = await connect_worker()
    await worker.close()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "on"
    await newer.close()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"


async def test_a_second_worker_is_offered_as_a_second_account(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A second worker does not take the first one's account: HA offers it as an account of its own."""
    first = await connect_worker(worker_id="worker-a")
    second = await connect_worker(subscribe=False)
    refused = await second.hello(worker_id="worker-b")
    assert refused["error"]["code"] == "not_set_up"
    await hass.async_block_till_done()
    assert [flow["context"]["unique_id"] for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)] == [
        "worker-b"
    ]
    # Its retries neither start a second offer nor touch the first worker's link.
    assert (await second.hello(worker_id="worker-b"))["error"]["code"] == "not_set_up"
    await hass.async_block_till_done()
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1
    coordinator = init_integration.runtime_data.coordinator
    assert coordinator.link.identity is not None
    assert coordinator.link.identity.worker_id == "worker-a"
    await first.close()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "off"
    assert (await second.command("whatsapp/subscribe"))["error"]["code"] == "not_set_up"


async def test_a_worker_waiting_to_be_added_is_no_error_in_the_log(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Waiting to be added is a normal step: one offer, and its refusals log INFO once per interval, never ERROR."""
    await connect_worker(worker_id="worker-a")
    waiting = await connect_worker(subscribe=False)
    with (
        caplog.at_level(logging.DEBUG, logger="custom_components.whatsapp"),
        patch("custom_components.whatsapp.accounts.discovery_flow.async_create_flow", wraps=async_create_flow) as offer,
    ):
        for _ in range(3):
            assert (await waiting.hello(worker_id="worker-b"))["error"]["code"] == "not_set_up"
            await hass.async_block_till_done()
    # One offer, not one flow per hello that aborts as already_in_progress.
    assert offer.call_count == 1
    refusals = [record for record in caplog.records if record.getMessage().startswith("Refused whatsapp/hello")]
    assert [record.levelno for record in refusals] == [logging.INFO, logging.DEBUG, logging.DEBUG]


async def test_older_subscription_is_used_again_when_the_newer_drops(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """The same worker subscribed twice (a reconnect before HA noticed): the older takes over when the newer drops."""
    older = await connect_worker(worker_id="worker-a")
    newer = await connect_worker(worker_id="worker-a")
    await newer.close()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.whatsapp_worker_connected").state == "on"
    # The older subscription gets the favourites again, then the calls.
    assert await older.next_event() == {"type": "favourites", "jids": [ANNA]}
    call = hass.async_create_task(
        hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
    )
    event = await older.next_event()
    assert event["service"] == "refresh_avatars"
    response = {"scope": "missing", "queued": 0, "matched": 0, "queue_length": 0, "eta_seconds": None}
    await older.accepted("whatsapp/call_result", call_id=event["call_id"], ok=True, response=response)
    assert await call == response


async def test_options_change_sends_favourites(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """Changed favourites go down the subscription."""
    hass.config_entries.async_update_entry(init_integration, options={"favourites": [BERT, ANNA]})
    await hass.async_block_till_done()
    assert await worker.next_event() == {"type": "favourites", "jids": [ANNA, BERT]}


async def test_non_admin_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Every command is admin-only."""
    worker = FakeWorker(await hass_ws_client(hass, hass_read_only_access_token))
    assert await worker.refusal_codes(every_command()) == dict.fromkeys(dict(every_command()), "unauthorized")


async def test_status_updates_sensors(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A status push reaches the sensors."""
    await worker.accepted("whatsapp/status", **status_payload())
    await hass.async_block_till_done()
    assert hass.states.get("sensor.whatsapp_queue_length").state == "12"


async def test_directory_replaces_previous(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A directory push replaces the whole directory."""
    await worker.accepted("whatsapp/directory", **directory_payload((ANNA, "Anna"), (BERT, None)))
    await worker.accepted("whatsapp/directory", **directory_payload((GROUP, "Family")))
    assert list(init_integration.runtime_data.coordinator.data.directory) == [GROUP]


async def test_avatar_with_bytes_is_kept(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A favourite's picture arrives as bytes and is kept."""
    await worker.accepted("whatsapp/avatar", **avatar_payload())
    picture = init_integration.runtime_data.coordinator.data.pictures[ANNA]
    assert picture.content == JPEG_A
    assert picture.sha256 == sha256(JPEG_A)


# Malformed payloads, each with the code HA answers, are the golden fixtures in
# protocol/fixtures/upstream.json, which tests/test_protocol.py sends over this same websocket.


async def test_group_and_lid_jids_are_accepted(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Groups (old and new style) and LID users are valid subjects."""
    for jid in (GROUP, "491701234567-1600000000@g.us", "123456789012345@lid"):
        await worker.accepted("whatsapp/avatar", **avatar_payload(jid=jid, with_image=False))


@pytest.mark.parametrize(
    "content",
    [
        # Refused by length before decoding.
        b"\xff\xd8\xff" + b"\0" * MAX_PICTURE_BYTES,
        # Just within the base64 length, one byte over once decoded.
        b"\xff\xd8\xff" + b"\0" * (MAX_PICTURE_BYTES - 2),
    ],
)
def test_pictures_over_the_limit_are_refused(content: bytes) -> None:
    """HA's websocket caps a message at 4 MiB, so this guard is tested directly."""
    with pytest.raises(_PictureError) as raised:
        _decode_picture(base64.b64encode(content).decode(), sha256(content))
    assert raised.value.code == "image_too_large"


def test_picture_at_the_limit_is_accepted() -> None:
    """Picture at the limit is accepted."""
    content = b"\xff\xd8\xff" + b"\0" * (MAX_PICTURE_BYTES - 3)
    assert _decode_picture(base64.b64encode(content).decode(), sha256(content)) == content
