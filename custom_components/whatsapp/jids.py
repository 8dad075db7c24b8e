"""The one check of a normalised contact or group JID.

Shared by the wire, the services, the options and the picture store (a JID becomes an entity's unique id and a file name).
"""

from __future__ import annotations

from typing import Any

from .const import CONTACT_JID_RE, GROUP_JID_RE


def is_subject_jid(value: Any) -> bool:
    """Whether `value` is exactly a contact or group JID, with nothing before or after it."""
    return isinstance(value, str) and (
        CONTACT_JID_RE.fullmatch(value) is not None or GROUP_JID_RE.fullmatch(value) is not None
    )
