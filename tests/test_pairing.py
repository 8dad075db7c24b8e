"""Pairing: the QR image entity and the repair issue.

The QR as an image entity on the worker's device, and a repair issue telling the user how to link, both following the worker's status and gone once it is linked.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from http import HTTPStatus

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.whatsapp.account_issues import account_issue_id
from custom_components.whatsapp.const import (
    DOMAIN,
    ISSUE_LOGGED_OUT,
    ISSUE_PAIRING,
    ISSUE_PAIRING_CODE,
    ISSUE_PAIRING_QR,
    ISSUE_PAIRING_STOPPED,
    MAX_PAIRING_QR_BYTES,
)
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)

from .common import JPEG_A, PNG_QR_A, PNG_QR_B, pairing, pairing_status, status_payload
from .conftest import ENTRY_ID, FakeWorker

QR_ENTITY = "image.whatsapp_pairing_qr_code"
# How often WhatsApp rotates the QR while nobody scans it.
QR_ROTATION = timedelta(seconds=20)


def pairing_issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    """Return the one account's pairing repair issue, if there is one."""
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    return ir.async_get(hass).async_get_issue(DOMAIN, account_issue_id(ISSUE_PAIRING, entry.entry_id))


async def fetch_qr(hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator) -> tuple[int, bytes, str]:
    """Fetch what a dashboard card gets: the entity's `entity_picture` URL, with its token, unauthenticated."""
    url = hass.states.get(QR_ENTITY).attributes["entity_picture"]
    client = await hass_client_no_auth()
    response = await client.get(url)
    return response.status, await response.read(), response.headers.get("Content-Type", "")


async def send_status(hass: HomeAssistant, worker: FakeWorker, **payload) -> dict:
    """Send a status from the worker and let HA apply it."""
    result = await worker.command("whatsapp/status", **payload)
    await hass.async_block_till_done()
    return result


