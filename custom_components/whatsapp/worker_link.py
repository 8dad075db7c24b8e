"""The link to the worker.

The one subscription it holds open, and the service calls sent down it and answered with `whatsapp/call_result`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import probatio as vol

from homeassistant.components.websocket_api import ActiveConnection, event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.hass_dict import HassKey

from .const import (
    CALL_PAIRING_CODE,
    CALL_PICTURE,
    DOMAIN,
    LOGGER,
    SERVICE_PURGE_AVATARS,
    SERVICE_REFRESH_AVATAR,
    SERVICE_REFRESH_AVATARS,
)
from .schemas import (
    PAIRING_CODE_RESPONSE,
    PICTURE_RESPONSE,
    PURGE_AVATARS_RESPONSE,
    REFRESH_AVATAR_RESPONSE,
    REFRESH_AVATARS_RESPONSE,
)

RESPONSE_SCHEMAS: Mapping[str, vol.Schema] = {
    SERVICE_REFRESH_AVATAR: REFRESH_AVATAR_RESPONSE,
    SERVICE_REFRESH_AVATARS: REFRESH_AVATARS_RESPONSE,
    CALL_PICTURE: PICTURE_RESPONSE,
    SERVICE_PURGE_AVATARS: PURGE_AVATARS_RESPONSE,
    CALL_PAIRING_CODE: PAIRING_CODE_RESPONSE,
}

# The worker's error codes and the translated errors they become.
TRANSLATION_KEY_BY_CALL_ERROR: Mapping[str, str] = {
    "invalid_jid": "worker_invalid_jid",
    "unknown_jid": "worker_unknown_jid",
    "not_connected": "whatsapp_not_connected",
    "internal_error": "worker_internal_error",
    "no_picture": "worker_no_picture",
}
# Codes that mean the caller asked for something wrong, not that something broke.
CALLER_ERROR_CODES = frozenset({"invalid_jid", "unknown_jid", "no_picture"})


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """Who said hello on a connection: the worker's id (stable per data folder) and version."""

    worker_id: str | None
    worker_version: str
    since: datetime

    def describe(self) -> str:
        """Name the worker for a log line or an error message."""
        who = f"worker {self.worker_version}"
        if self.worker_id is not None:
            who += f" (id {self.worker_id})"
        return f"{who}, connected since {self.since.isoformat(timespec='seconds')}"

    def same_worker(self, other: WorkerIdentity) -> bool:
        """Whether two hellos came from the same worker; a worker without an id cannot tell."""
        return self.worker_id is None or other.worker_id is None or self.worker_id == other.worker_id


@dataclass(frozen=True, slots=True)
class _Subscription:
    connection: ActiveConnection
    msg_id: int
    identity: WorkerIdentity


# The worker's subscription while no entry holds it: between the unload and the setup of a reload
# (or while the entry is unloaded). The worker keeps it open on its socket and cannot tell that
# the entry went, so the next entry takes it over at once instead of waiting for its next message.
# By entry id: with several accounts, a reloaded entry takes over its own worker, no other.
PARKED_SUBSCRIPTIONS_KEY: HassKey[dict[str, _Subscription]] = HassKey(f"{DOMAIN}_parked_subscriptions")


class WorkerSubscription:
    """What `connection.subscriptions` holds for the worker; calling it ends the link."""

    def __init__(self, link: WorkerLink, subscription: _Subscription) -> None:
        """Ties one subscription to one link; a reloaded entry's link replaces it."""
        self.link = link
        self.subscription = subscription

    def __call__(self) -> None:
        """End the link: the socket closed or the worker unsubscribed."""
        self.link.async_detach(self.subscription)


@dataclass(slots=True)
class _PendingCall:
    service: str
    future: asyncio.Future[dict[str, Any]]


def _error(translation_key: str, caller_error: bool = False, **placeholders: str) -> HomeAssistantError:
    error_type = ServiceValidationError if caller_error else HomeAssistantError
    return error_type(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders=placeholders or None,
    )


class AlreadySubscribedError(Exception):
    """Another worker holds the subscription; one account needs one worker."""


class UnknownCallError(Exception):
    """A call result for a call that is not (or no longer) pending."""


class InvalidCallResultError(Exception):
    """A call result whose response does not have the shape its service promises."""


