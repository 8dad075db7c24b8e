"""Pictures of any contact or group for the Media panel, asked of the worker on request.

HA and the worker share no disk, and the integration never opens a path the worker names: the bytes
come up the worker's link as the answer to a `picture` call (protocol/protocol.json), checked
like a favourite's picture (a JPEG within MAX_PICTURE_BYTES whose sha256 the worker declared).

A grid of thumbnails asks for dozens of pictures at once, and the same ones again when the user
goes back: a small LRU (by bytes) answers repeats without the worker, and concurrent requests for
one picture share one call. A cached picture is used while the worker's last report of that
subject names the same sha256 (a picture change makes it stale at once).

The bytes are served by an authenticated view; the Media panel signs the thumbnail URLs and the
resolved picture URL itself (frontend ha-media-player-browse.ts, getSignedPath; core
media_source/__init__.py websocket_resolve_media, async_sign_path).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from homeassistant.components.http import HomeAssistantView
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.http import KEY_HASS
from homeassistant.util.hass_dict import HassKey

from .const import (
    CALL_PICTURE,
    DOMAIN,
    JPEG_MAGIC,
    MAX_PICTURE_BYTES,
    PICTURE_CALL_TIMEOUT_SECONDS,
    PICTURE_CONTENT_TYPE,
)
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator, sha256_hex
from .jids import is_subject_jid
from .models import Picture

# 32 MiB: ~1,000 thumbnails of WhatsApp's usual 20-40 kB, a screen's worth many times over.
CACHE_MAX_BYTES = 32 * 1024 * 1024
PICTURE_URL = "/api/whatsapp/picture/{entry_id}/{jid}"

CACHES_KEY: HassKey[dict[str, PictureCache]] = HassKey(f"{DOMAIN}_media_pictures")
VIEW_REGISTERED_KEY: HassKey[bool] = HassKey(f"{DOMAIN}_picture_view")


class PictureUnavailableError(HomeAssistantError):
    """The subject is not listed in Media: unknown, without a picture, or hidden."""


def current_state(directory_state: str, picture: Picture | None) -> str:
    """Return a subject's picture state: the worker's latest report, else the directory's.

    The directory is sent again only when subjects arrive; each finished job reports its state
    with `whatsapp/avatar` (coordinator.async_apply_avatar keeps it in `pictures`).
    """
    return picture.state if picture is not None else directory_state


def listed(coordinator: WhatsAppCoordinator, jid: str) -> bool:
    """Whether Media shows this subject: the worker knows it and has its picture (not hidden)."""
    entry = coordinator.data.directory.get(jid)
    return entry is not None and current_state(entry.state, coordinator.data.pictures.get(jid)) == "fetched"


def picture_url(entry_id: str, jid: str) -> str:
    """Return the view's URL of one subject's picture."""
    return PICTURE_URL.format(entry_id=entry_id, jid=jid)


@dataclass(frozen=True, slots=True)
class _Cached:
    sha256: str
    content: bytes


class PictureCache:
    """One entry's pictures, newest use last, at most `max_bytes` of them."""

    def __init__(self, coordinator: WhatsAppCoordinator, max_bytes: int = CACHE_MAX_BYTES) -> None:
        """Empty; tied to one coordinator (a reloaded entry gets a new cache)."""
        self.coordinator = coordinator
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, _Cached] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}
        self.worker_calls = 0

    async def async_get(self, jid: str) -> bytes:
        """Return the JPEG of a listed subject; PictureUnavailableError or the link's translated error."""
        if not listed(self.coordinator, jid):
            raise PictureUnavailableError(f"{jid} has no picture to show")
        if (cached := self._fresh(jid)) is not None:
            self._entries.move_to_end(jid)
            return cached.content
        if (running := self._in_flight.get(jid)) is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes] = self.coordinator.hass.loop.create_future()
        self._in_flight[jid] = future
        try:
            content = await self._async_fetch(jid)
        except BaseException as err:
            future.set_exception(err)
            # Retrieved here so a request that nobody shared does not log "never retrieved".
            future.exception()
            raise
        else:
            future.set_result(content)
            return content
        finally:
            del self._in_flight[jid]

    def _fresh(self, jid: str) -> _Cached | None:
        cached = self._entries.get(jid)
        if cached is None:
            return None
        known = self.coordinator.data.pictures.get(jid)
        if known is not None and known.sha256 is not None and known.sha256 != cached.sha256:
            self._drop(jid)
            return None
        return cached

    async def _async_fetch(self, jid: str) -> bytes:
        self.worker_calls += 1
        response = await self.coordinator.link.async_call(CALL_PICTURE, {"jid": jid}, PICTURE_CALL_TIMEOUT_SECONDS)
        content = _decoded(response)
        if response["jid"] != jid:
            raise HomeAssistantError(f"the worker answered with the picture of {response['jid']}, not {jid}")
        self._keep(jid, _Cached(response["sha256"], content))
        return content

    def _keep(self, jid: str, cached: _Cached) -> None:
        self._drop(jid)
        if len(cached.content) > self._max_bytes:
            return
        self._entries[jid] = cached
        self._bytes += len(cached.content)
        while self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def _drop(self, jid: str) -> None:
        if (old := self._entries.pop(jid, None)) is not None:
            self._bytes -= len(old.content)

    @property
    def cached_bytes(self) -> int:
        """Bytes held now."""
        return self._bytes


