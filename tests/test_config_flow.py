"""Config flow (user, Supervisor discovery) and the favourites options flow."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

import aiohttp
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.whatsapp.const import (
    CONF_FAVOURITES,
    DOMAIN,
    MAX_DIRECTORY_CHUNK_ENTRIES,
)
from custom_components.whatsapp.models import DirectoryEntry
from custom_components.whatsapp.picker import (
    PICKER_MATCHES_MAX,
    picker_order,
    search_directory,
)
from custom_components.whatsapp.store import DIRECTORY_SAVE_DELAY_SECONDS
from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.util import dt as dt_util

from .common import ANNA, BERT, GROUP, LID_USER, directory_payload, status_payload
from .conftest import FakeWorker, setup_entry

DISCOVERY = HassioServiceInfo(config={}, name="WhatsApp Avatars", slug="whatsapp_avatars", uuid="1234")


async def test_user_flow_confirms(hass: HomeAssistant) -> None:
    """User flow confirms."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "WhatsApp"
    assert result["data"] == {}


async def test_another_entry_needs_a_waiting_worker(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """With an account set up, the user step offers only workers waiting for one; with none it says how to add one."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_waiting_worker"


async def test_hassio_discovery_one_click(hass: HomeAssistant) -> None:
    """Supervisor discovery one click."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_HASSIO}, data=DISCOVERY)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"] == {"addon": "WhatsApp Avatars"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("slug", ["local_whatsapp_avatars", "5c53de3b_whatsapp_avatars"])
async def test_hassio_discovery_from_a_repository(hass: HomeAssistant, slug: str) -> None:
    """The Supervisor names an app from a repository with the repository's id in front."""
    discovery = HassioServiceInfo(config={}, name="WhatsApp Avatars", slug=slug, uuid="1234")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_HASSIO}, data=discovery)
    assert result["step_id"] == "hassio_confirm"


@pytest.mark.parametrize("slug", ["core_mosquitto", "whatsapp_avatars_evil", "local_whatsapp", "xwhatsapp_avatars"])
async def test_hassio_discovery_from_another_app_is_refused(hass: HomeAssistant, slug: str) -> None:
    """Only our app may offer to set the integration up; another app's discovery is turned away."""
    discovery = HassioServiceInfo(config={}, name="WhatsApp Avatars", slug=slug, uuid="1234")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_HASSIO}, data=discovery)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_our_app"
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_hassio_discovery_when_configured(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Supervisor discovery when configured."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_HASSIO}, data=DISCOVERY)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_pick_favourites(hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker) -> None:
    """The picker offers the directory, labelled, searchable, by name first, no free text."""
    await worker.command(
        "whatsapp/directory", **directory_payload((GROUP, "family"), (BERT, None), (LID_USER, None), (ANNA, "Anna"))
    )
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {"count": "4"}
    selector = result["data_schema"].schema[CONF_FAVOURITES].config
    assert selector["multiple"] is True
    assert selector["custom_value"] is False
    # In the picker's order (named, by name whatever the case; then numbers), not the select's.
    assert selector["sort"] is False
    assert [(option["value"], option["label"]) for option in selector["options"]] == [
        (ANNA, "Anna (+491701234567)"),
        (GROUP, f"family ({GROUP})"),
        (LID_USER, LID_USER),
        (BERT, "+491709876543"),
    ]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: [GROUP, ANNA, GROUP]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(init_integration.options) == {CONF_FAVOURITES: sorted([ANNA, GROUP])}
    await hass.async_block_till_done()
    assert await worker.next_event() == {"type": "favourites", "jids": sorted([ANNA, GROUP])}


async def test_options_keep_favourite_missing_from_directory(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A favourite the worker no longer reports stays pickable, so saving does not drop it."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    options = result["data_schema"].schema[CONF_FAVOURITES].config["options"]
    assert [option["value"] for option in options] == [ANNA]


async def test_options_with_5000_contacts(hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker) -> None:
    """Above PICKER_ALL_OPTIONS_MAX the select holds the favourites only; a search adds one, then saving keeps both."""
    entries = [(f"49170{n:07d}@s.whatsapp.net", f"Contact {n}") for n in range(5000)]
    assert (await worker.command("whatsapp/directory", **directory_payload(*entries)))["success"]
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["description_placeholders"] == {"count": "5000"}
    options = result["data_schema"].schema[CONF_FAVOURITES].config["options"]
    assert [option["value"] for option in options] == [ANNA]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_FAVOURITES: [ANNA], "search": "contact 4321"}
    )
    assert result["step_id"] == "search"
    matches = result["data_schema"].schema["add"].config["options"]
    assert matches[0] == {"value": "491700004321@s.whatsapp.net", "label": "Contact 4321 (+491700004321)"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"add": ["491700004321@s.whatsapp.net"]})
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: result["data_schema"]({})[CONF_FAVOURITES]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(init_integration.options) == {CONF_FAVOURITES: sorted([ANNA, "491700004321@s.whatsapp.net"])}


