"""The blueprint in blueprints/automation/whatsapp, loaded by Home Assistant's own blueprint code.

A favourite's new picture, pushed by the fake worker, fires `whatsapp_avatar_updated`; the
automation made from the blueprint calls the chosen notify action with the name and the picture.
"""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import async_mock_service
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.whatsapp.const import DOMAIN
from homeassistant.components.blueprint import importer
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util

from .common import ANNA, JPEG_B, avatar_payload
from .conftest import FakeWorker

REPO_ROOT = Path(__file__).parent.parent
BLUEPRINT_PATH = "whatsapp/favourite_picture_changed.yaml"
BLUEPRINT_FILE = REPO_ROOT / "blueprints" / "automation" / BLUEPRINT_PATH


def source_url() -> str:
    """Return where the blueprint is published: the raw file in package.json's repository, on main."""
    repository = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))["repository"]["url"]
    slug = repository.removeprefix("git+https://github.com/").removesuffix(".git")
    return f"https://raw.githubusercontent.com/{slug}/main/blueprints/automation/{BLUEPRINT_PATH}"


@pytest.fixture
async def notify_calls(hass: HomeAssistant, tmp_path: Path) -> list[ServiceCall]:
    """Put the blueprint in a config folder of its own, as a user's import does, and mock a notifier."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / BLUEPRINT_PATH
    target.parent.mkdir(parents=True)
    shutil.copyfile(BLUEPRINT_FILE, target)
    return async_mock_service(hass, "notify", "my_phone")


async def use_blueprint(hass: HomeAssistant, **inputs: Any) -> None:
    """Set up one automation from the blueprint; the automation must load."""
    config = {
        "automation": {
            "id": "whatsapp_picture",
            "alias": "WhatsApp picture",
            "use_blueprint": {"path": BLUEPRINT_PATH, "input": inputs},
        }
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    state = hass.states.get("automation.whatsapp_picture")
    assert state is not None
    assert state.state == "on"


def anna_picture(hass: HomeAssistant) -> str:
    """Return the entity id of Anna's picture."""
    entity_id = er.async_get(hass).async_get_entity_id("image", DOMAIN, f"{ANNA}_picture")
    assert entity_id is not None
    return entity_id


async def test_new_picture_notifies_with_name_and_picture(
    hass: HomeAssistant, worker: FakeWorker, notify_calls: list[ServiceCall]
) -> None:
    """A real change notifies once, with the name and the image entity's picture; the baseline and a removal do not."""
    await use_blueprint(hass, notify_action="notify.my_phone")
    await worker.command("whatsapp/avatar", **avatar_payload())
    await hass.async_block_till_done()
    assert notify_calls == []

    await worker.command("whatsapp/avatar", **avatar_payload(content=JPEG_B, name="Anna Maria"))
    await hass.async_block_till_done()
    picture = hass.states.get(anna_picture(hass)).attributes["entity_picture"]
    assert picture.startswith(f"/api/image_proxy/{anna_picture(hass)}?token=")
    assert [call.data for call in notify_calls] == [
        {"title": "WhatsApp", "message": "Anna Maria has a new profile picture", "data": {"image": picture}}
    ]

    await worker.command("whatsapp/avatar", **avatar_payload(content=None, state="none"))
    await hass.async_block_till_done()
    assert len(notify_calls) == 1


async def test_a_favourite_not_picked_is_not_notified_about(
    hass: HomeAssistant, worker: FakeWorker, notify_calls: list[ServiceCall]
) -> None:
    """With `pictures` naming other favourites, Anna's new picture sends nothing."""
    await use_blueprint(
        hass, notify_action="notify.my_phone", pictures=["image.someone_else"]
    )
    await worker.command("whatsapp/avatar", **avatar_payload())
    await worker.command("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await hass.async_block_till_done()
    assert notify_calls == []


async def test_picked_favourite_is_notified_with_the_custom_message(
    hass: HomeAssistant, worker: FakeWorker, notify_calls: list[ServiceCall]
) -> None:
    """A picked favourite is notified about, with the title and message given."""
    await use_blueprint(
        hass, notify_action="notify.my_phone", title="Faces", message="New face: {{ name }}", pictures=[anna_picture(hass)]
    )
    await worker.command("whatsapp/avatar", **avatar_payload())
    await worker.command("whatsapp/avatar", **avatar_payload(content=JPEG_B))
    await hass.async_block_till_done()
    assert [(call.data["title"], call.data["message"]) for call in notify_calls] == [("Faces", "New face: Anna")]


async def test_importable_by_its_source_url(hass: HomeAssistant, aioclient_mock: AiohttpClientMocker) -> None:
    """Home Assistant's importer takes the blueprint's source_url, which names this repository's raw file."""
    url = source_url()
    assert yaml_util.parse_yaml(BLUEPRINT_FILE.read_text(encoding="utf-8"))["blueprint"]["source_url"] == url
    aioclient_mock.get(url, text=BLUEPRINT_FILE.read_text(encoding="utf-8"))
    imported = await importer.fetch_blueprint_from_url(hass, url)
    assert imported.blueprint.domain == "automation"
    assert imported.blueprint.metadata["source_url"] == url
    assert imported.blueprint.inputs.keys() == {"notify_action", "title", "message", "pictures"}
