"""Media → WhatsApp on a real HA: the tree over media_source's websocket, the picture view, its cache."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
import gc
import hashlib
from http import HTTPStatus
import threading
from typing import Any
import weakref

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.whatsapp import media_pictures, media_source
from homeassistant.core import HomeAssistant

from .common import ANNA, BERT, GROUP, JPEG_A, JPEG_B, LID_USER, status_payload
from .conftest import ENTRY_ID, FakeWorker, send_directory

HIDDEN = "491700000001@s.whatsapp.net"
UNKNOWN = "491700000002@s.whatsapp.net"
NO_NAME = "491700000003@s.whatsapp.net"
ROOT = "media-source://whatsapp"


def entry(jid: str, name: str | None, state: str = "fetched") -> list[Any]:
    """Return one directory entry on the wire."""
    return [jid, "group" if jid.endswith("@g.us") else "contact", name, state]


# A subject of each kind the tree lists or leaves out; the search tests add names to tell apart.
DIRECTORY = [
    entry(ANNA, "Anna"),
    entry(BERT, "bert"),
    entry(NO_NAME, None),
    entry(LID_USER, "Émile Zola"),
    entry(HIDDEN, "Hidden Anna", "hidden"),
    entry(UNKNOWN, "Unknown Anna", "unknown"),
    entry(GROUP, "Anna's family"),
]


@pytest.fixture
async def media(connect_media_worker: Callable[[list[list[Any]]], Awaitable[FakeWorker]]) -> FakeWorker:
    """Media source loaded, a worker with the small directory."""
    return await connect_media_worker(DIRECTORY)


async def browse(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, content_id: str) -> dict[str, Any]:
    """Browse one media source node the way the Media panel does."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "media_source/browse_media", "media_content_id": content_id})
    result = await client.receive_json()
    assert result["success"], result
    node: dict[str, Any] = result["result"]
    return node


def titles(node: dict[str, Any]) -> list[str]:
    """Return the children's titles."""
    return [child["title"] for child in node["children"]]


async def test_the_tree_lists_pictures_by_name_groups_and_contacts_apart(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """Contacts and groups apart; by name, the number where there is none; hidden and unknown left out."""
    root = await browse(hass, hass_ws_client, ROOT)
    assert root["title"] == "WhatsApp"
    assert titles(root) == ["Contacts (4)", "Groups (1)"]
    contacts = await browse(hass, hass_ws_client, root["children"][0]["media_content_id"])
    assert titles(contacts) == ["+491700000003", "Anna", "bert", "Émile Zola"]
    anna = contacts["children"][1]
    assert anna["media_class"] == "image"
    assert anna["can_play"] and not anna["can_expand"]
    assert anna["media_content_id"] == f"{ROOT}/{ENTRY_ID}/picture/{ANNA}"
    assert anna["thumbnail"] == f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}"
    groups = await browse(hass, hass_ws_client, root["children"][1]["media_content_id"])
    assert titles(groups) == ["Anna's family"]