def _decoded(response: dict[str, Any]) -> bytes:
    """Return the JPEG of a validated picture response, checked against its declared digest."""
    try:
        content = base64.b64decode(response["image"], validate=True)
    except (binascii.Error, ValueError) as err:
        raise HomeAssistantError(f"the worker's picture is not valid base64: {err}") from err
    if len(content) > MAX_PICTURE_BYTES or not content.startswith(JPEG_MAGIC):
        raise HomeAssistantError("the worker's picture is not a JPEG within the size HA accepts")
    if sha256_hex(content) != response["sha256"]:
        raise HomeAssistantError("the worker's picture does not match its sha256")
    return content


@callback
def async_picture_cache(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> PictureCache:
    """Return the entry's cache; a reloaded entry (a new coordinator) starts empty."""
    caches = hass.data.setdefault(CACHES_KEY, {})
    coordinator = entry.runtime_data.coordinator
    cache = caches.get(entry.entry_id)
    if cache is None or cache.coordinator is not coordinator:
        cache = caches[entry.entry_id] = PictureCache(coordinator)
    return cache


def loaded_entry(hass: HomeAssistant, entry_id: str) -> WhatsAppConfigEntry | None:
    """Return the loaded whatsapp entry of that id, if any."""
    entry: WhatsAppConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry not in hass.config_entries.async_loaded_entries(DOMAIN):
        return None
    return entry


class PictureView(HomeAssistantView):
    """GET one listed subject's picture; authenticated (a signed path from the Media panel works too)."""

    url = "/api/whatsapp/picture/{entry_id}/{jid}"
    name = "api:whatsapp:picture"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, jid: str) -> web.Response:
        """Answer with the JPEG, or a status that says why not."""
        hass = request.app[KEY_HASS]
        if not is_subject_jid(jid) or (entry := loaded_entry(hass, entry_id)) is None:
            return web.Response(status=HTTPStatus.NOT_FOUND, text="no such WhatsApp picture")
        try:
            content = await async_picture_cache(hass, entry).async_get(jid)
        except (PictureUnavailableError, ServiceValidationError):
            return web.Response(status=HTTPStatus.NOT_FOUND, text=f"{jid} has no picture to show")
        except HomeAssistantError as err:
            # Not connected, timed out, or a bad answer: the worker's side, said plainly.
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE, text=str(err) or type(err).__name__)
        return web.Response(
            body=content,
            content_type=PICTURE_CONTENT_TYPE,
            # Signed URLs differ per request anyway; a picture may change, so the browser keeps it briefly.
            headers={"Cache-Control": "private, max-age=60"},
        )


@callback
def async_register_picture_view(hass: HomeAssistant) -> None:
    """Register the view once per HA start (the manifest depends on http)."""
    if not hass.data.get(VIEW_REGISTERED_KEY, False):
        hass.data[VIEW_REGISTERED_KEY] = True
        hass.http.register_view(PictureView())
