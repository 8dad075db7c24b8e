"""Diagnostics: what the worker reported, without personal data or pairing secrets.

Phone numbers, JIDs, names and pairing secrets are replaced, so the download can be attached to a public issue.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .coordinator import WhatsAppConfigEntry

# Keys whose values identify a person or unlock the account.
TO_REDACT = {
    "favourites", "jid", "jids", "name", "qr", "qr_image", "code",
    "pairing_qr", "pairing_qr_image", "pairing_code", "title",
}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> dict[str, Any]:
    """Return a snapshot of the entry and the worker's last reports, without personal data."""
    data = entry.runtime_data.coordinator.data
    status = data.status
    kinds: dict[str, int] = {}
    for item in data.directory.values():
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "worker": {
            "connected": data.worker_connected,
            "version": data.worker_version,
        },
        "status": None
        if status is None
        else {
            "connection": status.connection,
            "pairing_qr": REDACTED if status.pairing_qr else None,
            "pairing_code": REDACTED if status.pairing_code else None,
            # The picture encodes the same secret as the QR text.
            "pairing_qr_image": REDACTED if status.pairing_qr_image else None,
            "queue_length": status.queue_length,
            "progress": None
            if status.progress is None
            else {
                "done": status.progress.done,
                "total": status.progress.total,
                "rate_per_hour": status.progress.rate_per_hour,
                "eta_seconds": status.progress.eta_seconds,
            },
            "rate_limited_until": status.rate_limited_until.isoformat() if status.rate_limited_until else None,
            "counts": {kind: dict(states) for kind, states in status.counts.items()},
            "storage": None
            if status.storage is None
            else {"files": status.storage.files, "bytes": status.storage.bytes},
        },
        "directory": {"entries": len(data.directory), "by_kind": kinds},
        "favourites": len(data.favourites),
        # Numbered instead of keyed by JID.
        "pictures": [
            {
                "favourite": picture.jid in data.favourites,
                "state": picture.state,
                "sha256": picture.sha256,
                "bytes": len(picture.content) if picture.content is not None else None,
                "changed_at": picture.changed_at.isoformat() if picture.changed_at else None,
            }
            for picture in data.pictures.values()
        ],
    }
