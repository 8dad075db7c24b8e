"""The refusal log: one ERROR per kind of refusal per interval, the repeats counted."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.whatsapp.const import REFUSAL_LOG_INTERVAL
from custom_components.whatsapp.refusals import RefusalLog
from custom_components.whatsapp.websocket_api import MAX_REFUSAL_MESSAGE_CHARS
from homeassistant.core import HomeAssistant

from .common import avatar_payload
from .conftest import FakeWorker

START = datetime(2026, 11, 1, 10, 0, 0)
LOGGER_NAME = "custom_components.whatsapp.test_refusals"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        """Start at START."""
        self.now = START

    def __call__(self) -> datetime:
        """Return the time the test set."""
        return self.now


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the messages logged at ERROR or above."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_one_error_per_kind_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """One error per kind per interval."""
    clock = FakeClock()
    log = RefusalLog(logging.getLogger(LOGGER_NAME), timedelta(minutes=10), clock)
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    for _ in range(5):
        log.refused("whatsapp/avatar", "invalid_format", "bad jid")
    # Another kind has its own budget.
    log.refused("whatsapp/avatar", "sha256_mismatch", "digest")
    log.refused("whatsapp/status", "invalid_format", "bad status")
    assert errors(caplog) == [
        "Refused whatsapp/avatar from the worker: bad jid (invalid_format)",
        "Refused whatsapp/avatar from the worker: digest (sha256_mismatch)",
        "Refused whatsapp/status from the worker: bad status (invalid_format)",
    ]
    # The repeats are still there, at debug level.
    assert sum(record.levelno == logging.DEBUG for record in caplog.records) == 4

    caplog.clear()
    clock.now = START + timedelta(minutes=9, seconds=59)
    log.refused("whatsapp/avatar", "invalid_format", "bad jid")
    assert errors(caplog) == []
    clock.now = START + timedelta(minutes=10)
    log.refused("whatsapp/avatar", "invalid_format", "bad jid")
    assert errors(caplog) == [
        "Refused whatsapp/avatar from the worker: bad jid (invalid_format); 5 more like it since the last report"
    ]


async def test_a_stream_of_bad_messages_logs_one_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    worker: FakeWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every bad message is still answered with its code; the log gets one ERROR for all of them."""
    caplog.clear()
    for _ in range(20):
        result: dict[str, Any] = await worker.command("whatsapp/avatar", **avatar_payload(jid="not-a-jid"))
        assert result["error"]["code"] == "invalid_format"
    refused = [message for message in errors(caplog) if message.startswith("Refused whatsapp/avatar")]
    assert len(refused) == 1
    assert timedelta(minutes=1) <= REFUSAL_LOG_INTERVAL


async def test_a_refusal_quotes_at_most_a_few_hundred_characters(
    hass: HomeAssistant, worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    """A schema error quotes the bad value; a huge one must not land whole in the log or the answer."""
    caplog.clear()
    result = await worker.command("whatsapp/avatar", **avatar_payload(picture_id="x" * 100_000))
    assert result["error"]["code"] == "invalid_format"
    assert len(result["error"]["message"]) <= MAX_REFUSAL_MESSAGE_CHARS + 1
    assert all(len(message) < MAX_REFUSAL_MESSAGE_CHARS + 200 for message in errors(caplog))
