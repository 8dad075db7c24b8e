"""The services, forwarded to the worker down its subscription."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from pathlib import Path
from typing import Any

import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.whatsapp.const import (
    CALL_RESPONSE_MARGIN_SECONDS,
    DOMAIN,
    REFRESH_AVATARS_TIMEOUT_SECONDS,
)
from custom_components.whatsapp.services import normalise_jid, phone_number_digits
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .common import ANNA, GROUP, LID_USER
from .conftest import FakeWorker

# The phone-number cases worker/test/phone-number.test.ts checks too: one rule on both sides.
PHONE_NUMBER_CASES = json.loads((Path(__file__).parent / "fixtures" / "phone-numbers.json").read_text(encoding="utf-8"))
INTEGRATION_TRANSLATIONS = Path(__file__).parent.parent / "custom_components" / "whatsapp" / "translations"

REFRESH_AVATAR_RESPONSE = {
    "jid": ANNA,
    "queued": True,
    "position": None,
    "eta_seconds": None,
    "outcome": {
        "state": "fetched",
        "changed": True,
        "picture_id": "1712345678",
        "sha256": "a" * 64,
        "checked_at": "2026-11-01T10:00:00.000Z",
    },
    "timed_out": False,
}
REFRESH_AVATARS_RESPONSE = {"scope": "missing", "queued": 10, "matched": 12, "queue_length": 14, "eta_seconds": 42}


def _call(hass: HomeAssistant, service: str, data: dict[str, Any], return_response: bool = True) -> asyncio.Task[Any]:
    return hass.async_create_task(
        hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=return_response)
    )


async def test_refresh_avatar_forwarded_and_answered(hass: HomeAssistant, worker: FakeWorker) -> None:
    """The call goes down the subscription with the normalised JID; the worker's response comes back."""
    task = _call(hass, "refresh_avatar", {"jid": "+49 170 1234567", "force": True, "wait": 5})
    call = await worker.next_event()
    assert call["type"] == "call"
    assert call["service"] == "refresh_avatar"
    assert call["data"] == {"jid": ANNA, "force": True, "wait": 5}
    result = await worker.command(
        "whatsapp/call_result", call_id=call["call_id"], ok=True, response=REFRESH_AVATAR_RESPONSE
    )
    assert result["success"]
    assert await task == REFRESH_AVATAR_RESPONSE


async def test_refresh_avatars_defaults(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Scope defaults to `missing`, force to false; without return_response nothing is returned."""
    task = _call(hass, "refresh_avatars", {}, return_response=False)
    call = await worker.next_event()
    assert call["service"] == "refresh_avatars"
    assert call["data"] == {"scope": "missing", "force": False}
    await worker.command("whatsapp/call_result", call_id=call["call_id"], ok=True, response=REFRESH_AVATARS_RESPONSE)
    assert await task is None


async def test_refresh_avatar_default_wait(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Refresh avatar default wait."""
    task = _call(hass, "refresh_avatar", {"jid": GROUP})
    call = await worker.next_event()
    assert call["data"] == {"jid": GROUP, "force": False, "wait": 30}
    await worker.command(
        "whatsapp/call_result", call_id=call["call_id"], ok=True, response={**REFRESH_AVATAR_RESPONSE, "jid": GROUP}
    )
    assert (await task)["jid"] == GROUP


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (ANNA, ANNA),
        ("  491701234567@S.WhatsApp.Net ", ANNA),
        ("491701234567@c.us", ANNA),
        ("491701234567:12@s.whatsapp.net", ANNA),
        ("+49 (170) 123-4567", ANNA),
        (GROUP, GROUP),
        ("491701234567-1600000000@g.us", "491701234567-1600000000@g.us"),
        (LID_USER, LID_USER),
    ],
)
def test_normalise_jid(typed: str, expected: str) -> None:
    """Normalise jid."""
    assert normalise_jid(typed) == expected


@pytest.mark.parametrize(("typed", "digits"), sorted(PHONE_NUMBER_CASES["numbers"].items()))
def test_phone_number_rule_matches_the_worker(typed: str, digits: str) -> None:
    """A number as people write it names that number's contact, by the worker's rule."""
    assert phone_number_digits(typed) == digits
    assert normalise_jid(typed) == f"{digits}@s.whatsapp.net"


