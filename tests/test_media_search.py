"""Media → WhatsApp's search on a real HA: media_source/search_media, as the Media panel sends it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.whatsapp import media_source, name_search
from homeassistant.core import HomeAssistant

from .common import ANNA, GROUP, LID_USER, avatar_payload
from .conftest import ENTRY_ID, FakeWorker, send_directory
from .test_media_source import DIRECTORY, ROOT, browse, entry

JOANNA = "491711111111@s.whatsapp.net"
ANNEKE = "491722222222@s.whatsapp.net"
SAM_ANNABEL = "491733333333@s.whatsapp.net"


@pytest.fixture
async def searchable(connect_media_worker: Callable[[list[list[Any]]], Awaitable[FakeWorker]]) -> FakeWorker:
    """Media source loaded, a worker whose directory has names that a search must tell apart."""
    return await connect_media_worker(
        [*DIRECTORY, entry(JOANNA, "Joanna"), entry(SAM_ANNABEL, "Sam Annabel"), entry(ANNEKE, "Anneke")]
    )


async def search(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, content_id: str, query: str, **extra: Any
) -> dict[str, Any]:
    """Search a folder the way the Media panel does (its search field, then Enter)."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "media_source/search_media", "media_content_id": content_id, "search_query": query, **extra}
    )
    answer: dict[str, Any] = await client.receive_json()
    return answer


async def found(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, content_id: str, query: str) -> list[str]:
    """Return the titles a search answers with, in its order."""
    answer = await search(hass, hass_ws_client, content_id, query)
    assert answer["success"], answer
    return [item["title"] for item in answer["result"]["result"]]


async def test_every_folder_offers_the_panels_search(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """The panel shows its search field only in a folder with can_search; a picture has none."""
    root = await browse(hass, hass_ws_client, ROOT)
    assert root["can_search"]
    assert all(child["can_search"] for child in root["children"])
    contacts = await browse(hass, hass_ws_client, root["children"][0]["media_content_id"])
    assert contacts["can_search"]
    assert not any(child["can_search"] for child in contacts["children"])


async def test_names_match_without_case_or_accents_and_starts_with_comes_first(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """Exact, then starts with, then a word starting with it, then contained; the answer is browse's items."""
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "ANNA") == ["Anna", "Sam Annabel", "Joanna"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "ann") == [
        "Anna",
        "Anneke",
        "Sam Annabel",
        "Joanna",
    ]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "emile") == ["Émile Zola"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "zola ÉMI") == ["Émile Zola"]
    answer = await search(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "anna")
    anna = answer["result"]["result"][0]
    assert anna["media_content_id"] == f"{ROOT}/{ENTRY_ID}/picture/{ANNA}"
    assert anna["thumbnail"] == f"/api/whatsapp/picture/{ENTRY_ID}/{ANNA}"
    assert anna["media_class"] == "image"
    assert anna["can_play"]
    assert not anna["can_expand"]


