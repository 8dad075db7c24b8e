"""Schemas for the wire protocol (described in protocol/protocol.json; tests/test_protocol.py).

Written with probatio, Home Assistant's voluptuous successor, and shared by the websocket commands and the service-call results.
"""

from __future__ import annotations

import re
from typing import Any

import probatio as vol

from homeassistant.util import dt as dt_util

from .const import (
    AVATAR_STATES,
    CALL_ERROR_CODES,
    CONNECTION_STATES,
    MAX_CALL_ERROR_MESSAGE_LENGTH,
    MAX_CONNECTION_DETAIL_LENGTH,
    MAX_DIRECTORY_CHUNK_ENTRIES,
    MAX_DIRECTORY_CHUNKS,
    MAX_NAME_LENGTH,
    MAX_PAIRING_CODE_LENGTH,
    MAX_PAIRING_QR_TEXT_LENGTH,
    MAX_PICTURE_BYTES,
    MAX_WORKER_ID_LENGTH,
    MAX_WORKER_VERSION_LENGTH,
    REFRESH_SCOPES,
    SUBJECT_KINDS,
)
from .jids import is_subject_jid

# Matched with `fullmatch` only (`$` lets a trailing newline through).
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Picture ids are decimal in practice; allow some room without letting arbitrary text through.
PICTURE_ID_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")
CALL_ID_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")


