"""The integration's copy of the wire protocol against protocol/protocol.json.

The one description both sides are checked against (worker/test/ha/protocol.test.ts checks the
worker's): version, limits, enums, defaults and error codes equal const.py and websocket_api.py; the
schemas have the description's fields; every golden fixture is accepted or refused, over a real
HA websocket, with the code it names; the service calls send what the downstream fixtures say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.whatsapp import const, schemas, websocket_api
from custom_components.whatsapp.const import DOMAIN
from custom_components.whatsapp.worker_link import TRANSLATION_KEY_BY_CALL_ERROR
from homeassistant.components.websocket_api import (
    ERR_INVALID_FORMAT,
    ERR_UNAUTHORIZED,
    ERR_UNKNOWN_COMMAND,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .common import status_payload
from .conftest import FakeWorker

PROTOCOL_DIR = Path(__file__).parent.parent / "protocol"
DESCRIPTION: dict[str, Any] = json.loads((PROTOCOL_DIR / "protocol.json").read_text(encoding="utf-8"))
UPSTREAM: dict[str, Any] = json.loads((PROTOCOL_DIR / "fixtures" / "upstream.json").read_text(encoding="utf-8"))
DOWNSTREAM: dict[str, Any] = json.loads((PROTOCOL_DIR / "fixtures" / "downstream.json").read_text(encoding="utf-8"))
VALID_HELLO: dict[str, Any] = next(fixture for fixture in UPSTREAM["valid"] if fixture["type"] == "whatsapp/hello")
SERVICES_YAML: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent.parent / "custom_components" / "whatsapp" / "services.yaml").read_text(encoding="utf-8")
)

# websocket_api's own codes, which the integration answers with too.
HA_OWN_CODES = {ERR_INVALID_FORMAT, ERR_UNAUTHORIZED, ERR_UNKNOWN_COMMAND}


def _names(section: dict[str, Any]) -> list[str]:
    return [name for name in section if not name.startswith("$")]


def _enum(name: str) -> list[str]:
    enum: list[str] = DESCRIPTION["$defs"][name]["enum"]
    return enum


def test_protocol_version() -> None:
    """The version is the description's."""
    assert DESCRIPTION["protocol_version"] == const.PROTOCOL_VERSION


def test_limits_are_the_descriptions() -> None:
    """Every limit the integration checks is a const of that name with the same value, and no other."""
    ours = {name: entry["value"] for name, entry in DESCRIPTION["limits"].items() if "integration" in entry["checked_by"]}
    assert ours
    for name, value in ours.items():
        assert getattr(const, name.upper()) == value, f"const.{name.upper()} (protocol.json limits.{name})"
    declared = {name for name in vars(const) if name.startswith("MAX_")}
    assert declared == {name.upper() for name in ours}


def test_enums_are_the_descriptions() -> None:
    """States, kinds, scopes, call error codes and services equal the description's."""
    assert list(const.CONNECTION_STATES) == _enum("connection_state")
    assert list(const.AVATAR_STATES) == _enum("avatar_state")
    assert list(const.SUBJECT_KINDS) == _enum("subject_kind")
    assert list(const.REFRESH_SCOPES) == _enum("refresh_scope")
    assert list(const.CALL_ERROR_CODES) == _enum("call_error_code")
    assert sorted(TRANSLATION_KEY_BY_CALL_ERROR) == sorted(_enum("call_error_code"))
    assert _enum("service") == [
        const.SERVICE_REFRESH_AVATAR,
        const.SERVICE_REFRESH_AVATARS,
        const.CALL_PICTURE,
        const.SERVICE_PURGE_AVATARS,
        const.CALL_PAIRING_CODE,
    ]


