"""Telling the user how to link the worker to WhatsApp while it waits to be paired.

A repair issue rather than a persistent notification: repairs are translated (the steps are
spelled out in the user's language, with the code as a placeholder), they sit where HA collects
things to act on, and they are not persistent, so a code from before a restart never lingers.
One issue id per account (`pairing_<entry id>`, account_issues.py), whose translation says how:
with a pairing code when the worker has a phone number configured, else with the QR shown by the
pairing image entity. When the worker stopped pairing
because its codes expired unused a few times in a row, the same issue says so and how to start
again (restart the app). It follows each status and goes once the worker is linked, stops asking,
or disconnects (its code or QR then means nothing; the worker sends its status again when it
reconnects).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .account_issues import account_issue_id, account_placeholders
from .const import (
    CONNECTION_PAIRING_STOPPED,
    DOMAIN,
    ISSUE_PAIRING,
    ISSUE_PAIRING_CODE,
    ISSUE_PAIRING_QR,
    ISSUE_PAIRING_STOPPED,
)
from .models import WorkerStatus

# The key of the worker's pairing QR image entity (its unique id is `<entry id>_pairing_qr`).
PAIRING_QR_KEY = "pairing_qr"
# What the entity is called before the registry knows it (the entity id HA derives from its name).
DEFAULT_PAIRING_QR_ENTITY_ID = "image.whatsapp_pairing_qr_code"


def pairing_qr_entity_id(hass: HomeAssistant, entry_id: str) -> str:
    """Return the QR entity's id as the user sees it, renamed or not."""
    return (
        er.async_get(hass).async_get_entity_id("image", DOMAIN, f"{entry_id}_{PAIRING_QR_KEY}")
        or DEFAULT_PAIRING_QR_ENTITY_ID
    )


@callback
def async_update_pairing_issue(hass: HomeAssistant, entry_id: str, status: WorkerStatus | None) -> None:
    """Create, update or delete the pairing issue to match the worker's last status."""
    if status is not None and status.connection == CONNECTION_PAIRING_STOPPED:
        ir.async_create_issue(
            hass,
            DOMAIN,
            account_issue_id(ISSUE_PAIRING, entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_PAIRING_STOPPED,
            translation_placeholders=account_placeholders(hass, entry_id),
        )
        return
    if status is None or not status.pairing:
        async_clear_pairing_issue(hass, entry_id)
        return
    placeholders = {"entity": pairing_qr_entity_id(hass, entry_id), **account_placeholders(hass, entry_id)}
    if status.pairing_code is not None:
        translation_key = ISSUE_PAIRING_CODE
        placeholders["code"] = status.pairing_code
    else:
        translation_key = ISSUE_PAIRING_QR
    # Unchanged arguments leave the issue as it is, so a rotating QR does not churn the registry.
    # Fixable: its fix flow (repairs.py) shows the current QR in the dialog until the phone is linked.
    ir.async_create_issue(
        hass,
        DOMAIN,
        account_issue_id(ISSUE_PAIRING, entry_id),
        is_fixable=True,
        data={"entry_id": entry_id},
        severity=ir.IssueSeverity.WARNING,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


@callback
def async_clear_pairing_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Linked, or nobody left to link: nothing to tell about this account."""
    ir.async_delete_issue(hass, DOMAIN, account_issue_id(ISSUE_PAIRING, entry_id))
