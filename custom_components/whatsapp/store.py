"""Persistence of what must survive an HA restart while the worker is away.

The favourites' last pictures (one Store file per JID, so a change rewrites one picture, not all of them) and
the contact directory for the favourites picker.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .jids import is_subject_jid
from .models import DirectoryEntry, Picture

STORAGE_VERSION = 1
PICTURE_KEY_PREFIX = f"{DOMAIN}.picture."
DIRECTORY_KEY = f"{DOMAIN}.directory"
# A directory push can arrive every few seconds during a history sync; write at most this often.
DIRECTORY_SAVE_DELAY_SECONDS = 30


def _time(value: str | None) -> Any:
    return dt_util.parse_datetime(value) if value else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class PictureStore:
    """The favourites' pictures on disk, in HA's .storage (written atomically by Store)."""

    def __init__(self, hass: HomeAssistant, prefix: str = "") -> None:
        """Nothing is read until `async_load`; `prefix` keeps an account's files apart (accounts.id_prefix)."""
        self._hass = hass
        self._prefix = prefix
        self._stores: dict[str, Store[dict[str, Any]]] = {}

    def _store(self, jid: str) -> Store[dict[str, Any]]:
        # The JID is part of a file name: only an exact JID ([0-9@.-a-z], no newline) gets one.
        if not is_subject_jid(jid):
            raise ValueError(f"not a contact or group JID: {jid!r}")
        if (store := self._stores.get(jid)) is None:
            store = Store(self._hass, STORAGE_VERSION, f"{PICTURE_KEY_PREFIX}{self._prefix}{jid}")
            self._stores[jid] = store
        return store

    async def async_load(self, jid: str) -> Picture | None:
        """Return the stored picture of one JID, or None when there is none or it is unreadable."""
        data = await self._store(jid).async_load()
        if not data:
            return None
        try:
            content = base64.b64decode(data["image"], validate=True) if data.get("image") else None
            return Picture(
                jid=jid,
                name=data.get("name"),
                state=data["state"],
                picture_id=data.get("picture_id"),
                sha256=data.get("sha256"),
                checked_at=_time(data.get("checked_at")),
                changed_at=_time(data.get("changed_at")),
                received_at=_time(data.get("received_at")),
                content=content,
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as err:
            LOGGER.warning("Ignoring the unreadable stored picture of %s: %s", jid, err)
            return None

    async def async_save(self, picture: Picture) -> None:
        """Write one picture at once: it is what shows after a restart."""
        await self._store(picture.jid).async_save(
            {
                "name": picture.name,
                "state": picture.state,
                "picture_id": picture.picture_id,
                "sha256": picture.sha256,
                "checked_at": _iso(picture.checked_at),
                "changed_at": _iso(picture.changed_at),
                "received_at": _iso(picture.received_at),
                "image": base64.b64encode(picture.content).decode("ascii")
                if picture.content is not None
                else None,
            }
        )

    async def async_remove(self, jid: str) -> None:
        """Forgets a picture once its contact is no longer a favourite."""
        await self._store(jid).async_remove()
        self._stores.pop(jid, None)


class DirectoryStore:
    """The last contact directory, so the favourites picker works while the worker is away."""

    def __init__(self, hass: HomeAssistant, prefix: str = "") -> None:
        """Nothing is read until `async_load`; `prefix` keeps an account's file apart (accounts.id_prefix)."""
        key = f"{DIRECTORY_KEY}.{prefix.rstrip('_')}" if prefix else DIRECTORY_KEY
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, key)
        self._entries: dict[str, DirectoryEntry] = {}
        self._save_pending = False

    async def async_load(self) -> dict[str, DirectoryEntry]:
        """Return the stored directory; empty when there is none or it is unreadable.

        Entries are stored as [jid, kind, name, state] (200,000 of them stay a few MB); a file from
        before that holds objects with those keys.
        """
        data = await self._store.async_load()
        try:
            entries = (
                DirectoryEntry(jid=item["jid"], kind=item["kind"], name=item.get("name"), state=item["state"])
                if isinstance(item, dict)
                else DirectoryEntry(jid=item[0], kind=item[1], name=item[2], state=item[3])
                for item in (data or {}).get("entries", [])
            )
            return {entry.jid: entry for entry in entries}
        except (KeyError, IndexError, TypeError) as err:
            LOGGER.warning("Ignoring the unreadable stored directory: %s", err)
            return {}

    async def async_remove(self) -> None:
        """Delete the stored directory (the config entry is being removed)."""
        await self._store.async_remove()

    def async_schedule_save(self, entries: dict[str, DirectoryEntry]) -> None:
        """Save a while later; a newer directory replaces a pending one."""
        self._entries = entries
        self._save_pending = True
        self._store.async_delay_save(self._data, DIRECTORY_SAVE_DELAY_SECONDS)

    async def async_flush(self) -> None:
        """Write a pending directory now: the entry unloads, and a reloaded entry reads the file.

        Store writes a delayed save by itself only when HA stops (its final write); a reload would
        read the older file and the pending write would land after it, unseen until the next start.
        `async_save` cancels the pending delayed write (homeassistant/helpers/storage.py, 2026.10.4).
        """
        if not self._save_pending:
            return
        await self._store.async_save(self._data())

    def _data(self) -> dict[str, Any]:
        self._save_pending = False
        return {"entries": [[e.jid, e.kind, e.name, e.state] for e in self._entries.values()]}
