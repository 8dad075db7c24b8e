"""Each account's repair issues apart from another's: the issue id carries the entry id.

HA keys an issue by (domain, issue id) (homeassistant/helpers/issue_registry.py, 2026.10.4:
`async_get_or_create` updates the issue with the same id, `async_delete` removes it), so with one
global id per kind two accounts' repairs would overwrite each other and clearing one would clear
both. Core integrations with several entries name each entry's issue after it, and the text after
the entry too (homeassistant/components/orvibo/repair.py: `yaml_deprecation_<mac>` with the
device's name as a placeholder); here `<kind>_<entry id>`, and the account's title in an
`account` placeholder the titles end with, empty while there is only one account, so the single
account's repairs read as before.
"""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_IGNORE, ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    DOMAIN,
    ISSUE_LOGGED_OUT,
    ISSUE_PAIRING,
    ISSUE_WHATSAPP_DOWN,
    ISSUE_WORKER_GONE,
)

# The retired sensor's repair (sensor.py); here so that every kind an entry can raise is listed once.
ISSUE_RATE_LIMITED_UNTIL_REMOVED = "rate_limited_until_removed"
# Every kind of issue an account raises: what removing the entry deletes, and the global ids of
# before several accounts existed, which setting up deletes.
ACCOUNT_ISSUES = (
    ISSUE_WORKER_GONE,
    ISSUE_LOGGED_OUT,
    ISSUE_WHATSAPP_DOWN,
    ISSUE_PAIRING,
    ISSUE_RATE_LIMITED_UNTIL_REMOVED,
)
# The translation placeholder that names the account (see the module's docstring).
ACCOUNT_PLACEHOLDER = "account"


def account_issue_id(kind: str, entry_id: str) -> str:
    """Return the id of one account's issue of this kind."""
    return f"{kind}_{entry_id}"


def account_placeholders(hass: HomeAssistant, entry_id: str) -> dict[str, str]:
    """Return the `account` placeholder: " (title)" beside other accounts, else nothing."""
    accounts = [entry for entry in hass.config_entries.async_entries(DOMAIN) if entry.source != SOURCE_IGNORE]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or len(accounts) < 2:
        return {ACCOUNT_PLACEHOLDER: ""}
    return {ACCOUNT_PLACEHOLDER: f" ({entry.title})"}


@callback
def async_migrate_global_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the global issues of before; the retired sensor's note moves to this entry.

    The others are raised again by what they follow (the worker's status, the clocks). The
    retired sensor's note is persistent and nothing raises it again, so it is kept, now the
    entry's own: an installation from before had one account, the one setting up now.
    """
    registry = ir.async_get(hass)
    for kind in ACCOUNT_ISSUES:
        if (old := registry.async_get_issue(DOMAIN, kind)) is None:
            continue
        if kind == ISSUE_RATE_LIMITED_UNTIL_REMOVED and old.translation_key is not None and old.dismissed_version is None:
            ir.async_create_issue(
                hass,
                DOMAIN,
                account_issue_id(kind, entry.entry_id),
                is_fixable=False,
                is_persistent=True,
                severity=old.severity or ir.IssueSeverity.WARNING,
                translation_key=old.translation_key,
                translation_placeholders={
                    **(old.translation_placeholders or {}),
                    **account_placeholders(hass, entry.entry_id),
                },
            )
        ir.async_delete_issue(hass, DOMAIN, kind)


@callback
def async_delete_account_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every issue of one account (its entry is removed)."""
    for kind in ACCOUNT_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, account_issue_id(kind, entry_id))
