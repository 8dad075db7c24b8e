"""Repairs per account: two accounts' issues side by side, each cleared and fixed on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.whatsapp.account_issues import (
    ISSUE_RATE_LIMITED_UNTIL_REMOVED,
    account_issue_id,
)
from custom_components.whatsapp.const import (
    DOMAIN,
    ISSUE_LOGGED_OUT,
    ISSUE_PAIRING,
    ISSUE_PAIRING_QR,
    ISSUE_WORKER_GONE,
    WORKER_GONE_ISSUE_DELAY,
)
from custom_components.whatsapp.pairing import pairing_qr_entity_id
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .common import PNG_QR_A, PNG_QR_B, pairing_status, status_payload
from .conftest import setup_entry
from .test_accounts import WORKER_A, _second_account

FIX_URL = "/api/repairs/issues/fix"


@pytest.fixture
async def repairs(hass: HomeAssistant) -> None:
    """Load the repairs integration (its HTTP views) before any client freezes HA's router."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})


def _issue(hass: HomeAssistant, kind: str, entry_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, account_issue_id(kind, entry_id))


async def test_two_accounts_repairs_live_side_by_side(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A's pairing repair and B's worker-gone repair coexist, each named after its account; clearing A's leaves B's."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    worker_b, entry_b = await _second_account(hass, connect_worker)
    a, b = init_integration.entry_id, entry_b.entry_id

    await worker_a.accepted("whatsapp/status", **pairing_status(PNG_QR_A))
    await worker_b.close()
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + WORKER_GONE_ISSUE_DELAY + timedelta(seconds=1))
    await hass.async_block_till_done()

    pairing_a = _issue(hass, ISSUE_PAIRING, a)
    gone_b = _issue(hass, ISSUE_WORKER_GONE, b)
    assert pairing_a is not None
    assert gone_b is not None
    assert pairing_a.translation_key == ISSUE_PAIRING_QR
    assert pairing_a.data == {"entry_id": a}
    assert pairing_a.translation_placeholders == {
        "entity": pairing_qr_entity_id(hass, a),
        "account": f" ({init_integration.title})",
    }
    assert gone_b.translation_placeholders == {"minutes": "15", "account": " (WhatsApp bbbbbbbb)"}
    # Neither account has the other's issue, and no global id is used any more.
    assert _issue(hass, ISSUE_PAIRING, b) is None
    assert _issue(hass, ISSUE_WORKER_GONE, a) is None
    assert {issue_id for (domain, issue_id) in ir.async_get(hass).issues if domain == DOMAIN} == {
        account_issue_id(ISSUE_PAIRING, a),
        account_issue_id(ISSUE_WORKER_GONE, b),
    }

    # A is linked: its pairing repair goes, B's stays.
    await worker_a.accepted("whatsapp/status", **status_payload())
    await hass.async_block_till_done()
    assert _issue(hass, ISSUE_PAIRING, a) is None
    assert _issue(hass, ISSUE_WORKER_GONE, b) is not None

    # A logged out, then B's worker back: B's repair goes, A's stays.
    await worker_a.accepted("whatsapp/status", **status_payload(connection="logged-out"))
    worker_b = await connect_worker(worker_id=entry_b.unique_id)
    await hass.async_block_till_done()
    assert _issue(hass, ISSUE_WORKER_GONE, b) is None
    assert _issue(hass, ISSUE_LOGGED_OUT, a) is not None

    # Removing B deletes B's issues only.
    await worker_b.accepted("whatsapp/status", **status_payload(connection="logged-out"))
    assert _issue(hass, ISSUE_LOGGED_OUT, b) is not None
    assert await hass.config_entries.async_remove(b)
    await hass.async_block_till_done()
    assert _issue(hass, ISSUE_LOGGED_OUT, b) is None
    assert _issue(hass, ISSUE_LOGGED_OUT, a) is not None


