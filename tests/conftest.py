"""Fixtures: a config entry, the loaded integration, and a fake worker on HA's websocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from homeassistant.core import HomeAssistant

from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.whatsapp.const import CONF_FAVOURITES, DOMAIN, PROTOCOL_VERSION

from .common import ANNA


ENTRY_ID = "01JWHATSAPPENTRY0000000000"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/whatsapp."""


@pytest.fixture
def favourites() -> list[str]:
    """The favourites in the entry's options; override per test."""
    return [ANNA]


@pytest.fixture
def mock_config_entry(favourites: list[str]) -> MockConfigEntry:
    """The integration's single entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="WhatsApp",
        data={},
        options={CONF_FAVOURITES: favourites},
        entry_id=ENTRY_ID,
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Adds and loads an entry, as HA does at start."""
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries(DOMAIN)}:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def init_integration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration loaded, with no worker connected yet."""
    return await setup_entry(hass, mock_config_entry)


class FakeWorker:
    """Speaks the worker's side of the protocol over a real HA websocket connection."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.subscription_id: int | None = None

    async def command(self, command: str, **payload: Any) -> dict[str, Any]:
        """Sends one command and returns HA's result message."""
        await self.client.send_json_auto_id({"type": command, **payload})
        return await self.client.receive_json()

    async def hello(self, protocol_version: int = PROTOCOL_VERSION) -> dict[str, Any]:
        return await self.command("whatsapp/hello", protocol_version=protocol_version, worker_version="0.1.0-test")

    async def subscribe(self) -> list[str]:
        """Subscribes and returns the favourites HA sends at once."""
        result = await self.command("whatsapp/subscribe")
        assert result["success"], result
        self.subscription_id = result["id"]
        event = await self.next_event()
        assert event["type"] == "favourites"
        return event["jids"]

    async def next_event(self) -> dict[str, Any]:
        """The next message HA sends down the subscription."""
        message = await self.client.receive_json()
        assert message["type"] == "event", message
        assert message["id"] == self.subscription_id
        return message["event"]

    async def close(self) -> None:
        await self.client.close()


@pytest.fixture
async def connect_worker(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> AsyncGenerator[Any]:
    """Connects a fake worker: hello, subscribe, favourites received."""
    workers: list[FakeWorker] = []

    async def connect(subscribe: bool = True) -> FakeWorker:
        worker = FakeWorker(await hass_ws_client(hass))
        workers.append(worker)
        if subscribe:
            hello = await worker.hello()
            assert hello["success"], hello
            await worker.subscribe()
            await hass.async_block_till_done()
        return worker

    yield connect


@pytest.fixture
async def worker(init_integration: MockConfigEntry, connect_worker: Any) -> FakeWorker:
    """A subscribed worker on the loaded integration."""
    return await connect_worker()
