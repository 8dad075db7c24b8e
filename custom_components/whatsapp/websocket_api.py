"""The websocket commands the worker uses (described in protocol/protocol.json).

Every command is admin-only and validated; a bad payload gets an error result with a stable
snake_case code and a log line, never an exception that could break the integration.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
import logging
from typing import Any

import probatio as vol
from probatio.humanize import humanize_error

from homeassistant.components import websocket_api
from homeassistant.components.websocket_api import (
    ActiveConnection,
    WebSocketCommandHandler,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .accounts import (
    async_discover_worker,
    async_entry_for_worker,
    is_ignored_worker,
    lobby,
)
from .const import (
    DOMAIN,
    JPEG_MAGIC,
    LOGGER,
    MAX_PAIRING_QR_BYTES,
    MAX_PICTURE_BYTES,
    PNG_MAGIC,
    PROTOCOL_VERSION,
    REFUSAL_LOG_INTERVAL,
)
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator, sha256_hex
from .directory import ChunkError
from .models import WorkerStatus
from .refusals import RefusalLog
from .schemas import (
    AVATAR_FIELDS,
    CALL_RESULT_FIELDS,
    DIRECTORY_FIELDS,
    HELLO_FIELDS,
    STATUS_FIELDS,
    base64_length,
)
from .worker_link import (
    AlreadySubscribedError,
    InvalidCallResultError,
    UnknownCallError,
    WorkerIdentity,
)

# Stable error codes the worker can act on (protocol.json `ha_errors`, with websocket_api's own
# invalid_format, unauthorized and unknown_command).
ERR_NOT_LOADED = "not_loaded"
ERR_NOT_SET_UP = "not_set_up"
ERR_UNSUPPORTED_VERSION = "unsupported_version"
ERR_UNKNOWN_CALL = "unknown_call"
ERR_INVALID_RESPONSE = "invalid_response"
ERR_INVALID_IMAGE = "invalid_image"
ERR_IMAGE_TOO_LARGE = "image_too_large"
ERR_SHA256_MISMATCH = "sha256_mismatch"
ERR_HELLO_REQUIRED = "hello_required"
ERR_INVALID_CHUNK = "invalid_chunk"
ERR_ALREADY_SUBSCRIBED = "already_subscribed"
# Enough to name the field and show what was wrong with it.
MAX_REFUSAL_MESSAGE_CHARS = 500

# One per HA start (commands are registered once, in async_setup), shared by every entry load.
REFUSAL_LOG_KEY: HassKey[RefusalLog] = HassKey(f"{DOMAIN}_refusal_log")


class _HelloDone:
    """Kept in `connection.subscriptions` once the worker's hello was accepted on that connection.

    The connection object takes no attributes and no weak references, but it calls (and drops)
    every entry of `subscriptions` when it closes, so the mark lives exactly as long as the
    connection and survives an entry reload, after which the worker does not say hello again. It
    remembers who said hello, to tell a reconnect of the same worker from a second worker.
    """

    def __init__(self, hass: HomeAssistant, identity: WorkerIdentity) -> None:
        """Who said hello on this connection."""
        self.hass = hass
        self.identity = identity

    def __call__(self) -> None:
        """Let a worker waiting for its entry go: the connection closed."""
        if self.identity.worker_id is not None:
            lobby(self.hass).leave(self.identity.worker_id)


HELLO_DONE_KEY = (DOMAIN, "hello")


class _PictureError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@callback
def async_setup(hass: HomeAssistant) -> None:
    """Register the commands once per HA start; they answer `not_loaded` while no entry is."""
    hass.data[REFUSAL_LOG_KEY] = RefusalLog(LOGGER, REFUSAL_LOG_INTERVAL)
    for command in (
        websocket_hello,
        websocket_subscribe,
        websocket_call_result,
        websocket_avatar,
        websocket_status,
        websocket_directory,
    ):
        websocket_api.async_register_command(hass, command)


def _command(command: str, fields: dict[Any, Any]) -> Callable[[WebSocketCommandHandler], WebSocketCommandHandler]:
    """Register an admin-only worker command whose payload this module checks itself.

    HA's own check (a schema given to `websocket_command`) would log an ERROR for every malformed
    message; checked here, a refusal goes through the rate-limited refusal log like every other.
    HA only checks the message type; `require_admin` runs before the payload is looked at.
    """
    payload_schema = vol.Schema({vol.Required("id"): int, vol.Required("type"): command, **fields})

    def decorate(handler: WebSocketCommandHandler) -> WebSocketCommandHandler:
        @wraps(handler)
        def checked(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
            try:
                payload = payload_schema(msg)
            except vol.Invalid as err:
                _refuse(connection, msg, websocket_api.ERR_INVALID_FORMAT, humanize_error(msg, err))
                return
            handler(hass, connection, payload)

        return websocket_api.websocket_command(
            vol.All(vol.Schema({vol.Required("type"): command}, extra=vol.ALLOW_EXTRA))
        )(websocket_api.require_admin(checked))

    return decorate


def _refuse(
    connection: ActiveConnection, msg: dict[str, Any], code: str, message: str, level: int = logging.ERROR
) -> None:
    # A schema error quotes the offending value, which may be a 2 MiB base64 picture.
    if len(message) > MAX_REFUSAL_MESSAGE_CHARS:
        message = f"{message[:MAX_REFUSAL_MESSAGE_CHARS]}…"
    connection.hass.data[REFUSAL_LOG_KEY].refused(msg["type"], code, message, level)
    connection.send_error(msg["id"], code, message)


def _coordinator(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> WhatsAppCoordinator | None:
    """Return the loaded entry's coordinator for a worker that said hello on this connection.

    Otherwise the command is refused, and None returned.
    """
    if HELLO_DONE_KEY not in connection.subscriptions:
        _refuse(
            connection,
            msg,
            ERR_HELLO_REQUIRED,
            "send whatsapp/hello first on this connection (the protocol version handshake)",
        )
        return None
    hello = connection.subscriptions[HELLO_DONE_KEY]
    assert isinstance(hello, _HelloDone)  # only the hello handler puts anything under this key
    identity = hello.identity
    entry: WhatsAppConfigEntry | None = async_entry_for_worker(hass, identity.worker_id)
    if entry is None:
        if identity.worker_id is not None and not is_ignored_worker(hass, identity.worker_id):
            lobby(hass).enter(identity.worker_id, identity.worker_version)
            async_discover_worker(hass, identity.worker_id, identity.worker_version)
            # Its own code: the worker asks again soon, so the entry the user adds finds it at once.
            _refuse(
                connection,
                msg,
                ERR_NOT_SET_UP,
                "this worker is not set up yet: add it in Settings → Devices & services (it is offered there)",
                # Not an error: the discovery offer is what the user sees, and this repeats until they add it.
                logging.INFO,
            )
            return None
        if identity.worker_id is not None:
            why = "the user chose to ignore this worker in Settings → Devices & services"
        else:
            why = "the WhatsApp integration is not set up, or has several accounts and this worker sends no worker_id"
        _refuse(connection, msg, ERR_NOT_LOADED, why)
        return None
    if identity.worker_id is not None:
        lobby(hass).leave(identity.worker_id)
    if entry.state is not ConfigEntryState.LOADED:
        _refuse(connection, msg, ERR_NOT_LOADED, "the WhatsApp integration is set up for this worker but not loaded")
        return None
    return entry.runtime_data.coordinator


@_command("whatsapp/hello", HELLO_FIELDS)
@websocket_api.async_response
async def websocket_hello(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Version handshake; the worker sends it first after every (re)connect."""
    if msg["protocol_version"] != PROTOCOL_VERSION:
        connection.subscriptions.pop(HELLO_DONE_KEY, None)
        _refuse(
            connection,
            msg,
            ERR_UNSUPPORTED_VERSION,
            f"this integration speaks protocol {PROTOCOL_VERSION}, the worker {msg['protocol_version']}",
        )
        return
    identity = WorkerIdentity(worker_id=msg["worker_id"], worker_version=msg["worker_version"], since=dt_util.utcnow())
    earlier = connection.subscriptions.get(HELLO_DONE_KEY)
    if isinstance(earlier, _HelloDone) and earlier.identity.worker_id != identity.worker_id:
        # A connection speaks for the worker that said hello first on it, and for no other
        # account: each command goes to that worker's entry. Stricter than same_worker, which
        # lets a worker without an id match any: a worker keeps its id (or its lack of one) for
        # its whole connection, so a hello that adds or drops one on it is another worker's.
        _refuse(
            connection,
            msg,
            ERR_ALREADY_SUBSCRIBED,
            f"this connection belongs to {earlier.identity.describe()}; another worker needs its own connection",
        )
        return
    # The handshake holds for the connection even while no entry is loaded (HA still starting),
    # so the worker's next commands are answered once it is.
    connection.subscriptions[HELLO_DONE_KEY] = _HelloDone(hass, identity)
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    coordinator.async_worker_hello(msg["worker_version"])
    integration = await async_get_integration(hass, DOMAIN)
    connection.send_result(
        msg["id"],
        {"protocol_version": PROTOCOL_VERSION, "integration_version": str(integration.version)},
    )


