"""Typed views of what the worker reports, built from validated wire payloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Progress:
    """How far the worker is through its queue."""

    done: int
    total: int
    rate_per_hour: float
    eta_seconds: int | None

    @property
    def percent(self) -> float | None:
        """Share of the queue done; None while there is nothing to do."""
        if self.total <= 0:
            return None
        return round(100 * min(self.done, self.total) / self.total, 1)


@dataclass(frozen=True, kw_only=True)
class PictureStorage:
    """The pictures the worker keeps on disk."""

    files: int
    bytes: int


@dataclass(frozen=True, kw_only=True)
class WorkerStatus:
    """The worker's last `whatsapp/status`."""

    connection: str
    pairing_qr: str | None
    pairing_code: str | None
    queue_length: int
    progress: Progress | None
    rate_limited_until: datetime | None
    counts: Mapping[str, Mapping[str, int]]
    # Why WhatsApp is not connected (the worker's words) and the next attempt.
    connection_detail: str | None = None
    reconnect_at: datetime | None = None
    # The worker runs as the app (its log is the app's log), not on its own.
    runs_in_app: bool = False
    # The PNG of `pairing_qr` once the worker rendered it (decoded and checked).
    pairing_qr_image: bytes | None = None
    # None from a worker that does not report it.
    storage: PictureStorage | None = None

    @property
    def pairing(self) -> bool:
        """True while the worker waits to be linked and has something to link it with."""
        return self.connection != "open" and (
            self.pairing_code is not None or self.pairing_qr is not None or self.pairing_qr_image is not None
        )

    @classmethod
    def from_wire(cls, payload: Mapping[str, Any], *, pairing_qr_image: bytes | None = None) -> WorkerStatus:
        """Build from a validated status payload; the QR picture comes decoded."""
        pairing = payload["pairing"] or {}
        progress = payload["progress"]
        return cls(
            connection=payload["connection"],
            pairing_qr=pairing.get("qr"),
            pairing_code=pairing.get("code"),
            pairing_qr_image=pairing_qr_image if payload["pairing"] is not None else None,
            queue_length=payload["queue_length"],
            progress=Progress(**progress) if progress is not None else None,
            rate_limited_until=payload["rate_limited_until"],
            counts=payload["counts"],
            connection_detail=payload["connection_detail"],
            reconnect_at=payload["reconnect_at"],
            runs_in_app=payload["runs_in_app"],
            storage=PictureStorage(**payload["storage"]) if payload["storage"] is not None else None,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectoryEntry:
    """One contact or group the worker knows, for the favourites picker.

    Slots keep 200,000 of them small (no per-entry __dict__).
    """

    jid: str
    kind: str
    name: str | None
    state: str

    @property
    def label(self) -> str:
        """What the picker shows: the name and the number, so equal names stay apart."""
        shown = shown_address(self.jid)
        return f"{self.name} ({shown})" if self.name else shown


def shown_address(jid: str) -> str:
    """Return a phone-number JID as the phone shows it (+491701234567); other JIDs as they are."""
    user, _, server = jid.partition("@")
    return f"+{user}" if server == "s.whatsapp.net" else jid


@dataclass(frozen=True, kw_only=True)
class Picture:
    """The last known picture of one subject; `content` is set only for favourites."""

    jid: str
    name: str | None
    state: str
    picture_id: str | None
    sha256: str | None
    checked_at: datetime | None
    changed_at: datetime | None
    # When HA first saw these bytes; drives `image_last_updated`.
    received_at: datetime | None = None
    content: bytes | None = None


def _frozen[K, V](mapping: Mapping[K, V] | None = None) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, kw_only=True)
class WorkerData:
    """Everything the entities show: one immutable snapshot per push."""

    worker_connected: bool = False
    worker_version: str | None = None
    status: WorkerStatus | None = None
    # When HA first saw the current pairing QR picture; drives its `image_last_updated`.
    pairing_qr_received_at: datetime | None = None
    directory: Mapping[str, DirectoryEntry] = field(default_factory=_frozen)
    pictures: Mapping[str, Picture] = field(default_factory=_frozen)
    favourites: tuple[str, ...] = ()


frozen_mapping = _frozen