async def test_numbers_match_as_people_type_them(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """Spaces, + and dashes do not matter; a number found inside comes after one that starts with it."""
    contacts = f"{ROOT}/{ENTRY_ID}/contact"
    assert await found(hass, hass_ws_client, contacts, "+49 170 1234567") == ["Anna"]
    assert await found(hass, hass_ws_client, contacts, "49-1700-000003") == ["+491700000003"]
    assert await found(hass, hass_ws_client, contacts, "+49 170") == ["+491700000003", "Anna", "bert"]
    assert await found(hass, hass_ws_client, contacts, "98765") == ["bert"]
    # A LID's digits are not a phone number anybody knows.
    assert await found(hass, hass_ws_client, contacts, "123456789012345") == []


async def test_hidden_and_unknown_are_never_found(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """Only subjects whose picture the worker holds; a picture hidden since the directory drops out at once."""
    assert await found(hass, hass_ws_client, ROOT, "hidden") == []
    assert await found(hass, hass_ws_client, ROOT, "unknown anna") == []
    await searchable.accepted("whatsapp/avatar", **avatar_payload(ANNA, state="hidden", with_image=False))
    await hass.async_block_till_done()
    assert await found(hass, hass_ws_client, ROOT, "anna") == ["Anna's family", "Sam Annabel", "Joanna"]


async def test_a_search_covers_what_the_folder_holds(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The top and the account search contacts and groups; a kind, an initial or a page only itself."""
    assert await found(hass, hass_ws_client, ROOT, "anna") == ["Anna", "Anna's family", "Sam Annabel", "Joanna"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}", "family") == ["Anna's family"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/group", "anna") == ["Anna's family"]
    monkeypatch.setattr(media_source, "PAGE_SIZE", 2)
    await send_directory(
        hass, searchable, [entry(f"4917100000{n:02d}@s.whatsapp.net", name) for n, name in enumerate(["Ada", "Alma", "Anna", "Joanna"])]
    )
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact/A", "a") == ["Ada", "Alma", "Anna"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact/A/2", "a") == ["Anna"]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact/J", "anna") == ["Joanna"]


async def test_a_large_account_answers_at_most_the_cap(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """2,000 matches: the best SEARCH_RESULTS_MAX, starts-with first, each by title."""
    names = [f"Maria {n:04d}" for n in range(1_999)] + ["Ana Maria"]
    await send_directory(
        hass, searchable, [entry(f"4915{n:08d}@s.whatsapp.net", name) for n, name in enumerate(names)]
    )
    titles = await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "maria")
    assert len(titles) == media_source.SEARCH_RESULTS_MAX == 100
    assert titles == [f"Maria {n:04d}" for n in range(100)]
    assert await found(hass, hass_ws_client, f"{ROOT}/{ENTRY_ID}/contact", "ana") == ["Ana Maria"]


async def test_bad_searches_say_what_is_wrong(
    hass: HomeAssistant, searchable: FakeWorker, hass_ws_client: WebSocketGenerator
) -> None:
    """No text, a folder that does not exist, a picture: search_media_failed naming it; another media class: nothing."""
    for content_id, query, words in (
        (f"{ROOT}/{ENTRY_ID}/contact", "   ", "name or a phone number"),
        (f"{ROOT}/nope", "anna", "no loaded WhatsApp account nope"),
        (f"{ROOT}/{ENTRY_ID}/colleagues", "anna", "no WhatsApp folder"),
        (f"{ROOT}/{ENTRY_ID}/contact/Q", "anna", "no contact starting with Q"),
        (f"{ROOT}/{ENTRY_ID}/contact/A/9", "anna", "no page 9 of contact starting with A"),
        (f"{ROOT}/{ENTRY_ID}/picture/{ANNA}", "anna", "no WhatsApp folder"),
    ):
        answer = await search(hass, hass_ws_client, content_id, query)
        assert not answer["success"], content_id
        assert answer["error"]["code"] == "search_media_failed", answer
        assert words in answer["error"]["message"], answer
    answer = await search(hass, hass_ws_client, ROOT, "anna", media_filter_classes=["video"])
    assert answer["success"], answer
    assert answer["result"]["result"] == []
    assert await found(hass, hass_ws_client, ROOT, "bert") == ["bert"]


def test_ranking_alone() -> None:
    """The pure core: ranks, a number needs three digits, text with letters is never a number."""
    text = name_search.SearchText.parse
    assert text("+49 (170) 12-34").digits == "491701234"
    assert text("42").digits is None
    assert text("Room 42").digits is None
    assert text("  Émile   ZOLA ").words == ("emile", "zola")
    with pytest.raises(ValueError, match="name or a phone number"):
        text(" \t")
    assert name_search.fold("Ça  VA") == "ca va"
    assert name_search.phone_digits(ANNA) == "491701234567"
    assert name_search.phone_digits(LID_USER) is None
    assert name_search.phone_digits(GROUP) is None