async def test_options_search_without_a_match_says_so(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A search that finds nothing stays on the form with an error; the favourites are kept."""
    await worker.command("whatsapp/directory", **directory_payload((BERT, "Bert")))
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: [ANNA], "search": "Zoe"})
    assert result["step_id"] == "init"
    assert result["errors"] == {"search": "no_match"}
    assert result["data_schema"]({})[CONF_FAVOURITES] == [ANNA]
    # An accent typed alone folds to nothing to look for: the same answer, not an unknown error.
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: [ANNA], "search": "\u0301"})
    assert result["step_id"] == "init"
    assert result["errors"] == {"search": "no_match"}
    assert result["data_schema"]({})[CONF_FAVOURITES] == [ANNA]


async def test_options_search_step_untick_removes(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A favourite shown among the matches and unticked there is no favourite any more."""
    await worker.command("whatsapp/directory", **directory_payload((ANNA, "Anna"), (BERT, "Bert")))
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: [ANNA], "search": "ann"})
    assert result["data_schema"]({})["add"] == [ANNA]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"add": []})
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: result["data_schema"]({})[CONF_FAVOURITES]})
    assert dict(init_integration.options) == {CONF_FAVOURITES: []}


async def test_directory_of_200000_reaches_ha_in_chunks_and_the_picker_finds_any(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """200,000 contacts and groups in chunks under HA's 4 MiB message limit: the connection stays, the picker finds by name and number."""
    contacts = [[f"4917{n:08d}@s.whatsapp.net", "contact", f"Person {n:06d}", "unknown"] for n in range(190_000)]
    groups = [[f"1203630{n:011d}@g.us", "group", f"Group {n:05d}", "fetched"] for n in range(10_000)]
    entries = contacts + groups
    size = MAX_DIRECTORY_CHUNK_ENTRIES
    chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
    for index, chunk in enumerate(chunks):
        payload = {"transfer_id": "big", "chunk": index, "chunks": len(chunks), "entries": chunk}
        assert len(json.dumps(payload)) < 4 * 1024 * 1024 // 4
        result = await worker.command("whatsapp/directory", **payload)
        assert result["success"], result
        if index < len(chunks) - 1:
            # A half-received directory never replaces the whole one.
            assert len(init_integration.runtime_data.coordinator.data.directory) == 0
    assert len(init_integration.runtime_data.coordinator.data.directory) == 200_000
    assert (await worker.command("whatsapp/status", **status_payload()))["success"], "the connection stayed open"

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    for query, expected in (
        ("Person 123456", "491700123456@s.whatsapp.net"),
        ("+49 170 0123457", "491700123457@s.whatsapp.net"),
        ("group 09999", "120363000000009999@g.us"),
    ):
        chosen = result["data_schema"]({})[CONF_FAVOURITES]
        result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: chosen, "search": query})
        assert result["step_id"] == "search", query
        matches = result["data_schema"].schema["add"].config["options"]
        assert len(matches) <= PICKER_MATCHES_MAX
        assert matches[0]["value"] == expected, (query, matches[:3])
        result = await hass.config_entries.options.async_configure(result["flow_id"], {"add": [expected]})
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_FAVOURITES: result["data_schema"]({})[CONF_FAVOURITES]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(init_integration.options[CONF_FAVOURITES]) == 4


async def test_one_message_over_4_mib_closes_the_connection(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """Why the directory comes in chunks: HA's websocket drops a client whose message passes 4 MiB."""
    entries = [[f"4917{n:08d}@s.whatsapp.net", "contact", f"Person {n:06d}", "unknown"] for n in range(80_000)]
    payload = {"transfer_id": "t", "chunk": 0, "chunks": 1, "entries": entries}
    assert len(json.dumps(payload)) > 4 * 1024 * 1024
    try:
        await worker.client.send_json_auto_id({"type": "whatsapp/directory", **payload})
        closed = (await worker.client.receive()).type
    except ConnectionError:
        # The server reset the connection while the message was still being written.
        closed = aiohttp.WSMsgType.CLOSED
    assert closed in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR)
    assert len(init_integration.runtime_data.coordinator.data.directory) == 0


async def test_options_abort_without_directory(hass: HomeAssistant, favourites: list[str], mock_config_entry: MockConfigEntry) -> None:
    """Options abort without directory."""
    favourites.clear()
    await setup_entry(hass, mock_config_entry)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_directory"


