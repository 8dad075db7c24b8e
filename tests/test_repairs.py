"""Repair issues: the worker away too long, WhatsApp out of reach too long, and a logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.whatsapp.account_issues import account_issue_id
from custom_components.whatsapp.const import (
    DOMAIN,
    ISSUE_LOGGED_OUT,
    ISSUE_WHATSAPP_DOWN,
    ISSUE_WORKER_GONE,
    LINKED_DEVICES_HELP_URL,
    WHATSAPP_DOWN_ISSUE_DELAY,
    WORKER_GONE_ISSUE_DELAY,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .common import status_payload
from .conftest import FakeWorker


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    """Return one of the one account's repair issues, if it exists (its id carries the entry's)."""
    return ir.async_get(hass).async_get_issue(DOMAIN, account_issue_id(issue_id, the_account(hass)))

def the_account(hass: HomeAssistant) -> str:
    """Return the entry id of the one account set up."""
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    return entry.entry_id



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
    assert created.translation_placeholders == {"minutes": "15", "account": ""}
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
    # A real page: WhatsApp's help on linked devices (the app has no web page of its own).
    assert created.learn_more_url == LINKED_DEVICES_HELP_URL
    await worker.command("whatsapp/status", **status_payload(connection="pairing"))
    assert issue(hass, ISSUE_LOGGED_OUT) is not None
    await worker.command("whatsapp/status", **status_payload(connection="open"))
    assert issue(hass, ISSUE_LOGGED_OUT) is None


UNREACHABLE = "cannot reach WhatsApp (getaddrinfo ENOTFOUND web.whatsapp.com)"


def _unreachable(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "connection": "closed",
        "connection_detail": UNREACHABLE,
        "reconnect_at": "2026-11-01T10:05:00.000Z",
    }
    return status_payload(**{**fields, **overrides})


async def test_whatsapp_out_of_reach_too_long(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Retrying for minutes raises nothing; past the delay an issue names the worker's reason."""
    await worker.command("whatsapp/status", **_unreachable())
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY - timedelta(seconds=5))
    # The attempts in between (connecting, closed again) do not restart the clock.
    await worker.command("whatsapp/status", **status_payload(connection="connecting", connection_detail=UNREACHABLE))
    await worker.command("whatsapp/status", **_unreachable())
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is None
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY + timedelta(seconds=1))
    created = issue(hass, ISSUE_WHATSAPP_DOWN)
    assert created is not None
    assert created.translation_key == "whatsapp_down"
    assert created.translation_placeholders == {"minutes": "15", "reason": UNREACHABLE, "account": ""}
    assert created.severity is ir.IssueSeverity.WARNING

    # A new reason updates the issue; connected again, it goes.
    await worker.command("whatsapp/status", **_unreachable(connection_detail="WhatsApp is unavailable right now (503)"))
    assert issue(hass, ISSUE_WHATSAPP_DOWN).translation_placeholders["reason"] == "WhatsApp is unavailable right now (503)"
    await worker.command("whatsapp/status", **status_payload(connection="open"))
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is None


async def test_whatsapp_issue_names_the_apps_log_in_the_app(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The worker says it runs as the app: the issue's text points to the app's log."""
    await worker.command("whatsapp/status", **_unreachable(runs_in_app=True))
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY + timedelta(seconds=1))
    assert issue(hass, ISSUE_WHATSAPP_DOWN).translation_key == "whatsapp_down_app"


async def test_whatsapp_back_in_time_raises_nothing(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A drop the worker recovers from within the delay stays a log line."""
    await worker.command("whatsapp/status", **_unreachable())
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY / 2)
    await worker.command("whatsapp/status", **status_payload(connection="open"))
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY * 2)
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is None


async def test_worker_leaving_ends_the_whatsapp_issue(hass: HomeAssistant, worker: FakeWorker) -> None:
    """What a worker that is gone said about WhatsApp no longer holds: the worker-gone issue takes over."""
    await worker.command("whatsapp/status", **_unreachable())
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY + timedelta(seconds=1))
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is not None
    await worker.close()
    await hass.async_block_till_done()
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is None


async def test_worker_leaving_stops_the_whatsapp_clock(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A worker that leaves before the delay raises no WhatsApp issue later."""
    await worker.command("whatsapp/status", **_unreachable())
    await worker.close()
    await hass.async_block_till_done()
    await _fire_in(hass, WHATSAPP_DOWN_ISSUE_DELAY * 2)
    assert issue(hass, ISSUE_WHATSAPP_DOWN) is None