@pytest.mark.parametrize("typed", PHONE_NUMBER_CASES["not_numbers"])
def test_phone_number_rule_refuses_what_the_worker_refuses(typed: str) -> None:
    """What the worker does not take for a phone number is none here either."""
    assert phone_number_digits(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "", "anna", "status@broadcast", "123@newsletter", "../etc@s.whatsapp.net", "12@g.us.evil", "+49",
        # `$` would let these through; every check is a full match.
        f"{ANNA}\n", "+491701234567\n", "491701234567:12\n@s.whatsapp.net", f"{GROUP}\n", f"\t{ANNA}",
    ],
)
async def test_refresh_avatar_refuses_bad_jid(hass: HomeAssistant, worker: FakeWorker, typed: str) -> None:
    """Bad input is a translated validation error, raised before the worker is asked."""
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "refresh_avatar", {"jid": typed}, blocking=True, return_response=True)
    assert raised.value.translation_key == "invalid_jid"
    assert raised.value.translation_domain == DOMAIN
    # What was typed, with a newline or tab shown as \n or \t rather than breaking the message.
    shown = raised.value.translation_placeholders["jid"]
    assert shown.isprintable()
    assert shown == typed.replace("\n", "\\n").replace("\t", "\\t")


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("refresh_avatar", {"jid": ANNA, "wait": 301}),
        ("refresh_avatar", {"jid": ANNA, "wait": -1}),
        ("refresh_avatar", {}),
        ("refresh_avatars", {"scope": "everyone"}),
        ("refresh_avatars", {"force": "maybe"}),
    ],
)
async def test_schema_refuses_bad_fields(hass: HomeAssistant, init_integration: MockConfigEntry, service: str, data: dict[str, Any]) -> None:
    """Schema refuses bad fields."""
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=True)


async def test_no_worker_connected(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Without a worker the call fails at once with a translated error."""
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
    assert raised.value.translation_key == "worker_not_connected"
    assert "not connected" in str(raised.value)


async def test_no_entry_loaded(hass: HomeAssistant) -> None:
    """The services exist before an entry is set up and say why they cannot run (core's helper)."""
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
    assert raised.value.translation_domain == "homeassistant"
    assert raised.value.translation_key == "service_found_no_config_entry_for_domain"


async def test_entry_not_loaded(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """An entry that is unloaded gets core's translated `service_config_entry_not_loaded`."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "refresh_avatar", {"jid": ANNA}, blocking=True, return_response=True)
    assert raised.value.translation_domain == "homeassistant"
    assert raised.value.translation_key == "service_config_entry_not_loaded"


@pytest.mark.parametrize(
    ("code", "error_type", "translation_key"),
    [
        ("invalid_jid", ServiceValidationError, "worker_invalid_jid"),
        ("unknown_jid", ServiceValidationError, "worker_unknown_jid"),
        ("not_connected", HomeAssistantError, "whatsapp_not_connected"),
        ("internal_error", HomeAssistantError, "worker_internal_error"),
    ],
)
async def test_worker_error_codes_become_translated_errors(
    hass: HomeAssistant, worker: FakeWorker, code: str, error_type: type[Exception], translation_key: str
) -> None:
    """Worker error codes become translated errors."""
    task = _call(hass, "refresh_avatar", {"jid": ANNA})
    call = await worker.next_event()
    result = await worker.command(
        "whatsapp/call_result", call_id=call["call_id"], ok=False, error={"code": code, "message": "WORKER-ENGLISH"}
    )
    assert result["success"]
    with pytest.raises(error_type) as raised:
        await task
    assert raised.value.translation_key == translation_key
    # The user reads the translation of the code, never the worker's English.
    english = json.loads((INTEGRATION_TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    assert str(raised.value) == english["exceptions"][translation_key]["message"].rstrip(".")
    assert "WORKER-ENGLISH" not in str(raised.value)


async def test_response_that_does_not_fit_is_refused(hass: HomeAssistant, worker: FakeWorker) -> None:
    """A response of the wrong shape fails the call and is refused to the worker."""
    task = _call(hass, "refresh_avatars", {})
    call = await worker.next_event()
    result = await worker.command(
        "whatsapp/call_result", call_id=call["call_id"], ok=True, response=REFRESH_AVATAR_RESPONSE
    )
    assert result["error"]["code"] == "invalid_response"
    with pytest.raises(HomeAssistantError) as raised:
        await task
    assert raised.value.translation_key == "invalid_worker_response"


async def test_worker_leaves_during_call(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Worker leaves during call."""
    task = _call(hass, "refresh_avatar", {"jid": ANNA})
    await worker.next_event()
    await worker.close()
    with pytest.raises(HomeAssistantError) as raised:
        await task
    assert raised.value.translation_key == "worker_disconnected"


async def test_refresh_avatar_times_out_after_wait_and_margin(hass: HomeAssistant, worker: FakeWorker) -> None:
    """HA waits the requested time plus a margin, then gives up; a late answer is refused."""
    task = _call(hass, "refresh_avatar", {"jid": ANNA, "wait": 10})
    call = await worker.next_event()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=10 + CALL_RESPONSE_MARGIN_SECONDS - 5))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=10 + CALL_RESPONSE_MARGIN_SECONDS + 1))
    with pytest.raises(HomeAssistantError) as raised:
        await task
    assert raised.value.translation_key == "worker_timeout"
    late = await worker.command("whatsapp/call_result", call_id=call["call_id"], ok=True, response=REFRESH_AVATAR_RESPONSE)
    assert late["error"]["code"] == "unknown_call"


async def test_refresh_avatars_times_out(hass: HomeAssistant, worker: FakeWorker) -> None:
    """Refresh avatars times out."""
    task = _call(hass, "refresh_avatars", {"scope": "all", "force": True})
    call = await worker.next_event()
    assert call["data"] == {"scope": "all", "force": True}
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=REFRESH_AVATARS_TIMEOUT_SECONDS + 1))
    with pytest.raises(HomeAssistantError, match="30 seconds"):
        await task