async def test_options_abort_when_not_loaded(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Options abort when not loaded."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


async def test_directory_survives_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, hass_storage: dict[str, Any]
) -> None:
    """The picker works after a restart while the worker is away; saving waits for a quiet moment."""
    await worker.command("whatsapp/directory", **directory_payload((BERT, "Bert")))
    assert "whatsapp.directory" not in hass_storage
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DIRECTORY_SAVE_DELAY_SECONDS + 1))
    await hass.async_block_till_done()
    assert hass_storage["whatsapp.directory"]["data"]["entries"] == [[BERT, "contact", "Bert", "unknown"]]
    await worker.close()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await setup_entry(hass, init_integration)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    values = [option["value"] for option in result["data_schema"].schema[CONF_FAVOURITES].config["options"]]
    assert sorted(values) == [ANNA, BERT]


async def test_directory_stored_as_objects_is_read(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A directory stored before entries became [jid, kind, name, state] still loads."""
    hass_storage["whatsapp.directory"] = {
        "version": 1,
        "key": "whatsapp.directory",
        "data": {"entries": [{"jid": BERT, "kind": "contact", "name": "Bert", "state": "unknown"}]},
    }
    await setup_entry(hass, mock_config_entry)
    assert mock_config_entry.runtime_data.coordinator.data.directory[BERT].name == "Bert"


async def test_unreadable_directory_is_ignored(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Unreadable directory is ignored."""
    hass_storage["whatsapp.directory"] = {"version": 1, "key": "whatsapp.directory", "data": {"entries": [{"name": 1}]}}
    await setup_entry(hass, mock_config_entry)
    assert dict(mock_config_entry.runtime_data.coordinator.data.directory) == {}


async def test_directory_pushed_just_before_a_reload_is_kept(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, hass_storage: dict[str, Any]
) -> None:
    """Unloading writes a directory still waiting for its delayed save; the reloaded entry reads it."""
    await worker.command("whatsapp/directory", **directory_payload((BERT, "Bert"), (GROUP, "Family")))
    assert "whatsapp.directory" not in hass_storage
    # Well inside the save delay: only the flush on unload can have written it.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert [entry[0] for entry in hass_storage["whatsapp.directory"]["data"]["entries"]] == [BERT, GROUP]
    assert sorted(init_integration.runtime_data.coordinator.data.directory) == sorted([BERT, GROUP])
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    values = [option["value"] for option in result["data_schema"].schema[CONF_FAVOURITES].config["options"]]
    assert sorted(values) == sorted([ANNA, BERT, GROUP])


async def test_unload_without_a_new_directory_writes_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Nothing pending, nothing written: an unload does not create an empty directory file."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert "whatsapp.directory" not in hass_storage


def test_picker_order_and_number_search() -> None:
    """Names first (case aside), then numbers; a number typed with spaces or + finds the contact."""
    entries = [
        DirectoryEntry(jid="491709876543@s.whatsapp.net", kind="contact", name=None, state="fetched"),
        DirectoryEntry(jid="491701234567@s.whatsapp.net", kind="contact", name="zoe", state="fetched"),
        DirectoryEntry(jid="12025550123@s.whatsapp.net", kind="contact", name="Anna", state="fetched"),
        DirectoryEntry(jid="120363012345678901@g.us", kind="group", name="Bowling", state="none"),
    ]
    assert [entry.name for entry in picker_order(entries)] == ["Anna", "Bowling", "zoe", None]
    for typed in ("+49 170 1234567", "+49 (170) 123-4567", "49-170-1234567", "491701234567"):
        assert [entry.name for entry in search_directory(entries, typed)] == ["zoe"], typed
    assert [entry.name for entry in search_directory(entries, "+1 202 555 0123")] == ["Anna"]


def test_the_picker_search_folds_accents_and_compares_phone_numbers_only() -> None:
    """Accents and case aside, by the Media panel's matcher (name_search): "emile" finds Émile; a group id is no number."""
    entries = [
        DirectoryEntry(jid="491701234567@s.whatsapp.net", kind="contact", name="Émile Zola", state="fetched"),
        DirectoryEntry(jid="491709876543@s.whatsapp.net", kind="contact", name="Emil Nolde", state="fetched"),
        DirectoryEntry(jid="120363012345678901@g.us", kind="group", name="Zoë's team", state="none"),
    ]
    for typed, names in (
        ("emile", ["Émile Zola"]),
        ("ÉMILE  zola", ["Émile Zola"]),
        ("emil", ["Emil Nolde", "Émile Zola"]),
        ("zoe", ["Zoë's team"]),
        ("zol", ["Émile Zola"]),
    ):
        assert [entry.name for entry in search_directory(entries, typed)] == names, typed
    # A group's id is not a phone number a person types.
    assert search_directory(entries, "120363012345678901") == []
    with pytest.raises(ValueError, match="name or a phone number"):
        search_directory(entries, "  ")
