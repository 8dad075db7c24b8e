"""Fixtures: a config entry, the loaded integration, and a fake worker on HA's websocket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.whatsapp.const import CONF_FAVOURITES, DOMAIN, PROTOCOL_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .common import ANNA

ENTRY_ID = "01JWHATSAPPENTRY0000000000"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/whatsapp."""


@pytest.fixture
def favourites() -> list[str]:
    """Return the favourites in the entry's options; override per test."""
    return [ANNA]


@pytest.fixture
def mock_config_entry(favourites: list[str]) -> MockConfigEntry:
    """Return the integration's single entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="WhatsApp",
        data={},
        options={CONF_FAVOURITES: favourites},
        entry_id=ENTRY_ID,
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and load an entry, as HA does at start."""
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries(DOMAIN)}:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def init_integration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """Load the integration, with no worker connected yet."""
    return await setup_entry(hass, mock_config_entry)


class FakeWorker:
    """Speaks the worker's side of the protocol over a real HA websocket connection."""

    def __init__(self, client: Any) -> None:
        """Wrap one websocket client of HA's test harness."""
        self.client = client
        self.subscription_id: int | None = None

    async def command(self, command: str, **payload: Any) -> dict[str, Any]:
        """Send one command and return HA's result message."""
        await self.client.send_json_auto_id({"type": command, **payload})
        return await self.client.receive_json()

    async def accepted(self, command: str, **payload: Any) -> dict[str, Any]:
        """Send one command that HA must accept; return its result message."""
        result = await self.command(command, **payload)
        assert result["success"], (command, result)
        return result

    async def refused(self, command: str, **payload: Any) -> str:
        """Send one command that HA must refuse; return the error code."""
        result = await self.command(command, **payload)
        assert not result["success"], (command, result)
        code: str = result["error"]["code"]
        return code

    async def refusal_codes(self, commands: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
        """Send each command, which HA must refuse; return the code per command."""
        return {command: await self.refused(command, **payload) for command, payload in commands}

    async def hello(self, protocol_version: int = PROTOCOL_VERSION, worker_id: str | None = None) -> dict[str, Any]:
        """Send the version handshake, as the worker does first on every connection."""
        identity = {} if worker_id is None else {"worker_id": worker_id}
        return await self.command(
            "whatsapp/hello", protocol_version=protocol_version, worker_version="0.1.0-test", **identity
        )

    async def subscribe(self) -> list[str]:
        """Subscribe and return the favourites HA sends at once."""
        result = await self.command("whatsapp/subscribe")
        assert result["success"], result
        self.subscription_id = result["id"]
        event = await self.next_event()
        assert event["type"] == "favourites"
        return event["jids"]

    async def next_event(self) -> dict[str, Any]:
        """Return the next message HA sends down the subscription."""
        message = await self.client.receive_json()
        assert message["type"] == "event", message
        assert message["id"] == self.subscription_id
        return message["event"]

    async def close(self) -> None:
        """Close the socket, as a worker that stops or loses its network does."""
        await self.client.close()


@pytest.fixture
async def connect_worker(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> Callable[..., Awaitable[FakeWorker]]:
    """Connect a fake worker: hello, subscribe, favourites received."""

    async def connect(subscribe: bool = True, worker_id: str | None = None) -> FakeWorker:
        worker = FakeWorker(await hass_ws_client(hass))
        if subscribe:
            hello = await worker.hello(worker_id=worker_id)
            assert hello["success"], hello
            await worker.subscribe()
            await hass.async_block_till_done()
        return worker

    return connect


async def send_directory(hass: HomeAssistant, worker: FakeWorker, entries: list[list[Any]]) -> None:
    """Send a whole directory in one chunk."""
    await worker.accepted("whatsapp/directory", transfer_id="t1", chunk=0, chunks=1, entries=entries)
    await hass.async_block_till_done()


@pytest.fixture
async def connect_media_worker(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> Callable[[list[list[Any]]], Awaitable[FakeWorker]]:
    """Load media_source (before HA's web server runs, as at start), then connect a worker with this directory."""

    async def connect(entries: list[list[Any]]) -> FakeWorker:
        assert await async_setup_component(hass, "media_source", {})
        worker: FakeWorker = await connect_worker()
        await send_directory(hass, worker, entries)
        return worker

    return connect


@pytest.fixture
async def worker(init_integration: MockConfigEntry, connect_worker: Any) -> FakeWorker:
    """Return a subscribed worker on the loaded integration."""
    return await connect_worker()