class WorkerLink:
    """Holds the worker's subscription.

    A newer subscription of the same worker replaces the older one: after a network drop the worker
    reconnects before HA notices the old socket is dead. The older one stays on standby while its
    socket is open, so if the newer drops first the older is used again. A subscription of another
    worker (another worker_id) is refused while one holds the link.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        on_connected_changed: Callable[[bool], None],
        on_takeover: Callable[[], None],
    ) -> None:
        """`on_connected_changed` runs when the worker comes or goes, `on_takeover` when an older subscription takes over."""
        self._hass = hass
        self._entry_id = entry_id
        self._parked = hass.data.setdefault(PARKED_SUBSCRIPTIONS_KEY, {})
        self._on_connected_changed = on_connected_changed
        self._on_takeover = on_takeover
        self._subscription: _Subscription | None = None
        # Replaced subscriptions whose sockets are still open, newest last.
        self._standby: list[_Subscription] = []
        self._pending: dict[str, _PendingCall] = {}

    @property
    def connected(self) -> bool:
        """True while a worker holds the subscription."""
        return self._subscription is not None

    @property
    def identity(self) -> WorkerIdentity | None:
        """Who holds the subscription."""
        return self._subscription.identity if self._subscription is not None else None

    @callback
    def attach(self, connection: ActiveConnection, msg_id: int, identity: WorkerIdentity) -> WorkerSubscription:
        """Make this subscription the worker's; return what ends it (for connection.subscriptions).

        Raise AlreadySubscribedError when another worker holds the link.
        """
        current = self._subscription
        if current is not None and not current.identity.same_worker(identity):
            raise AlreadySubscribedError(
                f"another worker holds the subscription: {current.identity.describe()}; one WhatsApp account needs one worker"
            )
        subscription = _Subscription(connection, msg_id, identity)
        if current is not None:
            self._standby.append(current)
        self._subscription = subscription
        if current is None:
            self._on_connected_changed(True)
        return WorkerSubscription(self, subscription)

    @callback
    def async_detach(self, subscription: _Subscription) -> None:
        """End a subscription; if it was the worker's, the newest one on standby takes over."""
        if self._parked.get(self._entry_id) is subscription:
            # The socket closed while no entry held the subscription: nothing left to take over.
            del self._parked[self._entry_id]
        if subscription in self._standby:
            # An old socket closing after the worker reconnected does not end the new link.
            self._standby.remove(subscription)
            return
        if self._subscription is not subscription:
            return
        self._fail_pending(_error("worker_disconnected"))
        if self._standby:
            self._subscription = self._standby.pop()
            LOGGER.info("The newer worker subscription ended; using the older one, still open: %s", self._subscription.identity.describe())
            self._on_takeover()
            return
        self._subscription = None
        self._on_connected_changed(False)

    @callback
    def async_close(self) -> None:
        """Let go as the entry unloads: fail what waits, park the open subscription for the next entry."""
        if self._subscription is not None:
            self._parked[self._entry_id] = self._subscription
        self._subscription = None
        self._standby.clear()
        self._fail_pending(_error("worker_disconnected"))

    @callback
    def async_take_over_parked(self) -> bool:
        """Hold the subscription the previous entry parked; True when there was one."""
        if (parked := self._parked.pop(self._entry_id, None)) is None:
            return False
        LOGGER.debug("Taking over the worker's open subscription %s after a reload", parked.msg_id)
        parked.connection.subscriptions[parked.msg_id] = self.attach(parked.connection, parked.msg_id, parked.identity)
        return True

    @callback
    def async_send(self, message: dict[str, Any]) -> bool:
        """Send a downstream message; False when no worker listens."""
        if (subscription := self._subscription) is None:
            return False
        subscription.connection.send_message(event_message(subscription.msg_id, message))
        return True

    async def async_call(self, service: str, data: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        """Send a service call to the worker and return its response, or raise a translated error."""
        call_id = uuid4().hex
        future: asyncio.Future[dict[str, Any]] = self._hass.loop.create_future()
        self._pending[call_id] = _PendingCall(service, future)
        try:
            if not self.async_send({"type": "call", "call_id": call_id, "service": service, "data": data}):
                raise _error("worker_not_connected")
            async with asyncio.timeout(timeout_seconds):
                return await future
        except TimeoutError as err:
            raise _error("worker_timeout", seconds=str(round(timeout_seconds))) from err
        finally:
            self._pending.pop(call_id, None)

    @callback
    def async_resolve(self, call_id: str, result: Mapping[str, Any]) -> None:
        """Completes a pending call with the worker's `call_result` payload."""
        if (pending := self._pending.get(call_id)) is None or pending.future.done():
            raise UnknownCallError(call_id)
        if result["ok"]:
            try:
                response = RESPONSE_SCHEMAS[pending.service](result.get("response"))
            except vol.Invalid as err:
                pending.future.set_exception(_error("invalid_worker_response"))
                raise InvalidCallResultError(str(err)) from err
            pending.future.set_result(response)
            return
        error = result.get("error") or {"code": "internal_error", "message": "no error given"}
        code = error["code"]
        # The worker's own words are English and for the log; the user gets the translation of
        # its code.
        LOGGER.info("The worker refused %s call %s: %s (%s)", pending.service, call_id, error["message"], code)
        pending.future.set_exception(
            _error(TRANSLATION_KEY_BY_CALL_ERROR[code], caller_error=code in CALLER_ERROR_CODES)
        )

    def _fail_pending(self, error: HomeAssistantError) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
