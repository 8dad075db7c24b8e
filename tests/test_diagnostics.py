"""Diagnostics leave out phone numbers, JIDs, names and pairing secrets."""

from __future__ import annotations

import json

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .common import (
    ANNA,
    BERT,
    GROUP,
    JPEG_A,
    PNG_QR_A,
    avatar_payload,
    directory_payload,
    pairing_status,
    sha256,
    status_payload,
)
from .conftest import FakeWorker

PAIRING_QR = "2@secretQRpayload,abc,def"


@pytest.fixture(autouse=True)
async def setup_diagnostics(hass: HomeAssistant) -> None:
    """Before any client starts the HTTP server: its router is frozen afterwards."""
    assert await async_setup_component(hass, "diagnostics", {})
PAIRING_CODE = "ABCD1234"


async def test_diagnostics_redact_personal_data(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    worker: FakeWorker,
    hass_client: ClientSessionGenerator,
) -> None:
    """Diagnostics redact personal data."""
    await worker.command("whatsapp/status", **status_payload(
        connection="pairing", pairing={"qr": PAIRING_QR, "code": PAIRING_CODE},
        rate_limited_until="2026-11-01T10:05:00Z",
    ))
    await worker.command("whatsapp/directory", **directory_payload((ANNA, "Anna"), (BERT, "Bert"), (GROUP, "Family")))
    await worker.command("whatsapp/avatar", **avatar_payload())
    await worker.command("whatsapp/avatar", **avatar_payload(jid=BERT, name="Bert", with_image=False))

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    text = json.dumps(diagnostics)
    for secret in ("491701234567", "491709876543", "120363012345678901", "Anna", "Bert", "Family", PAIRING_QR, PAIRING_CODE):
        assert secret not in text, secret
    assert diagnostics["entry"]["options"]["favourites"] == "**REDACTED**"
    assert diagnostics["worker"] == {"connected": True, "version": "0.1.0-test"}
    assert diagnostics["status"]["pairing_code"] == "**REDACTED**"
    assert diagnostics["status"]["progress"]["total"] == 40
    assert diagnostics["status"]["rate_limited_until"] == "2026-11-01T10:05:00+00:00"
    assert diagnostics["directory"] == {"entries": 3, "by_kind": {"contact": 2, "group": 1}}
    assert diagnostics["pictures"][0] == {
        "favourite": True,
        "state": "fetched",
        "sha256": sha256(JPEG_A),
        "bytes": len(JPEG_A),
        "changed_at": "2026-11-01T09:00:00+00:00",
    }
    assert diagnostics["pictures"][1]["bytes"] is None


async def test_diagnostics_before_any_status(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics before any status."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert diagnostics["status"] is None
    assert diagnostics["worker"] == {"connected": False, "version": None}


async def test_diagnostics_redact_the_pairing_qr_image(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    worker: FakeWorker,
    hass_client: ClientSessionGenerator,
) -> None:
    """The QR picture unlocks the account as well as its text does."""
    payload = pairing_status(PNG_QR_A, code=PAIRING_CODE, qr=PAIRING_QR)
    encoded = payload["pairing"]["qr_image"]
    await worker.command("whatsapp/status", **payload)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    text = json.dumps(diagnostics)
    for secret in (encoded, PAIRING_QR, PAIRING_CODE):
        assert secret not in text
    assert diagnostics["status"]["pairing_qr_image"] == "**REDACTED**"
    assert diagnostics["status"]["pairing_qr"] == "**REDACTED**"
    assert diagnostics["status"]["connection"] == "pairing"