def base64_length(max_bytes: int) -> int:
    """Return the base64 length of `max_bytes`, rounded up to whole 4-character groups.

    Longer text is refused before anything is decoded.
    """
    return 4 * -(-max_bytes // 3)


def jid(value: Any) -> str:
    """Return a normalised contact or group JID, exactly as the worker sends them."""
    if not isinstance(value, str):
        raise vol.Invalid("a JID must be a string")
    if not is_subject_jid(value):
        # repr shows a trailing newline or other control character as the reason.
        shown = repr(value if len(value) <= 40 else f"{value[:40]}…")
        raise vol.Invalid(
            f"{shown} is not a contact or group JID"
            " (number@s.whatsapp.net, id@lid or id@g.us)"
        )
    return value


def utc_timestamp(value: Any) -> Any:
    """Return an ISO 8601 time with a zone, as a timezone-aware datetime."""
    if not isinstance(value, str) or (parsed := dt_util.parse_datetime(value)) is None:
        raise vol.Invalid(f"expected an ISO 8601 time, got {value!r}")
    if parsed.tzinfo is None:
        raise vol.Invalid(f"the time {value!r} has no time zone")
    return parsed


def _pattern(regex: re.Pattern[str], what: str) -> Any:
    def validate(value: Any) -> str:
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            raise vol.Invalid(f"malformed {what}")
        return value

    return validate


def _bounded_text(max_length: int) -> Any:
    return vol.All(str, vol.Length(max=max_length))


def strict_int(value: Any) -> int:
    """Return an integer that is not a boolean (bool is an int in Python, not on the wire)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid(f"expected an integer, got {value!r}")
    return value


def _count() -> Any:
    return vol.All(strict_int, vol.Range(min=0))

OPTIONAL_TIME = vol.Any(None, utc_timestamp)
OPTIONAL_NAME = vol.Any(None, _bounded_text(MAX_NAME_LENGTH))
SHA256 = _pattern(SHA256_RE, "sha256 (64 lowercase hex digits)")
PICTURE_ID = _pattern(PICTURE_ID_RE, "picture id")
CALL_ID = _pattern(CALL_ID_RE, "call id")

HELLO_FIELDS: dict[Any, Any] = {
    vol.Required("protocol_version"): strict_int,
    vol.Required("worker_version"): _bounded_text(MAX_WORKER_VERSION_LENGTH),
    # Stable per worker data folder; None from a worker that predates it.
    vol.Optional("worker_id", default=None): vol.Any(None, _bounded_text(MAX_WORKER_ID_LENGTH)),
}

AVATAR_FIELDS: dict[Any, Any] = {
    vol.Required("jid"): jid,
    vol.Required("kind"): vol.In(SUBJECT_KINDS),
    vol.Required("name"): OPTIONAL_NAME,
    vol.Required("state"): vol.In(AVATAR_STATES),
    vol.Required("picture_id"): vol.Any(None, PICTURE_ID),
    vol.Required("sha256"): vol.Any(None, SHA256),
    vol.Required("checked_at"): OPTIONAL_TIME,
    vol.Required("changed_at"): OPTIONAL_TIME,
    # Decoded and checked by the handler, which answers with a precise error code.
    vol.Required("image"): vol.Any(None, str),
}

_COUNTS_BY_STATE = vol.Schema({vol.Required(state): _count() for state in AVATAR_STATES})

STATUS_FIELDS: dict[Any, Any] = {
    vol.Required("connection"): vol.In(CONNECTION_STATES),
    vol.Required("pairing"): vol.Any(
        None,
        {
            vol.Required("qr"): vol.Any(None, _bounded_text(MAX_PAIRING_QR_TEXT_LENGTH)),
            # Base64 PNG, decoded and checked by the handler, which answers with a precise error
            # code. Optional so a worker from before the QR picture keeps working.
            vol.Optional("qr_image", default=None): vol.Any(None, str),
            vol.Required("code"): vol.Any(None, _bounded_text(MAX_PAIRING_CODE_LENGTH)),
        },
    ),
    vol.Required("queue_length"): _count(),
    vol.Required("progress"): vol.Any(
        None,
        {
            vol.Required("done"): _count(),
            vol.Required("total"): _count(),
            vol.Required("rate_per_hour"): vol.All(
                vol.Any(strict_int, float), vol.Range(min=0)
            ),
            vol.Required("eta_seconds"): vol.Any(None, _count()),
        },
    ),
    vol.Required("rate_limited_until"): OPTIONAL_TIME,
    vol.Required("counts"): {vol.Required(kind): _COUNTS_BY_STATE for kind in SUBJECT_KINDS},
    # Why WhatsApp is not connected, in the worker's words (English: an attribute and a repair's
    # detail), and when it tries next; null while connected or pairing. Whether it runs as the app,
    # so a repair names the log that exists. Optional: a worker from before them keeps working.
    vol.Optional("connection_detail", default=None): vol.Any(None, _bounded_text(MAX_CONNECTION_DETAIL_LENGTH)),
    vol.Optional("reconnect_at", default=None): OPTIONAL_TIME,
    vol.Optional("runs_in_app", default=False): bool,
    # The pictures the worker keeps on disk. Optional: a worker from before it sends none.
    vol.Optional("storage", default=None): vol.Any(
        None, {vol.Required("files"): _count(), vol.Required("bytes"): _count()}
    ),
}

_KINDS = frozenset(SUBJECT_KINDS)
_STATES = frozenset(AVATAR_STATES)


def directory_entry(value: Any) -> list[Any]:
    """Return one [jid, kind, name, state] directory entry (a tuple, so 200,000 stay small).

    Written out rather than composed from validators: a chunk holds thousands of entries and is
    checked on HA's event loop, where this is several times faster.
    """
    if not isinstance(value, list) or len(value) != 4:
        raise vol.Invalid("a directory entry is [jid, kind, name, state]")
    subject, kind, name, state = value
    jid(subject)
    if kind not in _KINDS:
        raise vol.Invalid(f"unknown kind {kind!r}", path=[1])
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_LENGTH):
        raise vol.Invalid(f"a name is text of at most {MAX_NAME_LENGTH} characters, or null", path=[2])
    if state not in _STATES:
        raise vol.Invalid(f"unknown state {state!r}", path=[3])
    return value


def directory_entries(value: Any) -> list[list[Any]]:
    """Return a chunk's entries: a list of at most MAX_DIRECTORY_CHUNK_ENTRIES directory entries."""
    if not isinstance(value, list):
        raise vol.Invalid("entries must be a list")
    if len(value) > MAX_DIRECTORY_CHUNK_ENTRIES:
        raise vol.Invalid(f"a chunk holds at most {MAX_DIRECTORY_CHUNK_ENTRIES} entries")
    for index, item in enumerate(value):
        try:
            directory_entry(item)
        except vol.Invalid as err:
            raise vol.Invalid(err.msg, path=[index, *err.path]) from err
    return value

DIRECTORY_FIELDS: dict[Any, Any] = {
    vol.Required("transfer_id"): CALL_ID,
    vol.Required("chunk"): vol.All(strict_int, vol.Range(min=0, max=MAX_DIRECTORY_CHUNKS - 1)),
    vol.Required("chunks"): vol.All(strict_int, vol.Range(min=1, max=MAX_DIRECTORY_CHUNKS)),
    vol.Required("entries"): directory_entries,
}

CALL_RESULT_FIELDS: dict[Any, Any] = {
    vol.Required("call_id"): CALL_ID,
    vol.Required("ok"): bool,
    # Checked against the pending call's service by the handler.
    vol.Optional("response"): dict,
    vol.Optional("error"): {
        vol.Required("code"): vol.In(CALL_ERROR_CODES),
        vol.Required("message"): _bounded_text(MAX_CALL_ERROR_MESSAGE_LENGTH),
    },
}

AVATAR_OUTCOME = vol.Schema(
    {
        vol.Required("state"): vol.In(AVATAR_STATES),
        vol.Required("changed"): bool,
        vol.Required("picture_id"): vol.Any(None, PICTURE_ID),
        vol.Required("sha256"): vol.Any(None, SHA256),
        vol.Required("checked_at"): vol.Any(None, str),
    }
)

# Responses are passed to the service caller as sent, so times stay strings here.
REFRESH_AVATAR_RESPONSE = vol.Schema(
    {
        vol.Required("jid"): jid,
        vol.Required("queued"): bool,
        vol.Required("position"): vol.Any(None, vol.All(strict_int, vol.Range(min=1))),
        vol.Required("eta_seconds"): vol.Any(None, _count()),
        vol.Required("outcome"): vol.Any(None, AVATAR_OUTCOME),
        vol.Required("timed_out"): bool,
    }
)

REFRESH_AVATARS_RESPONSE = vol.Schema(
    {
        vol.Required("scope"): vol.In(REFRESH_SCOPES),
        vol.Required("queued"): _count(),
        vol.Required("matched"): _count(),
        vol.Required("queue_length"): _count(),
        vol.Required("eta_seconds"): vol.Any(None, _count()),
    }
)

# The bytes of one picture for the Media panel; decoded and checked by media_pictures.py.
PICTURE_RESPONSE = vol.Schema(
    {
        vol.Required("jid"): jid,
        vol.Required("sha256"): SHA256,
        vol.Required("image"): vol.All(str, vol.Length(max=base64_length(MAX_PICTURE_BYTES))),
    }
)

# The code WhatsApp issued for the linking dialog's phone number, unformatted (repairs.py shows XXXX-XXXX).
PAIRING_CODE_RESPONSE = vol.Schema(
    {vol.Required("code"): vol.All(str, vol.Length(min=1, max=MAX_PAIRING_CODE_LENGTH))}
)

PURGE_AVATARS_RESPONSE = vol.Schema(
    {
        vol.Required("files_removed"): _count(),
        vol.Required("bytes_removed"): _count(),
    }
)