async def test_qr_entity_is_on_the_worker_device(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A stable unique id from the entry; the name from its translation; unavailable before pairing."""
    entry = er.async_get(hass).async_get(QR_ENTITY)
    assert entry is not None
    assert entry.unique_id == f"{ENTRY_ID}_pairing_qr"
    assert entry.translation_key == "pairing_qr"
    worker_device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    assert entry.device_id == worker_device.id
    state = hass.states.get(QR_ENTITY)
    assert state.state == STATE_UNAVAILABLE
    assert state.attributes["friendly_name"] == "WhatsApp Pairing QR code"


async def test_qr_served_as_sent(
    hass: HomeAssistant, worker: FakeWorker, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The PNG the worker rendered is exactly what the image proxy serves, as image/png."""
    assert (await send_status(hass, worker, **pairing_status(PNG_QR_A)))["success"]
    state = hass.states.get(QR_ENTITY)
    assert state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert await fetch_qr(hass, hass_client_no_auth) == (HTTPStatus.OK, PNG_QR_A, "image/png")


async def test_qr_text_before_its_picture(
    hass: HomeAssistant, worker: FakeWorker, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The worker reports the QR text first and the picture once rendered: no picture, no entity."""
    await send_status(hass, worker, **pairing_status(None))
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE
    assert pairing_issue(hass).translation_key == ISSUE_PAIRING_QR
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    assert hass.states.get(QR_ENTITY).state != STATE_UNAVAILABLE
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == PNG_QR_A


async def test_rotation_bumps_last_updated(
    hass: HomeAssistant, worker: FakeWorker, freezer: FrozenDateTimeFactory, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A new QR moves the state (image_last_updated), so cards reload; a repeat of the same does not."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    first = hass.states.get(QR_ENTITY).state

    freezer.tick(timedelta(seconds=5))
    # The same QR again (the status also carries queue and counts, which change on their own).
    await send_status(hass, worker, **{**pairing_status(PNG_QR_A), "queue_length": 3})
    assert hass.states.get(QR_ENTITY).state == first

    freezer.tick(QR_ROTATION)
    await send_status(hass, worker, **pairing_status(PNG_QR_B))
    second = hass.states.get(QR_ENTITY).state
    assert second > first
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == PNG_QR_B


async def test_linked_clears_qr_and_issue(
    hass: HomeAssistant, worker: FakeWorker, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Linked clears qr and issue."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A, code="ABCD1234"))
    assert pairing_issue(hass) is not None
    url = hass.states.get(QR_ENTITY).attributes["entity_picture"]

    await send_status(hass, worker, **status_payload(connection="open"))
    assert pairing_issue(hass) is None
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE
    client = await hass_client_no_auth()
    response = await client.get(url)
    # HA's image proxy answers 500 when the entity has no picture to give.
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR


async def test_open_with_leftover_pairing_is_not_pairing(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A status that says `open` wins over a pairing field a worker forgot to clear."""
    await send_status(hass, worker, **status_payload(connection="open", pairing=pairing(PNG_QR_A, code="ABCD1234")))
    assert pairing_issue(hass) is None
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE


async def test_pairing_code_issue(hass: HomeAssistant, worker: FakeWorker) -> None:
    """With a code: the issue names it (and the QR entity as the other way); a new code updates it."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A, code="ABCD1234"))
    issue = pairing_issue(hass)
    assert issue is not None
    assert issue.translation_key == ISSUE_PAIRING_CODE
    assert issue.translation_placeholders == {"code": "ABCD1234", "entity": QR_ENTITY, "account": ""}
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.is_fixable
    assert not issue.is_persistent

    await send_status(hass, worker, **pairing_status(PNG_QR_B, code="WXYZ9876"))
    assert pairing_issue(hass).translation_placeholders["code"] == "WXYZ9876"


async def test_pairing_qr_issue_follows_a_renamed_entity(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Without a code: scan the QR of the entity, named as the user named it."""
    er.async_get(hass).async_update_entity(QR_ENTITY, new_entity_id="image.link_my_phone")
    await hass.async_block_till_done()
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    issue = pairing_issue(hass)
    assert issue.translation_key == ISSUE_PAIRING_QR
    assert issue.translation_placeholders == {"entity": "image.link_my_phone", "account": ""}


async def test_pairing_null_clears_the_issue(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Pairing gone without being linked (the worker stopped asking): nothing to tell any more."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    await send_status(hass, worker, **status_payload(connection="connecting", pairing=None))
    assert pairing_issue(hass) is None
    empty = {"qr": None, "qr_image": None, "code": None}
    await send_status(hass, worker, **status_payload(connection="connecting", pairing=empty))
    assert pairing_issue(hass) is None


async def test_worker_gone_clears_qr_and_issue(
    hass: HomeAssistant, worker: FakeWorker, connect_worker, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A QR or code from a worker that is gone links nothing; it comes back with its next status."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A, code="ABCD1234"))
    await worker.close()
    await hass.async_block_till_done()
    assert pairing_issue(hass) is None
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE
    assert (await fetch_qr(hass, hass_client_no_auth))[0] == HTTPStatus.INTERNAL_SERVER_ERROR

    worker = await connect_worker()
    await send_status(hass, worker, **pairing_status(PNG_QR_B, code="ABCD1234"))
    assert pairing_issue(hass) is not None
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == PNG_QR_B


async def test_logged_out_issue_stays_alongside(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Logged out, the worker pairs again: both issues until it is linked, then neither."""
    await send_status(hass, worker, **status_payload(connection="logged-out"))
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, account_issue_id(ISSUE_LOGGED_OUT, ENTRY_ID)) is not None
    assert pairing_issue(hass) is not None
    await send_status(hass, worker, **status_payload(connection="open"))
    assert registry.async_get_issue(DOMAIN, account_issue_id(ISSUE_LOGGED_OUT, ENTRY_ID)) is None
    assert pairing_issue(hass) is None


async def test_status_without_qr_image_key_still_accepted(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A worker from before the QR picture sends no `qr_image`: its status still counts."""
    result = await send_status(
        hass, worker, **status_payload(connection="pairing", pairing={"qr": "2@abc", "code": "ABCD1234"})
    )
    assert result["success"], result
    assert pairing_issue(hass).translation_placeholders["code"] == "ABCD1234"
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("qr_image", "code"),
    [
        ("not base64!", "invalid_image"),
        (base64.b64encode(JPEG_A).decode(), "invalid_image"),
        (base64.b64encode(b"GIF89a" + b"x" * 20).decode(), "invalid_image"),
        # Over the cap by base64 length alone: refused before decoding.
        ("A" * (4 * (MAX_PAIRING_QR_BYTES // 3 + 2)), "image_too_large"),
        # Within the base64 length (which rounds up) but one byte over once decoded.
        (base64.b64encode(PNG_QR_A[:8] + b"x" * (MAX_PAIRING_QR_BYTES - 7)).decode(), "image_too_large"),
    ],
    ids=["not-base64", "jpeg", "gif", "too-long-text", "one-byte-over"],
)
async def test_malformed_qr_image_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    worker: FakeWorker,
    hass_client_no_auth: ClientSessionGenerator,
    qr_image: str,
    code: str,
) -> None:
    """Refused with a stable code; the last good status and QR stay, and the next good one counts."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    bad = pairing_status(PNG_QR_B, code="WXYZ9876")
    bad["pairing"]["qr_image"] = qr_image
    result = await send_status(hass, worker, **bad)
    assert not result["success"]
    assert result["error"]["code"] == code
    assert "pairing QR image" in result["error"]["message"]
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == PNG_QR_A
    assert pairing_issue(hass).translation_key == ISSUE_PAIRING_QR

    assert (await send_status(hass, worker, **pairing_status(PNG_QR_B)))["success"]
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == PNG_QR_B
    assert init_integration.runtime_data.coordinator.data.worker_connected


async def test_largest_qr_accepted(
    hass: HomeAssistant, worker: FakeWorker, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Exactly at the cap is fine."""
    largest = PNG_QR_A[:8] + b"x" * (MAX_PAIRING_QR_BYTES - 8)
    assert (await send_status(hass, worker, **pairing_status(largest)))["success"]
    assert (await fetch_qr(hass, hass_client_no_auth))[1] == largest


async def test_qr_unavailable_after_reload_until_the_worker_reports(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """A reloaded entry has no status yet: no QR to show until the worker's next status."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE
    await send_status(hass, worker, **pairing_status(PNG_QR_B))
    assert hass.states.get(QR_ENTITY).state != STATE_UNAVAILABLE


async def test_pairing_stopped_issue_says_how_to_start_again(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Codes expired unused too often: the same issue, now saying pairing stopped; a restart clears it."""
    await send_status(hass, worker, **pairing_status(PNG_QR_A))
    await send_status(hass, worker, **status_payload(connection="pairing-stopped", pairing=None, progress=None))
    issue = pairing_issue(hass)
    assert issue is not None
    assert issue.translation_key == ISSUE_PAIRING_STOPPED
    assert issue.severity is ir.IssueSeverity.WARNING
    assert hass.states.get(QR_ENTITY).state == STATE_UNAVAILABLE
    await send_status(hass, worker, **status_payload(connection="connecting", pairing=None, progress=None))
    assert pairing_issue(hass) is None
