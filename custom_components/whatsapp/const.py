"""Constants for the WhatsApp Avatars integration."""

from __future__ import annotations

from datetime import timedelta
import logging
import re
from typing import Final

DOMAIN: Final = "whatsapp"
LOGGER = logging.getLogger(__package__)

# The wire protocol with the worker, described once in protocol/protocol.json (outside this
# folder: HACS installs only custom_components/whatsapp, so the integration keeps its own copy).
# tests/test_protocol.py fails when a version, limit, enum, default or error code here differs
# from the description. PROTOCOL_VERSION is bumped only on breaking changes.
PROTOCOL_VERSION: Final = 1

CONF_FAVOURITES: Final = "favourites"

EVENT_AVATAR_UPDATED: Final = "whatsapp_avatar_updated"

SERVICE_REFRESH_AVATAR: Final = "refresh_avatar"
SERVICE_REFRESH_AVATARS: Final = "refresh_avatars"
SERVICE_LINK_PERSON: Final = "link_person"
SERVICE_UNLINK_PERSON: Final = "unlink_person"
SERVICE_PURGE_AVATARS: Final = "purge_avatars"
# Not a user's service: HA asking the worker for one picture's bytes (the Media panel).
CALL_PICTURE: Final = "picture"
# Not a user's service: the linking dialog asking for a pairing code instead of the QR (repairs.py).
CALL_PAIRING_CODE: Final = "pairing_code"

# Same rules as worker/src/jid.ts after normalisation: phone-number and LID users, and groups
# (old groups are `<creator>-<timestamp>`). Only ever used with `fullmatch`: `$` also matches
# before a trailing newline, which would let "…@s.whatsapp.net\n" become an entity and a file name.
CONTACT_JID_RE: Final = re.compile(r"[0-9]{1,20}@(s\.whatsapp\.net|lid)")
GROUP_JID_RE: Final = re.compile(r"[0-9]{1,20}(-[0-9]{1,12})?@g\.us")

# HA refuses larger pictures: base64 grows them by a third and HA's websocket drops a message over
# 4 MiB. WhatsApp's full-size pictures are a few hundred kB. Same as the worker's MAX_PICTURE_BYTES.
MAX_PICTURE_BYTES: Final = 2 * 1024 * 1024
JPEG_MAGIC: Final = b"\xff\xd8\xff"
PICTURE_CONTENT_TYPE: Final = "image/jpeg"

# The pairing QR the worker renders is a few kB (a version ~10 QR at a few pixels per module); a
# quarter of a MiB leaves plenty of room and still keeps a broken worker from filling memory.
MAX_PAIRING_QR_BYTES: Final = 256 * 1024
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
PAIRING_QR_CONTENT_TYPE: Final = "image/png"

# The picker must hold a whole address book (200,000 contacts and groups work); anything larger is
# a bug or an attack on memory. The directory comes in chunks (HA's websocket takes at most 4 MiB
# in one message), in order, under one transfer id.
MAX_DIRECTORY_ENTRIES: Final = 250_000
MAX_DIRECTORY_CHUNK_ENTRIES: Final = 5_000
MAX_DIRECTORY_CHUNKS: Final = 1_000
MAX_NAME_LENGTH: Final = 256
MAX_WORKER_VERSION_LENGTH: Final = 64
MAX_WORKER_ID_LENGTH: Final = 64
MAX_PAIRING_QR_TEXT_LENGTH: Final = 1024
MAX_PAIRING_CODE_LENGTH: Final = 64
MAX_CALL_ERROR_MESSAGE_LENGTH: Final = 1024

CONNECTION_STATES: Final = ("connecting", "pairing", "pairing-stopped", "open", "closed", "logged-out")
AVATAR_STATES: Final = ("unknown", "fetched", "none", "hidden")
SUBJECT_KINDS: Final = ("contact", "group")
REFRESH_SCOPES: Final = ("all", "missing", "stale", "favourites")
CALL_ERROR_CODES: Final = ("invalid_jid", "unknown_jid", "not_connected", "internal_error", "no_picture")

# A worker that keeps sending what HA refuses logs one ERROR per kind of refusal this often; the
# repeats in between go to the debug log (a loop of bad messages must not flood the log).
REFUSAL_LOG_INTERVAL: Final = timedelta(minutes=10)

# refresh_avatar may wait this long for the outcome; WhatsApp answers a picture query within
# seconds, but a long queue ahead of an explicit job can take minutes.
MAX_WAIT_SECONDS: Final = 300
# Defaults of the service calls (protocol.json `defaults`, and services.yaml): a user calling
# refresh_avatar expects the new picture's outcome in the answer; `missing` is the polite bulk
# refresh, `all` queues the whole address book against WhatsApp's rate limits.
DEFAULT_WAIT_SECONDS: Final = 30
DEFAULT_FORCE: Final = False
DEFAULT_REFRESH_SCOPE: Final = "missing"
# How long past the requested wait HA keeps waiting for the worker's answer: the worker answers
# as soon as its own wait runs out, so this only covers the round trip and a busy event loop.
CALL_RESPONSE_MARGIN_SECONDS: Final = 15
# refresh_avatars only queues jobs, which the worker does in one database transaction.
REFRESH_AVATARS_TIMEOUT_SECONDS: Final = 30

# The worker reads one file of at most MAX_PICTURE_BYTES for a picture call: an answer later than
# this means a stuck worker, and the Media panel shows an error instead of a spinner.
PICTURE_CALL_TIMEOUT_SECONDS: Final = 20
# purge_avatars removes the unused files one by one; thousands of them take seconds.
PURGE_AVATARS_TIMEOUT_SECONDS: Final = 120

# A worker that is away this long is more than a restart or an update: tell the user.
WORKER_GONE_ISSUE_DELAY: Final = timedelta(minutes=15)

# The worker is connected to HA but not to WhatsApp this long (through its own retries): more than a
# network blip or a WhatsApp hiccup, so the user learns why (the worker's reason) and where to look.
WHATSAPP_DOWN_ISSUE_DELAY: Final = timedelta(minutes=15)
# Connection states in which the worker is trying to reach WhatsApp again by itself.
WHATSAPP_DOWN_STATES: Final = ("connecting", "closed")
# The worker's reason is one sentence; longer text is refused as a malformed status.
MAX_CONNECTION_DETAIL_LENGTH: Final = 512

ISSUE_WORKER_GONE: Final = "worker_gone"
ISSUE_LOGGED_OUT: Final = "logged_out"
# WhatsApp's help page on linked devices (why they are logged out, how to link again); shown as the
# logged-out repair's "Learn more" link (hassfest allows no URL in the strings themselves).
LINKED_DEVICES_HELP_URL: Final = "https://faq.whatsapp.com/378279804439436"
# One issue id; its translation names the log that exists: the app's, or the standalone worker's.
ISSUE_WHATSAPP_DOWN: Final = "whatsapp_down"
ISSUE_WHATSAPP_DOWN_APP: Final = "whatsapp_down_app"
# One issue id while the worker waits to be linked; its translation says how, by code or by QR.
ISSUE_PAIRING: Final = "pairing"
ISSUE_PAIRING_CODE: Final = "pairing_code"
ISSUE_PAIRING_QR: Final = "pairing_qr"
# Pairing codes or QR codes expired unused a few times in a row; the worker waits for a restart.
ISSUE_PAIRING_STOPPED: Final = "pairing_stopped"
# The connection state the worker reports then.
CONNECTION_PAIRING_STOPPED: Final = "pairing-stopped"
