"""Payloads a worker sends, built as protocol/protocol.json describes them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

ANNA = "491701234567@s.whatsapp.net"
BERT = "491709876543@s.whatsapp.net"
GROUP = "120363012345678901@g.us"
LID_USER = "123456789012345@lid"

# Smallest byte strings that pass the JPEG check; the content after the magic bytes is arbitrary.
JPEG_A = b"\xff\xd8\xff\xe0" + b"picture A" * 10
JPEG_B = b"\xff\xd8\xff\xe0" + b"picture B" * 10

# Smallest byte strings that pass the PNG check: two rotations of a pairing QR.
PNG_QR_A = b"\x89PNG\r\n\x1a\n" + b"QR one" * 10
PNG_QR_B = b"\x89PNG\r\n\x1a\n" + b"QR two" * 10
PAIRING_QR_TEXT = "2@pairingref,noisekey,identitykey,advsecret"


def sha256(content: bytes) -> str:
    """Return the hex digest the worker declares for `content`."""
    return hashlib.sha256(content).hexdigest()


def avatar_payload(
    jid: str = ANNA,
    content: bytes | None = JPEG_A,
    *,
    state: str = "fetched",
    name: str | None = "Anna",
    with_image: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Return a `whatsapp/avatar` payload; keyword arguments override its fields."""
    payload: dict[str, Any] = {
        "jid": jid,
        "kind": "group" if jid.endswith("@g.us") else "contact",
        "name": name,
        "state": state,
        "picture_id": "1712345678" if content is not None else None,
        "sha256": sha256(content) if content is not None else None,
        "checked_at": "2026-11-01T10:00:00.000Z",
        "changed_at": "2026-11-01T09:00:00.000Z" if content is not None else None,
        "image": base64.b64encode(content).decode() if content is not None and with_image else None,
    }
    payload.update(overrides)
    return payload


def counts(fetched: int = 0) -> dict[str, dict[str, int]]:
    """Return the `counts` of a status with `fetched` contacts and nothing else."""
    empty = {"unknown": 0, "fetched": 0, "none": 0, "hidden": 0}
    return {"contact": {**empty, "fetched": fetched}, "group": dict(empty)}


def status_payload(**overrides: Any) -> dict[str, Any]:
    """Return a `whatsapp/status` payload of a linked worker; keyword arguments override its fields."""
    payload: dict[str, Any] = {
        "connection": "open",
        "pairing": None,
        "queue_length": 12,
        "progress": {"done": 30, "total": 40, "rate_per_hour": 600, "eta_seconds": 72},
        "rate_limited_until": None,
        "counts": counts(fetched=30),
    }
    payload.update(overrides)
    return payload


def directory_payload(
    *entries: tuple[str, str | None], transfer_id: str = "t1", chunk: int = 0, chunks: int = 1
) -> dict[str, Any]:
    """Return a `whatsapp/directory` chunk of (jid, name) entries: by default a whole directory in one."""
    return {
        "transfer_id": transfer_id,
        "chunk": chunk,
        "chunks": chunks,
        "entries": [
            [jid, "group" if jid.endswith("@g.us") else "contact", name, "unknown"] for jid, name in entries
        ],
    }


def pairing(
    png: bytes | None = PNG_QR_A, *, code: str | None = None, qr: str | None = PAIRING_QR_TEXT
) -> dict[str, Any]:
    """Return the `pairing` field of a status while the worker waits to be linked."""
    return {"qr": qr, "qr_image": base64.b64encode(png).decode() if png is not None else None, "code": code}


def pairing_status(png: bytes | None = PNG_QR_A, **kwargs: Any) -> dict[str, Any]:
    """Return a status from a worker waiting to be linked: nothing queued, nothing fetched."""
    return status_payload(
        connection="pairing", pairing=pairing(png, **kwargs), queue_length=0, progress=None, counts=counts()
    )


def every_command() -> list[tuple[str, dict[str, Any]]]:
    """Return one well-formed payload per worker command, hello first, as protocol.json lists them."""
    return [
        ("whatsapp/hello", {"protocol_version": 1, "worker_version": "1"}),
        ("whatsapp/subscribe", {}),
        ("whatsapp/call_result", {"call_id": "x", "ok": False, "error": {"code": "internal_error", "message": "m"}}),
        ("whatsapp/avatar", avatar_payload()),
        ("whatsapp/status", status_payload()),
        ("whatsapp/directory", directory_payload((ANNA, "Anna"))),
    ]