async def test_the_pairing_dialog_of_b_shows_bs_qr(
    hass: HomeAssistant,
    repairs: None,
    init_integration: MockConfigEntry,
    connect_worker: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    """Both accounts pairing: B's repair opens a dialog with B's QR, not A's."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    worker_b, entry_b = await _second_account(hass, connect_worker)
    await worker_a.accepted("whatsapp/status", **pairing_status(PNG_QR_A))
    await worker_b.accepted("whatsapp/status", **pairing_status(PNG_QR_B))
    await hass.async_block_till_done()
    qr_a = pairing_qr_entity_id(hass, init_integration.entry_id)
    qr_b = pairing_qr_entity_id(hass, entry_b.entry_id)
    assert qr_a != qr_b

    hass.bus.async_fire(EVENT_COMPONENT_LOADED, {"component": DOMAIN})
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.post(
        FIX_URL, json={"handler": DOMAIN, "issue_id": account_issue_id(ISSUE_PAIRING, entry_b.entry_id)}
    )
    assert response.status == 200, await response.text()
    menu = await response.json()
    # The dialog first offers the QR or a phone number (repairs.py); the QR is B's.
    assert menu["type"] == "menu", menu
    response = await client.post(f"{FIX_URL}/{menu['flow_id']}", json={"next_step_id": "link"})
    step = await response.json()
    assert step["type"] == "progress", step
    qr = step["description_placeholders"]["qr"]
    picture_b = hass.states.get(qr_b).attributes["entity_picture"]
    assert qr.startswith(f"![QR code]({picture_b}&qr=")
    fetched = await client.get(qr.removeprefix("![QR code](").removesuffix(")"))
    assert await fetched.read() == PNG_QR_B

    # B linked: its dialog says so; A's repair is still there.
    await worker_b.accepted("whatsapp/status", **status_payload())
    await hass.async_block_till_done()
    response = await client.get(f"{FIX_URL}/{step['flow_id']}")
    assert (await response.json())["step_id"] == "linked"
    assert _issue(hass, ISSUE_PAIRING, entry_b.entry_id) is None
    assert _issue(hass, ISSUE_PAIRING, init_integration.entry_id) is not None


async def test_the_global_issues_of_before_go_at_setup(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Issues with the ids of before several accounts go; the retired sensor's persistent note becomes the entry's."""
    placeholders = {"entity_id": "sensor.old", "users": "automation.a", "replacement": "binary_sensor.b"}
    for kind in (ISSUE_WORKER_GONE, ISSUE_PAIRING, ISSUE_LOGGED_OUT):
        ir.async_create_issue(
            hass, DOMAIN, kind, is_fixable=False, severity=ir.IssueSeverity.WARNING, translation_key=kind
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_RATE_LIMITED_UNTIL_REMOVED,
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_RATE_LIMITED_UNTIL_REMOVED,
        translation_placeholders=placeholders,
    )
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    registry = ir.async_get(hass)
    for kind in (ISSUE_WORKER_GONE, ISSUE_PAIRING, ISSUE_LOGGED_OUT, ISSUE_RATE_LIMITED_UNTIL_REMOVED):
        assert registry.async_get_issue(DOMAIN, kind) is None, kind
    moved = _issue(hass, ISSUE_RATE_LIMITED_UNTIL_REMOVED, mock_config_entry.entry_id)
    assert moved is not None
    assert moved.is_persistent
    assert moved.translation_placeholders == {**placeholders, "account": ""}


async def test_repairs_from_before_a_second_account_get_its_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, connect_worker: Any
) -> None:
    """A's repair raised while it was alone names A once B is added, and drops the name when B goes."""
    worker_a = await connect_worker(worker_id=WORKER_A)
    a = init_integration.entry_id
    await worker_a.accepted("whatsapp/status", **status_payload(connection="logged-out"))
    await hass.async_block_till_done()
    alone = _issue(hass, ISSUE_LOGGED_OUT, a)
    assert alone is not None
    assert alone.translation_placeholders == {"account": ""}

    _, entry_b = await _second_account(hass, connect_worker)
    renamed = _issue(hass, ISSUE_LOGGED_OUT, a)
    assert renamed is not None
    assert renamed.translation_placeholders == {"account": f" ({init_integration.title})"}
    # The rest of it as raised.
    assert (renamed.translation_key, renamed.severity, renamed.learn_more_url, renamed.is_fixable) == (
        alone.translation_key,
        alone.severity,
        alone.learn_more_url,
        alone.is_fixable,
    )

    # A renamed account: its repairs say the new name.
    hass.config_entries.async_update_entry(init_integration, title="Phone of Anna")
    await hass.async_block_till_done()
    assert _issue(hass, ISSUE_LOGGED_OUT, a).translation_placeholders == {"account": " (Phone of Anna)"}  # type: ignore[union-attr]

    assert await hass.config_entries.async_remove(entry_b.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, ISSUE_LOGGED_OUT, a).translation_placeholders == {"account": ""}  # type: ignore[union-attr]