@_command("whatsapp/subscribe", {})
@callback
def websocket_subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Hold the worker's subscription: its life is the worker's liveness; calls and favourites go down it."""
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    hello = connection.subscriptions[HELLO_DONE_KEY]
    assert isinstance(hello, _HelloDone)  # _coordinator refused the command otherwise
    try:
        connection.subscriptions[msg["id"]] = coordinator.link.attach(connection, msg["id"], hello.identity)
    except AlreadySubscribedError as err:
        _refuse(connection, msg, ERR_ALREADY_SUBSCRIBED, str(err))
        return
    connection.send_result(msg["id"])
    coordinator.async_send_favourites()


@_command("whatsapp/call_result", CALL_RESULT_FIELDS)
@callback
def websocket_call_result(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Complete one service call with the worker's answer."""
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    if msg["ok"] and "response" not in msg:
        _refuse(connection, msg, ERR_INVALID_RESPONSE, "a successful call result needs a response")
        return
    if not msg["ok"] and "error" not in msg:
        _refuse(connection, msg, ERR_INVALID_RESPONSE, "a failed call result needs an error")
        return
    try:
        coordinator.link.async_resolve(msg["call_id"], msg)
    except UnknownCallError:
        _refuse(connection, msg, ERR_UNKNOWN_CALL, f"no call {msg['call_id']} is waiting (timed out or never sent)")
        return
    except InvalidCallResultError as err:
        _refuse(connection, msg, ERR_INVALID_RESPONSE, f"the response does not fit the call: {err}")
        return
    connection.send_result(msg["id"])