def test_defaults_are_the_descriptions() -> None:
    """The service defaults equal the description's, in const.py and in services.yaml."""
    assert DESCRIPTION["defaults"] == {
        "refresh_avatar": {"force": const.DEFAULT_FORCE, "wait": const.DEFAULT_WAIT_SECONDS},
        "refresh_avatars": {"scope": const.DEFAULT_REFRESH_SCOPE, "force": const.DEFAULT_FORCE},
    }
    for service, defaults in DESCRIPTION["defaults"].items():
        for field, value in defaults.items():
            assert SERVICES_YAML[service]["fields"][field]["default"] == value, f"services.yaml {service}.{field}"
    wait = SERVICES_YAML["refresh_avatar"]["fields"]["wait"]["selector"]["number"]
    assert wait["max"] == DESCRIPTION["limits"]["max_wait_seconds"]["value"]


def test_error_codes_are_the_descriptions() -> None:
    """The integration answers with exactly the codes the worker knows."""
    own = {value for name, value in vars(websocket_api).items() if name.startswith("ERR_") and isinstance(value, str)}
    assert own | HA_OWN_CODES == set(_names(DESCRIPTION["ha_errors"]))


def _keys(fields: dict[Any, Any]) -> tuple[set[str], set[str]]:
    every = {str(key) for key in fields}
    required = {str(key) for key in fields if isinstance(key, vol.Required)}
    return every, required


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("whatsapp/hello", schemas.HELLO_FIELDS),
        ("whatsapp/subscribe", {}),
        ("whatsapp/avatar", schemas.AVATAR_FIELDS),
        ("whatsapp/status", schemas.STATUS_FIELDS),
        ("whatsapp/directory", schemas.DIRECTORY_FIELDS),
    ],
)
def test_command_fields_are_the_descriptions(command: str, fields: dict[Any, Any]) -> None:
    """Each command's schema has the description's fields, the required ones required."""
    request = DESCRIPTION["upstream"][command]["request"]
    every, required = _keys(fields)
    assert every == set(request["properties"])
    assert required == set(request.get("required", []))


def test_every_command_is_registered() -> None:
    """The description's commands are the ones the integration registers."""
    assert set(_names(DESCRIPTION["upstream"])) == {
        "whatsapp/hello",
        "whatsapp/subscribe",
        "whatsapp/call_result",
        "whatsapp/avatar",
        "whatsapp/status",
        "whatsapp/directory",
    }


@pytest.mark.parametrize(
    ("service", "schema"),
    [
        ("refresh_avatar", schemas.REFRESH_AVATAR_RESPONSE),
        ("refresh_avatars", schemas.REFRESH_AVATARS_RESPONSE),
        ("picture", schemas.PICTURE_RESPONSE),
        ("purge_avatars", schemas.PURGE_AVATARS_RESPONSE),
        ("pairing_code", schemas.PAIRING_CODE_RESPONSE),
    ],
)
def test_call_response_fields_are_the_descriptions(service: str, schema: vol.Schema) -> None:
    """The call responses HA checks have the description's fields."""
    every, required = _keys(schema.schema)
    described = DESCRIPTION["call_responses"][service]
    assert every == set(described["properties"])
    assert required == set(described["required"])


async def _answer_pending_call(worker: FakeWorker, hass: HomeAssistant, payload: dict[str, Any]) -> dict[str, Any]:
    """Start a service call whose call_id is the fixture's, then send the fixture as its answer."""

    class _FixedId:
        hex = payload["call_id"]

    with patch("custom_components.whatsapp.worker_link.uuid4", return_value=_FixedId()):
        call = hass.async_create_task(
            hass.services.async_call(DOMAIN, "refresh_avatars", {}, blocking=True, return_response=True)
        )
        event = await worker.next_event()
    assert event["call_id"] == payload["call_id"]
    result = await worker.command("whatsapp/call_result", **payload)
    with pytest.raises(HomeAssistantError):
        await call
    return result


