"""Repair issues: the worker away too long, and WhatsApp having logged the worker out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.whatsapp.const import (
    DOMAIN,
    ISSUE_LOGGED_OUT,
    ISSUE_WORKER_GONE,
    WORKER_GONE_ISSUE_DELAY,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .common import status_payload
from .conftest import FakeWorker


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    """Return one of the integration's repair issues, if it exists."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def _fire_in(hass: HomeAssistant, delta: timedelta) -> None:
    """Run the timers due within `delta` from now (HA's test clock; nothing sleeps)."""
    async_fire_time_changed(hass, dt_util.utcnow() + delta)
    await hass.async_block_till_done()


async def test_worker_never_connects(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """After the delay without a worker, an issue; not before."""
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY - timedelta(seconds=5))
    assert issue(hass, ISSUE_WORKER_GONE) is None
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY + timedelta(seconds=1))
    created = issue(hass, ISSUE_WORKER_GONE)
    assert created is not None
    assert created.translation_placeholders == {"minutes": "15"}
    assert created.severity is ir.IssueSeverity.WARNING


async def test_worker_gone_then_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A short absence (a restart or update) raises nothing; a long one does; coming back clears it."""
    worker = await connect_worker()
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY * 2)
    assert issue(hass, ISSUE_WORKER_GONE) is None

    await worker.close()
    await hass.async_block_till_done()
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY / 2)
    assert issue(hass, ISSUE_WORKER_GONE) is None
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY + timedelta(seconds=1))
    assert issue(hass, ISSUE_WORKER_GONE) is not None

    await connect_worker()
    assert issue(hass, ISSUE_WORKER_GONE) is None


async def test_unload_cancels_the_timer(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Unload cancels the timer."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await _fire_in(hass, WORKER_GONE_ISSUE_DELAY * 2)
    assert issue(hass, ISSUE_WORKER_GONE) is None


async def test_logged_out(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Logged out raises an error-level issue; connected again clears it; other states leave it."""
    await worker.command("whatsapp/status", **status_payload(connection="logged-out"))
    created = issue(hass, ISSUE_LOGGED_OUT)
    assert created is not None
    assert created.severity is ir.IssueSeverity.ERROR
    await worker.command("whatsapp/status", **status_payload(connection="pairing"))
    assert issue(hass, ISSUE_LOGGED_OUT) is not None
    await worker.command("whatsapp/status", **status_payload(connection="open"))
    assert issue(hass, ISSUE_LOGGED_OUT) is None
