"""A person's picture follows a linked contact's, through image_upload as the person editor does it."""

from __future__ import annotations

from http import HTTPStatus
import io
from typing import Any

from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.whatsapp.const import DOMAIN
from custom_components.whatsapp.person_link import SERVE_SIZE, PersonPictures
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component

from .common import ANNA, BERT, GROUP, avatar_payload, directory_payload
from .conftest import ENTRY_ID, FakeWorker


def jpeg(colour: str) -> bytes:
    """Return a real JPEG (image_upload opens every upload with Pillow)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


RED = jpeg("red")
BLUE = jpeg("blue")
EARLIER_PICTURE = "/api/image/serve/0123456789abcdef0123456789abcdef/512x512"


@pytest.fixture
async def person(hass: HomeAssistant) -> dict[str, Any]:
    """Return a person made in the UI (the storage collection), with a picture of its own."""
    assert await async_setup_component(hass, "person", {})
    people = hass.data["person"][1]
    return await people.async_create_item({"name": "Bert Person", "picture": EARLIER_PICTURE})


def picture_of(hass: HomeAssistant, person_id: str) -> str | None:
    """Return the person's `picture` in the person collection."""
    return hass.data["person"][1].data[person_id].get("picture")


def uploads(hass: HomeAssistant) -> dict[str, Any]:
    """Return image_upload's items."""
    return dict(hass.data["image_upload"].data)


async def served(hass: HomeAssistant, hass_client: ClientSessionGenerator, url: str) -> tuple[int, bytes]:
    """Fetch what `/api/image/serve/...` answers."""
    response = await (await hass_client()).get(url)
    return response.status, await response.read()


async def link(hass: HomeAssistant, contact: str = BERT) -> None:
    """Call whatsapp.link_person for the test's person; it answers with the contact's JID."""
    response = await hass.services.async_call(
        DOMAIN, "link_person", {"person": "person.bert_person", "contact": contact}, blocking=True, return_response=True
    )
    assert response is not None and response["jid"] in {ANNA, BERT}


async def test_linked_persons_picture_follows_the_contact(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker, hass_client: ClientSessionGenerator
) -> None:
    """Linking asks the worker for the contact's bytes; each new picture replaces the upload."""
    await link(hass, "+49 170 9876543")
    # Bert is no favourite, but the worker now pushes his bytes: he is in the list it is sent.
    assert await worker.next_event() == {"type": "favourites", "jids": sorted([ANNA, BERT])}
    assert picture_of(hass, person["id"]) == EARLIER_PICTURE
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    first = picture_of(hass, person["id"])
    assert first is not None and first.startswith("/api/image/serve/") and first.endswith(SERVE_SIZE)
    first_id = first.split("/")[4]
    assert list(uploads(hass)) == [first_id]
    assert await served(hass, hass_client, f"/api/image/serve/{first_id}/original") == (HTTPStatus.OK, RED)
    # The person entity shows it, as the person editor's upload would.
    assert hass.states.get("person.bert_person").attributes["entity_picture"] == first

    # Metadata only, or the same bytes again: nothing new.
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED, with_image=False))
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    assert picture_of(hass, person["id"]) == first

    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=BLUE))
    await hass.async_block_till_done()
    second = picture_of(hass, person["id"])
    assert second != first
    second_id = second.split("/")[4]
    # The old upload is gone, files and all.
    assert list(uploads(hass)) == [second_id]
    assert (await served(hass, hass_client, f"/api/image/serve/{first_id}/original"))[0] == HTTPStatus.NOT_FOUND
    assert await served(hass, hass_client, f"/api/image/serve/{second_id}/original") == (HTTPStatus.OK, BLUE)

    # Hidden keeps the last picture; removed on WhatsApp gives back the earlier one.
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=None, state="hidden"))
    await hass.async_block_till_done()
    assert picture_of(hass, person["id"]) == second
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=None, state="none"))
    await hass.async_block_till_done()
    assert picture_of(hass, person["id"]) == EARLIER_PICTURE
    assert uploads(hass) == {}


async def test_unlink_restores_the_earlier_picture(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker
) -> None:
    """Unlinking deletes the upload and gives the person its own picture back; Bert leaves the list."""
    await link(hass)
    await worker.next_event()
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    assert picture_of(hass, person["id"]) != EARLIER_PICTURE
    response = await hass.services.async_call(
        DOMAIN, "unlink_person", {"person": "person.bert_person"}, blocking=True, return_response=True
    )
    assert response == {"jid": BERT}
    assert await worker.next_event() == {"type": "favourites", "jids": [ANNA]}
    assert picture_of(hass, person["id"]) == EARLIER_PICTURE
    assert uploads(hass) == {}
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "unlink_person", {"person": "person.bert_person"}, blocking=True)
    assert refused.value.translation_key == "person_not_linked"


