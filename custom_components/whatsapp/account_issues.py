"""Each account's repair issues apart from another's: the issue id carries the entry id.

HA keys an issue by (domain, issue id) (homeassistant/helpers/issue_registry.py, 2026.10.4:
`async_get_or_create` updates the issue with the same id, `async_delete` removes it), so with one
global id per kind two accounts' repairs would overwrite each other and clearing one would clear
both. Core integrations with several entries name each entry's issue after it, and the text after
the entry too (homeassistant/components/orvibo/repair.py: `yaml_deprecation_<mac>` with the
device's name as a placeholder); here `<kind>_<entry id>`, and the account's title in an
`account` placeholder the titles end with, empty while there is only one account, so the single
account's repairs read as before. The placeholder is fixed when an issue is raised, so when a
second account comes (or one of two goes, or an account is renamed) the open issues of every
account are raised again with the placeholder of now (`async_get_or_create` with the same id
updates them), or one account's repair would not say which account it is about.
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


@callback
def async_rename_account_issues(hass: HomeAssistant) -> None:
    """Give every account's open issues the `account` placeholder of now (see the module's docstring).

    Only active issues: HA also keeps an inactive one (a non-persistent issue the user dismissed,
    loaded at start only to remember that), and raising it again would bring it back.
    """
    registry = ir.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.source == SOURCE_IGNORE:
            continue
        placeholders = account_placeholders(hass, entry.entry_id)
        for kind in ACCOUNT_ISSUES:
            issue = registry.async_get_issue(DOMAIN, account_issue_id(kind, entry.entry_id))
            if issue is None or not issue.active:
                continue
            if issue.translation_key is None or issue.severity is None or issue.is_fixable is None:
                continue
            current = issue.translation_placeholders or {}
            if current.get(ACCOUNT_PLACEHOLDER) == placeholders[ACCOUNT_PLACEHOLDER]:
                continue
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue.issue_id,
                breaks_in_ha_version=issue.breaks_in_ha_version,
                data=issue.data,
                is_fixable=issue.is_fixable,
                is_persistent=issue.is_persistent,
                issue_domain=issue.issue_domain,
                learn_more_url=issue.learn_more_url,
                severity=issue.severity,
                translation_key=issue.translation_key,
                translation_placeholders={**current, **placeholders},
            )