async def test_large_accounts_go_by_initial_then_pages(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than a page: folders by initial (accents folded, others under #); a crowded initial in pages."""
    monkeypatch.setattr(media_source, "PAGE_SIZE", 3)
    names = [f"Anna {n}" for n in range(7)] + ["Bert", "émile", "42 Pizza"]
    await send_directory(
        hass, media, [entry(f"4917100000{n:02d}@s.whatsapp.net", name) for n, name in enumerate(names)]
    )
    contacts = await browse(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact")
    assert titles(contacts) == ["A (7)", "B (1)", "E (1)", "# (1)"]
    letter_a = await browse(hass, hass_ws_client, contacts["children"][0]["media_content_id"])
    assert titles(letter_a) == ["Anna 0 – Anna 2", "Anna 3 – Anna 5", "Anna 6 – Anna 6"]
    page = await browse(hass, hass_ws_client, letter_a["children"][1]["media_content_id"])
    assert titles(page) == ["Anna 3", "Anna 4", "Anna 5"]
    other = await browse(hass, hass_ws_client, contacts["children"][3]["media_content_id"])
    assert titles(other) == ["42 Pizza"]


async def test_unknown_folders_are_refused(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """A folder that does not exist gets an error, not an empty list."""
    client = await hass_ws_client(hass)
    for content_id in (f"{ROOT}/nope", f"{ROOT}/{ENTRY_ID}/colleagues", f"{ROOT}/{ENTRY_ID}/contact/Q"):
        await client.send_json_auto_id({"type": "media_source/browse_media", "media_content_id": content_id})
        result = await client.receive_json()
        assert not result["success"], content_id


async def resolve(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, content_id: str) -> dict[str, Any]:
    """Resolve an item the way the panel does before it shows a picture."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "media_source/resolve_media", "media_content_id": content_id})
    result: dict[str, Any] = await client.receive_json()
    return result


async def answer_picture(worker: FakeWorker, jid: str, content: bytes) -> dict[str, Any]:
    """Answer the next picture call with these bytes; return the call."""
    event = await worker.next_event()
    assert event["type"] == "call"
    assert event["service"] == "picture"
    assert event["data"] == {"jid": jid}
    response = {"jid": jid, "sha256": hashlib.sha256(content).hexdigest(), "image": base64.b64encode(content).decode()}
    await worker.accepted("whatsapp/call_result", call_id=event["call_id"], ok=True, response=response)
    return event


async def test_a_picture_resolves_to_the_view_and_comes_from_the_worker_once(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator, hass_client: ClientSessionGenerator
) -> None:
    """Resolve gives a signed view URL; the bytes are the worker's, asked once for two requests."""
    resolved = await resolve(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/picture/{ANNA}")
    assert resolved["success"], resolved
    assert resolved["result"]["mime_type"] == "image/jpeg"
    assert resolved["result"]["url"].startswith(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}?authSig=")
    client = await hass_client()
    first = hass.async_create_task(client.get(resolved["result"]["url"]))
    second = hass.async_create_task(client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}"))
    await answer_picture(media, ANNA, JPEG_A)
    for request in (first, second):
        response = await request
        assert response.status == HTTPStatus.OK
        assert response.content_type == "image/jpeg"
        assert await response.read() == JPEG_A
    again = await client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}")
    assert await again.read() == JPEG_A
    entry_ = hass.config_entries.async_get_entry(ENTRY_ID)
    assert entry_ is not None
    assert media_pictures.async_picture_cache(hass, entry_).worker_calls == 1


async def test_a_changed_picture_is_asked_for_again(
    hass: HomeAssistant, media: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The worker's report of a new sha256 makes the cached bytes stale."""
    client = await hass_client()
    request = hass.async_create_task(client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{BERT}"))
    await answer_picture(media, BERT, JPEG_A)
    assert await (await request).read() == JPEG_A
    await media.accepted(
        "whatsapp/avatar",
        jid=BERT, kind="contact", name="bert", state="fetched", picture_id="2", image=None,
        sha256=hashlib.sha256(JPEG_B).hexdigest(), checked_at=None, changed_at=None,
    )
    request = hass.async_create_task(client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{BERT}"))
    await answer_picture(media, BERT, JPEG_B)
    assert await (await request).read() == JPEG_B


async def test_hidden_unknown_and_strangers_are_not_served(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator, hass_client: ClientSessionGenerator
) -> None:
    """No call goes to the worker for a subject Media does not list; resolve refuses it too."""
    client = await hass_client()
    for jid in (HIDDEN, UNKNOWN, "491799999999@s.whatsapp.net", "not-a-jid"):
        response = await client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{jid}")
        assert response.status == HTTPStatus.NOT_FOUND, jid
        resolved = await resolve(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/picture/{jid}")
        assert not resolved["success"], jid
    assert (await client.get(f"/api/whatsapp/picture/other-entry/{ANNA}")).status == HTTPStatus.NOT_FOUND


async def test_the_view_needs_a_login(hass: HomeAssistant, media: FakeWorker, hass_client_no_auth: ClientSessionGenerator) -> None:
    """Without a token or a signed path the view answers 401."""
    client = await hass_client_no_auth()
    assert (await client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}")).status == HTTPStatus.UNAUTHORIZED


async def test_worker_refusals_and_absence_say_why(
    hass: HomeAssistant, media: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """The worker's no_picture is a 404; a bad answer and no worker at all are a 503 that says so."""
    client = await hass_client()
    request = hass.async_create_task(client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}"))
    event = await media.next_event()
    await media.accepted(
        "whatsapp/call_result", call_id=event["call_id"], ok=False,
        error={"code": "no_picture", "message": "the picture file is gone"},
    )
    assert (await request).status == HTTPStatus.NOT_FOUND
    request = hass.async_create_task(client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}"))
    event = await media.next_event()
    wrong = {"jid": ANNA, "sha256": "0" * 64, "image": base64.b64encode(JPEG_A).decode()}
    await media.accepted("whatsapp/call_result", call_id=event["call_id"], ok=True, response=wrong)
    response = await request
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert "sha256" in await response.text()
    await media.close()
    await hass.async_block_till_done()
    response = await client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}")
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE


async def test_a_silent_worker_times_out(
    hass: HomeAssistant, media: FakeWorker, hass_client: ClientSessionGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A picture call nobody answers ends in a 503, not a request that hangs."""
    monkeypatch.setattr(media_pictures, "PICTURE_CALL_TIMEOUT_SECONDS", 0.05)
    client = await hass_client()
    response = await client.get(f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}")
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert (await media.next_event())["service"] == "picture"


def test_the_cache_keeps_the_newest_within_its_bytes() -> None:
    """The least recently used picture goes first once the bytes are over the cap."""

    class _Data:
        pictures: dict[str, Any] = {}

    class _Coordinator:
        data = _Data()

    cache = media_pictures.PictureCache(_Coordinator(), max_bytes=2 * len(JPEG_A))  # type: ignore[arg-type]
    cache._keep(ANNA, media_pictures._Cached("a", JPEG_A))  # noqa: SLF001
    cache._keep(BERT, media_pictures._Cached("b", JPEG_A))  # noqa: SLF001
    assert cache._fresh(ANNA) is not None  # noqa: SLF001
    cache._entries.move_to_end(ANNA)  # noqa: SLF001
    cache._keep(GROUP, media_pictures._Cached("g", JPEG_A))  # noqa: SLF001
    assert cache._fresh(BERT) is None  # noqa: SLF001
    assert cache._fresh(ANNA) is not None  # noqa: SLF001
    assert cache.cached_bytes == 2 * len(JPEG_A)
    cache._keep(LID_USER, media_pictures._Cached("l", JPEG_A * 3))  # noqa: SLF001
    assert cache._fresh(LID_USER) is None, "a picture larger than the whole cache is not kept"  # noqa: SLF001


async def test_the_status_storage_is_a_sensor_and_in_diagnostics(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The worker's picture storage: bytes as the state (MiB shown), files as an attribute."""
    await worker.accepted("whatsapp/status", **status_payload(storage={"files": 3, "bytes": 3 * 1024 * 1024}))
    await hass.async_block_till_done()
    state = hass.states.get("sensor.whatsapp_picture_storage")
    assert state is not None
    assert float(state.state) == pytest.approx(3.0)
    assert state.attributes["unit_of_measurement"] == "MiB"
    assert state.attributes["files"] == 3


async def test_purge_avatars_answers_with_what_the_worker_removed(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """The service goes to the worker and returns its report."""
    call = hass.async_create_task(
        hass.services.async_call("whatsapp", "purge_avatars", {}, blocking=True, return_response=True)
    )
    event = await worker.next_event()
    assert (event["service"], event["data"]) == ("purge_avatars", {})
    report = {"files_removed": 4, "bytes_removed": 123456}
    await worker.accepted("whatsapp/call_result", call_id=event["call_id"], ok=True, response=report)
    assert await asyncio.wait_for(call, 5) == report


async def test_the_workers_latest_report_decides_what_is_listed(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """A job's report (whatsapp/avatar) lists a new picture and hides a hidden one, without a new directory."""
    for jid, name, state in ((UNKNOWN, "Unknown Uwe", "fetched"), (ANNA, "Anna", "hidden")):
        await media.accepted(
            "whatsapp/avatar",
            jid=jid, kind="contact", name=name, state=state, picture_id="3", image=None,
            sha256=hashlib.sha256(JPEG_A).hexdigest(), checked_at=None, changed_at=None,
        )
    await hass.async_block_till_done()
    contacts = await browse(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact")
    assert titles(contacts) == ["+491700000003", "bert", "Émile Zola", "Unknown Uwe"]


async def test_the_index_is_built_off_the_event_loop_once_for_browses_at_the_same_time(
    hass: HomeAssistant, media: FakeWorker, hass_ws_client: WebSocketGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two panels browsing a new directory at once wait for one build, which runs in the executor."""
    built_in: list[int | None] = []
    release = threading.Event()
    build_index = media_source.MediaIndex

    def held_build(*args: Any) -> Any:
        built_in.append(threading.get_ident())
        # Held until the second browse has come, so it finds this build still running.
        assert release.wait(5)
        return build_index(*args)

    monkeypatch.setattr(media_source, "MediaIndex", held_build)
    panels = [await hass_ws_client(hass) for _ in range(2)]
    for panel in panels:
        await panel.send_json_auto_id({"type": "media_source/browse_media", "media_content_id": f"{ROOT}/{ENTRY_ID}/contact"})
    async with asyncio.timeout(5):
        while not built_in:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time for the second browse to arrive while the build is held
    release.set()
    answers = [await panel.receive_json() for panel in panels]
    assert [titles(answer["result"]) for answer in answers] == [["+491700000003", "Anna", "bert", "Émile Zola"]] * 2
    assert len(built_in) == 1
    assert built_in[0] != hass.loop_thread_id
    # The same directory again: the index is not built again.
    await browse(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/group")
    assert len(built_in) == 1


async def test_an_unloaded_account_takes_its_index_with_it(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    media: FakeWorker,
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The index of a removed or reloaded account is not kept until the next browse or a restart."""
    built: list[weakref.ref[Any]] = []
    build_index = media_source.MediaIndex

    def tracked_build(*args: Any) -> Any:
        index = build_index(*args)
        built.append(weakref.ref(index))
        return index

    monkeypatch.setattr(media_source, "MediaIndex", tracked_build)
    await browse(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact")
    assert len(built) == 1
    gc.collect()
    assert built[0]() is not None  # kept for the next browse of the same directory
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    gc.collect()
    assert built[0]() is None
    assert not [record for record in caplog.records if record.levelname == "ERROR"], caplog.text


async def test_failed_builds_leave_one_unload_callback(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    media: FakeWorker,
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A build that fails is tried again by the next browse, without telling the entry once more to drop the index."""
    failures = [RuntimeError("first"), RuntimeError("second")]
    build_index = media_source.MediaIndex

    def failing_build(*args: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return build_index(*args)

    registered: list[Any] = []
    on_unload = init_integration.async_on_unload

    def counted_on_unload(func: Any) -> None:
        registered.append(func)
        on_unload(func)

    monkeypatch.setattr(media_source, "MediaIndex", failing_build)
    monkeypatch.setattr(init_integration, "async_on_unload", counted_on_unload)
    panel = await hass_ws_client(hass)
    for _ in range(2):
        await panel.send_json_auto_id({"type": "media_source/browse_media", "media_content_id": f"{ROOT}/{ENTRY_ID}/contact"})
        assert not (await panel.receive_json())["success"]
    await browse(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact")
    assert not failures
    assert len(registered) == 1