async def test_valid_upstream_fixtures_are_accepted(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, connect_worker: Any
) -> None:
    """Every valid fixture, in order on one connection, is accepted; each hello on a connection of its own.

    The hellos show a worker with an id and one without: on one connection the second would be
    another worker's, which a connection refuses.
    """
    assert len(UPSTREAM["valid"]) >= 10
    for fixture in UPSTREAM["valid"]:
        if fixture["type"] == "whatsapp/hello":
            result = await (await connect_worker(subscribe=False)).command(fixture["type"], **fixture["payload"])
        elif fixture["type"] == "whatsapp/call_result":
            result = await _answer_pending_call(worker, hass, fixture["payload"])
        elif fixture["type"] == "whatsapp/subscribe":
            # A second subscription on the same connection: the favourites come down it first.
            await worker.client.send_json_auto_id({"type": "whatsapp/subscribe"})
            result = await worker.client.receive_json()
            worker.subscription_id = result["id"]
            assert (await worker.next_event())["type"] == "favourites"
        else:
            result = await worker.command(fixture["type"], **fixture["payload"])
        assert result["success"], (fixture["name"], result)


@pytest.mark.parametrize("fixture", UPSTREAM["invalid"], ids=[fixture["name"] for fixture in UPSTREAM["invalid"]])
async def test_invalid_upstream_fixtures_are_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    connect_worker: Callable[..., Awaitable[FakeWorker]],
    fixture: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every invalid fixture is refused with its code and a log line; nothing of it is applied; HA keeps working."""
    # The entry is the valid hello's worker's, so the hello of another worker_id finds none.
    worker = await connect_worker(worker_id=VALID_HELLO["payload"]["worker_id"])
    # A hello is what a worker sends first on a connection: it gets one of its own, unless the
    # fixture is about a second hello on a connection that already speaks for the valid worker.
    if fixture["type"] == "whatsapp/hello" and not fixture.get("after_hello", False):
        sender = await connect_worker(subscribe=False)
    else:
        sender = worker
    coordinator = init_integration.runtime_data.coordinator
    before = coordinator.data
    result = await sender.command(fixture["type"], **fixture["payload"])
    assert not result["success"]
    assert result["error"]["code"] == fixture["error"]
    # A worker waiting to be added is no error in HA's log (websocket_api._coordinator).
    level = logging.INFO if fixture["error"] == websocket_api.ERR_NOT_SET_UP else logging.WARNING
    assert any(record.levelno >= level and f"({fixture['error']})" in record.getMessage() for record in caplog.records)
    assert coordinator.data.pictures == before.pictures
    assert coordinator.data.directory == before.directory
    assert coordinator.data.status == before.status
    # Still alive: a good message after a bad one works.
    assert (await worker.command("whatsapp/status", **status_payload()))["success"]


@pytest.mark.parametrize(
    "fixture",
    [fixture for fixture in DOWNSTREAM["valid"] if "service_data" in fixture],
    ids=lambda fixture: fixture["name"],
)
async def test_service_calls_send_the_downstream_fixtures(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker, fixture: dict[str, Any]
) -> None:
    """A service call goes down the subscription as the fixture says, defaults filled in."""
    service = fixture["message"]["service"]
    call = hass.async_create_task(
        hass.services.async_call(DOMAIN, service, fixture["service_data"], blocking=True, return_response=True)
    )
    event = await worker.next_event()
    assert {**event, "call_id": fixture["message"]["call_id"]} == fixture["message"]
    responses: dict[str, dict[str, Any]] = {
        "refresh_avatar": {
            "jid": event["data"].get("jid"), "queued": True, "position": 1, "eta_seconds": 3, "outcome": None, "timed_out": False
        },
        "refresh_avatars": {
            "scope": event["data"].get("scope"), "queued": 1, "matched": 1, "queue_length": 1, "eta_seconds": 3
        },
        "purge_avatars": {"files_removed": 2, "bytes_removed": 81920},
    }
    response = responses[service]
    result = await worker.command("whatsapp/call_result", call_id=event["call_id"], ok=True, response=response)
    assert result["success"], result
    assert await asyncio.wait_for(call, 5) == response


async def test_reload_sends_the_resend_fixture(
    hass: HomeAssistant, init_integration: MockConfigEntry, worker: FakeWorker
) -> None:
    """What a reloaded entry asks the worker for is the downstream fixture the worker parses."""
    resend = next(fixture for fixture in DOWNSTREAM["valid"] if fixture["name"] == "resend")
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert (await worker.next_event())["type"] == "favourites"
    assert await worker.next_event() == resend["message"]