async def test_a_favourite_already_held_shows_at_once(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker
) -> None:
    """Anna's bytes are in HA already (a favourite), and the worker will not send them again."""
    await worker.accepted("whatsapp/avatar", **avatar_payload(content=RED))
    await hass.async_block_till_done()
    await link(hass, ANNA)
    picture = picture_of(hass, person["id"])
    assert picture is not None and picture.split("/")[4] in uploads(hass)


async def test_a_picture_someone_set_meanwhile_stays(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker
) -> None:
    """A picture set in the person editor after the link is not overwritten by unlinking."""
    await link(hass)
    await worker.next_event()
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    mine = "/api/image/serve/fedcba9876543210fedcba9876543210/512x512"
    await hass.data["person"][1].async_update_item(person["id"], {"picture": mine})
    await hass.services.async_call(DOMAIN, "unlink_person", {"person": "person.bert_person"}, blocking=True)
    assert picture_of(hass, person["id"]) == mine
    assert uploads(hass) == {}


async def test_bad_calls_are_refused(hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker) -> None:
    """Not a person, or not a contact: a clear error, nothing linked."""
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "link_person", {"person": "image.491701234567", "contact": BERT}, blocking=True
        )
    assert refused.value.translation_key == "unknown_person"
    with pytest.raises(ServiceValidationError) as refused:
        await link(hass, "not a number")
    assert refused.value.translation_key == "invalid_jid"
    entry = hass.config_entries.async_get_entry(ENTRY_ID)
    assert entry.runtime_data.coordinator.person_pictures.links == {}


async def test_removing_the_entry_ends_every_link(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker
) -> None:
    """The entry goes: the person has its earlier picture, the upload and the stored links are gone."""
    await link(hass)
    await worker.next_event()
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    assert uploads(hass) != {}
    assert await hass.config_entries.async_remove(ENTRY_ID)
    await hass.async_block_till_done()
    assert picture_of(hass, person["id"]) == EARLIER_PICTURE
    assert uploads(hass) == {}
    reread = PersonPictures(hass, ENTRY_ID)
    await reread.async_load()
    assert reread.links == {}


async def test_links_survive_a_reload(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker, mock_config_entry: MockConfigEntry
) -> None:
    """After a reload the link (and its upload) is read back and keeps following the contact."""
    await link(hass)
    await worker.next_event()
    await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
    await hass.async_block_till_done()
    before = picture_of(hass, person["id"])
    assert await hass.config_entries.async_reload(ENTRY_ID)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    assert coordinator.person_pictures.linked_jids() == {BERT}
    await coordinator.async_apply_avatar(avatar_payload(jid=BERT, name="Bert", content=BLUE, checked_at=None, changed_at=None), BLUE)
    after = picture_of(hass, person["id"])
    assert after != before
    assert list(uploads(hass)) == [after.split("/")[4]]


async def test_without_people_the_push_still_succeeds(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    """A link whose people went away (person not set up after a restart) costs a warning, not the push."""
    await link(hass)
    await worker.next_event()
    people = hass.data.pop("person")
    try:
        await worker.accepted("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", content=RED))
        await hass.async_block_till_done()
    finally:
        hass.data["person"] = people
    assert "people are not set up" in caplog.text
    assert uploads(hass) == {}


async def test_options_link_and_unlink_people(
    hass: HomeAssistant, person: dict[str, Any], worker: FakeWorker, mock_config_entry: MockConfigEntry
) -> None:
    """The options flow's People step: contacts by name (no groups), link, then end the link."""
    await worker.accepted(
        "whatsapp/directory", **directory_payload((BERT, "Bert"), (GROUP, "Family"), (ANNA, "Anna"))
    )
    result = await hass.config_entries.options.async_init(ENTRY_ID)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"favourites": [ANNA], "people": True})
    assert result["step_id"] == "people"
    contacts = result["data_schema"].schema["contact"].config["options"]
    assert [option["value"] for option in contacts] == [ANNA, BERT]
    # A person without a contact, or a number that is none: said on the form, nothing linked.
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"person": "person.bert_person"})
    assert result["errors"] == {"contact": "person_and_contact"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"person": "person.bert_person", "contact": "12"}
    )
    assert result["errors"] == {"contact": "invalid_jid"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"person": "person.bert_person", "contact": "+49 170 9876543"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {"favourites": [ANNA]}
    coordinator = mock_config_entry.runtime_data.coordinator
    assert {link.jid for link in coordinator.person_pictures.links.values()} == {BERT}
    assert await worker.next_event() == {"type": "favourites", "jids": sorted([ANNA, BERT])}

    result = await hass.config_entries.options.async_init(ENTRY_ID)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"favourites": [ANNA], "people": True})
    unlink = result["data_schema"].schema["unlink"].config["options"]
    assert unlink == [{"value": person["id"], "label": "Bert Person → Bert (+491709876543)"}]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"unlink": [person["id"]]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert coordinator.person_pictures.links == {}
    assert picture_of(hass, person["id"]) == EARLIER_PICTURE