def _decode_image(encoded: str, *, what: str, max_bytes: int, magic: bytes, format_name: str) -> bytes:
    """Base64 image bytes from the worker, checked for size and format before anything keeps them."""
    if len(encoded) > base64_length(max_bytes):
        raise _PictureError(ERR_IMAGE_TOO_LARGE, f"the {what} is larger than {max_bytes} bytes")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise _PictureError(ERR_INVALID_IMAGE, f"the {what} is not valid base64: {err}") from err
    if len(content) > max_bytes:
        raise _PictureError(ERR_IMAGE_TOO_LARGE, f"the {what} is larger than {max_bytes} bytes")
    if not content.startswith(magic):
        raise _PictureError(ERR_INVALID_IMAGE, f"the {what} is not a {format_name}")
    return content


def _decode_picture(encoded: str, declared_sha256: str | None) -> bytes:
    """Return the picture bytes of an avatar update: a JPEG whose digest the worker declared."""
    content = _decode_image(
        encoded, what="picture", max_bytes=MAX_PICTURE_BYTES, magic=JPEG_MAGIC, format_name="JPEG"
    )
    if declared_sha256 is None or sha256_hex(content) != declared_sha256:
        raise _PictureError(ERR_SHA256_MISMATCH, "the picture's sha256 does not match its bytes")
    return content


def _decode_pairing_qr(encoded: str) -> bytes:
    """Return the pairing QR of a status: a small PNG."""
    return _decode_image(
        encoded, what="pairing QR image", max_bytes=MAX_PAIRING_QR_BYTES, magic=PNG_MAGIC, format_name="PNG"
    )


@_command("whatsapp/avatar", AVATAR_FIELDS)
@websocket_api.async_response
async def websocket_avatar(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Apply a picture's new state, or a favourite re-sent after a reconnect."""
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    content: bytes | None = None
    if msg["image"] is not None:
        if msg["state"] not in ("fetched", "hidden"):
            _refuse(connection, msg, ERR_INVALID_IMAGE, f"a subject in state '{msg['state']}' has no picture to send")
            return
        try:
            content = _decode_picture(msg["image"], msg["sha256"])
        except _PictureError as err:
            _refuse(connection, msg, err.code, str(err))
            return
    await coordinator.async_apply_avatar(msg, content)
    connection.send_result(msg["id"])


@_command("whatsapp/status", STATUS_FIELDS)
@callback
def websocket_status(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Worker status: WhatsApp connection, pairing, queue, progress, rate limit, counts."""
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    qr_image: bytes | None = None
    if (pairing := msg["pairing"]) is not None and pairing["qr_image"] is not None:
        try:
            qr_image = _decode_pairing_qr(pairing["qr_image"])
        except _PictureError as err:
            # The whole status is refused, so the last good one (and its QR) stays.
            _refuse(connection, msg, err.code, str(err))
            return
    coordinator.async_apply_status(WorkerStatus.from_wire(msg, pairing_qr_image=qr_image))
    connection.send_result(msg["id"])


@_command("whatsapp/directory", DIRECTORY_FIELDS)
@callback
def websocket_directory(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Take one chunk of the contact directory; the last chunk of a transfer replaces the directory."""
    if (coordinator := _coordinator(hass, connection, msg)) is None:
        return
    try:
        whole = coordinator.directory_transfer.add(msg["transfer_id"], msg["chunk"], msg["chunks"], msg["entries"])
    except ChunkError as err:
        _refuse(connection, msg, ERR_INVALID_CHUNK, str(err))
        return
    if whole is not None:
        coordinator.async_apply_directory(whole)
    connection.send_result(msg["id"])
