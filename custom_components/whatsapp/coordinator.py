"""The push coordinator: every worker message replaces the snapshot the entities read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
import hashlib
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .account_issues import (
    account_issue_id,
    account_placeholders,
    async_migrate_global_issues,
)
from .accounts import id_prefix
from .const import (
    CONF_FAVOURITES,
    DOMAIN,
    EVENT_AVATAR_UPDATED,
    ISSUE_LOGGED_OUT,
    ISSUE_WHATSAPP_DOWN,
    ISSUE_WHATSAPP_DOWN_APP,
    ISSUE_WORKER_GONE,
    LINKED_DEVICES_HELP_URL,
    LOGGER,
    WHATSAPP_DOWN_ISSUE_DELAY,
    WHATSAPP_DOWN_STATES,
    WORKER_GONE_ISSUE_DELAY,
)
from .directory import DirectoryTransfer
from .issue_clock import IssueClock
from .jids import is_subject_jid
from .models import DirectoryEntry, Picture, WorkerData, WorkerStatus, frozen_mapping
from .pairing import async_clear_pairing_issue, async_update_pairing_issue
from .person_link import PersonPictures
from .store import DirectoryStore, PictureStore
from .worker_link import WorkerLink


def subject_unique_id(jid: str, key: str, *, prefix: str) -> str:
    """Return the unique id of a contact's or group's entity: from the JID, never a name.

    `prefix` is the account's (accounts.id_prefix): the same contact in two accounts is two entities.
    """
    return f"{prefix}{jid}_{key}"


@dataclass(frozen=True, kw_only=True)
class WhatsAppRuntimeData:
    """What a loaded entry holds."""

    coordinator: WhatsAppCoordinator
    # The worker's device, which each contact's device hangs from.
    worker_device_id: str


type WhatsAppConfigEntry = ConfigEntry[WhatsAppRuntimeData]


def favourites_of(entry: ConfigEntry) -> tuple[str, ...]:
    """Return the favourites chosen in the options flow, in a stable order.

    Options edited by hand (or written by an older release) may hold anything; a value that is not
    exactly a JID would become an entity and a file name, so it is dropped with a warning.
    """
    chosen: list[Any] = list(entry.options.get(CONF_FAVOURITES, []))
    if rejected := [value for value in chosen if not is_subject_jid(value)]:
        LOGGER.warning("Ignoring favourites that are not contact or group JIDs: %r", rejected)
    return tuple(sorted({value for value in chosen if is_subject_jid(value)}))


class WhatsAppCoordinator(DataUpdateCoordinator[WorkerData]):
    """Holds what the worker reported; has no update method because the worker pushes."""

    config_entry: WhatsAppConfigEntry

    def __init__(self, hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
        """Nothing is read or scheduled until `async_start`."""
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=None)
        self.link = WorkerLink(hass, entry.entry_id, self._worker_connected_changed, self.async_send_favourites)
        # What keeps this account's unique ids, devices and files apart from another account's.
        self.id_prefix = id_prefix(entry)
        self.pictures = PictureStore(hass, self.id_prefix)
        self.directory_store = DirectoryStore(hass, self.id_prefix)
        self.directory_transfer = DirectoryTransfer()
        # People whose picture follows a contact's (person_link.py).
        self.person_pictures = PersonPictures(hass, entry.entry_id)
        self._gone_clock = IssueClock(hass, WORKER_GONE_ISSUE_DELAY, self._worker_gone_too_long)
        self._whatsapp_down_clock = IssueClock(hass, WHATSAPP_DOWN_ISSUE_DELAY, self._whatsapp_down_too_long)
        self.data = WorkerData()

    async def async_start(self) -> None:
        """Load what was stored, so pictures show before the worker comes back."""
        # Before anything raises this account's issues: the global ids of one account go.
        async_migrate_global_issues(self.hass, self.config_entry)
        favourites = favourites_of(self.config_entry)
        await self.person_pictures.async_load()
        pictures = {}
        for jid in favourites:
            if (picture := await self.pictures.async_load(jid)) is not None:
                pictures[jid] = picture
        self.data = WorkerData(
            directory=frozen_mapping(await self.directory_store.async_load()),
            pictures=frozen_mapping(pictures),
            favourites=favourites,
        )
        self._gone_clock.start()

    async def async_stop(self) -> None:
        """Let go of the worker, cancel the timer, write what waits to be saved.

        The issues stay: they describe the worker, not the loaded entry (removing the entry
        deletes them, __init__.async_remove_entry).
        """
        self.link.async_close()
        self._gone_clock.stop()
        self._whatsapp_down_clock.stop()
        await self.directory_store.async_flush()

    def _issue_id(self, kind: str) -> str:
        """Return the id of this account's issue of this kind (account_issues.py)."""
        return account_issue_id(kind, self.config_entry.entry_id)

    def _account(self) -> dict[str, str]:
        """Return the placeholder naming this account in its issues' titles."""
        return account_placeholders(self.hass, self.config_entry.entry_id)

    def _update(self, **changes: Any) -> None:
        self.async_set_updated_data(replace(self.data, **changes))

    # The worker's liveness ------------------------------------------------------------------

    @callback
    def _worker_connected_changed(self, connected: bool) -> None:
        LOGGER.info("The WhatsApp worker %s", "connected" if connected else "disconnected")
        if connected:
            self._gone_clock.stop()
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_WORKER_GONE))
        else:
            # A transfer the worker could not finish never replaces the last whole directory.
            self.directory_transfer.reset()
            self._gone_clock.start()
            async_clear_pairing_issue(self.hass, self.config_entry.entry_id)
            # What the worker last said about WhatsApp no longer holds; "worker gone" takes over.
            self._whatsapp_back()
        self._update(worker_connected=connected)

    @callback
    def _worker_gone_too_long(self) -> None:
        LOGGER.warning("No WhatsApp worker has connected for %s", WORKER_GONE_ISSUE_DELAY)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_WORKER_GONE),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_WORKER_GONE,
            translation_placeholders={"minutes": self._gone_clock.minutes, **self._account()},
        )

    @callback
    def async_worker_hello(self, worker_version: str) -> None:
        """Record the version the worker announced, on its device too."""
        registry = dr.async_get(self.hass)
        if device := registry.async_get_device_by_identifier(
            (DOMAIN, self.config_entry.entry_id), self.config_entry.entry_id
        ):
            registry.async_update_device(device.id, sw_version=worker_version)
        self._update(worker_version=worker_version)

    # Worker pushes ---------------------------------------------------------------------------

    @callback
    def async_apply_status(self, status: WorkerStatus) -> None:
        """Apply a new `whatsapp/status`."""
        if status.connection == "logged-out":
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(ISSUE_LOGGED_OUT),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_LOGGED_OUT,
                translation_placeholders=self._account(),
                learn_more_url=LINKED_DEVICES_HELP_URL,
            )
        elif status.connection == "open":
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_LOGGED_OUT))
        async_update_pairing_issue(self.hass, self.config_entry.entry_id, status)
        self._update(status=status, pairing_qr_received_at=self._pairing_qr_received_at(status))
        self._follow_whatsapp_connection(status)

    # WhatsApp out of reach ------------------------------------------------------------------

    def _follow_whatsapp_connection(self, status: WorkerStatus) -> None:
        """Start the clock when the worker loses WhatsApp; keep a raised issue's reason current."""
        if status.connection not in WHATSAPP_DOWN_STATES:
            self._whatsapp_back()
        elif ir.async_get(self.hass).async_get_issue(DOMAIN, self._issue_id(ISSUE_WHATSAPP_DOWN)) is not None:
            # Raised before (by this entry, or before a reload): keep its reason current.
            self._report_whatsapp_down(status)
        else:
            self._whatsapp_down_clock.start()

    @callback
    def _whatsapp_down_too_long(self) -> None:
        if (status := self.data.status) is None:
            return
        LOGGER.warning(
            "The WhatsApp worker has not reached WhatsApp for %s: %s",
            WHATSAPP_DOWN_ISSUE_DELAY,
            status.connection_detail or "no reason given",
        )
        self._report_whatsapp_down(status)

    def _report_whatsapp_down(self, status: WorkerStatus) -> None:
        # Unchanged arguments leave the issue as it is; a new reason updates it.
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_WHATSAPP_DOWN),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_WHATSAPP_DOWN_APP if status.runs_in_app else ISSUE_WHATSAPP_DOWN,
            translation_placeholders={
                "minutes": self._whatsapp_down_clock.minutes,
                "reason": status.connection_detail or "-",
                **self._account(),
            },
        )

    def _whatsapp_back(self) -> None:
        self._whatsapp_down_clock.stop()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_WHATSAPP_DOWN))

    def _pairing_qr_received_at(self, status: WorkerStatus) -> datetime | None:
        """Return a new time only for new QR bytes.

        A status repeated for another reason (queue, counts) must not make dashboards reload the
        picture.
        """
        if status.pairing_qr_image is None:
            return None
        previous = self.data.status
        if previous is not None and previous.pairing_qr_image == status.pairing_qr_image:
            return self.data.pairing_qr_received_at
        return dt_util.utcnow()

    @callback
    def async_apply_directory(self, entries: Iterable[DirectoryEntry]) -> None:
        """Apply a new `whatsapp/directory`, which replaces the previous one."""
        directory = {entry.jid: entry for entry in entries}
        self.directory_store.async_schedule_save(directory)
        self._update(directory=frozen_mapping(directory))

    async def async_apply_avatar(self, update: Mapping[str, Any], content: bytes | None) -> None:
        """Apply a `whatsapp/avatar` (validated; `content` is the decoded image)."""
        jid: str = update["jid"]
        previous = self.data.pictures.get(jid)
        favourite = jid in self.data.favourites
        if update["state"] == "none":
            kept: bytes | None = None
        elif content is not None and favourite:
            kept = content
        else:
            # No bytes with this update (hidden keeps the last good picture, or the worker only
            # reports metadata): keep showing what we have.
            kept = previous.content if previous is not None else None
        # What a dashboard shows changed: new bytes, or none any more. `whatsapp_avatar_updated`
        # fires only then, and only for a favourite HA already knew: favourites because the event
        # lands in the recorder's database and the user chose to follow them, not the whole
        # address book; a first report (a new favourite, or one picked again) is the baseline; a
        # re-check after a restart or reconnect carries the bytes HA stored, and `hidden` keeps
        # showing the last picture, so neither is a change.
        content_changed = kept != (previous.content if previous is not None else None)
        picture = Picture(
            jid=jid,
            name=update["name"],
            state=update["state"],
            picture_id=update["picture_id"],
            sha256=update["sha256"],
            checked_at=update["checked_at"],
            changed_at=update["changed_at"],
            received_at=dt_util.utcnow()
            if content_changed or previous is None
            else previous.received_at,
            content=kept if favourite else None,
        )
        pictures = dict(self.data.pictures)
        pictures[jid] = picture
        directory = self.data.directory
        # Only a new name changes what the picker shows. A state change alone does not, and copying
        # a directory of 200,000 entries for each of the worker's picture reports would not do.
        if (entry := directory.get(jid)) is not None and picture.name and entry.name != picture.name:
            directory = frozen_mapping(
                {**directory, jid: replace(entry, name=picture.name, state=picture.state)}
            )
        # The snapshot changes before the first await, so a second update for the same JID that
        # arrives meanwhile compares against this one.
        self._update(pictures=frozen_mapping(pictures), directory=directory)
        if favourite and previous is not None and content_changed:
            self.hass.bus.async_fire(
                EVENT_AVATAR_UPDATED,
                {
                    # Which account: the same contact may be in two (device triggers match it).
                    "config_entry_id": self.config_entry.entry_id,
                    "jid": jid,
                    "name": picture.name,
                    "state": picture.state,
                    "sha256": picture.sha256,
                    # The favourite's image entity, so an automation can show the new picture
                    # (its `entity_picture`) without knowing how entity ids are made.
                    "entity_id": er.async_get(self.hass).async_get_entity_id(
                        "image", DOMAIN, subject_unique_id(jid, "picture", prefix=self.id_prefix)
                    ),
                },
            )
        if favourite and previous != picture:
            await self.pictures.async_save(picture)
        if jid in self.person_pictures.linked_jids():
            await self.person_pictures.async_picture(jid, update["state"], update["sha256"], content)

    # Favourites ------------------------------------------------------------------------------

    async def async_set_favourites(self, favourites: tuple[str, ...]) -> None:
        """Apply the favourites from the options and tell the worker."""
        # Non-favourites keep their metadata (the diagnostics count them) but no bytes.
        pictures = {
            jid: picture if jid in favourites else replace(picture, content=None)
            for jid, picture in self.data.pictures.items()
        }
        for jid in set(self.data.favourites) - set(favourites):
            await self.pictures.async_remove(jid)
        for jid in set(favourites) - set(self.data.favourites):
            # A new favourite starts from what is stored, or from nothing: its first picture is
            # the baseline, not a change (no `whatsapp_avatar_updated` for it).
            if (picture := await self.pictures.async_load(jid)) is not None:
                pictures[jid] = picture
            else:
                pictures.pop(jid, None)
        self._update(favourites=favourites, pictures=frozen_mapping(pictures))
        self.async_send_favourites()

    @callback
    def async_take_over_worker(self) -> None:
        """Hold a worker subscription left open by the previous entry (a reload), and catch up.

        HA keeps the worker's subscription across the reload, but the new entry starts with no
        status and no directory (the stored directory may be older), so it asks the worker to send
        everything again: status, directory and every favourite's picture.
        """
        if self.link.async_take_over_parked():
            self.async_send_favourites()
            self.link.async_send({"type": "resend"})

    @callback
    def async_send_favourites(self) -> None:
        """Send the favourites down the subscription (at subscribe and on every change).

        With them the contacts a person follows: the worker sends bytes only for these JIDs.
        """
        jids = sorted(set(self.data.favourites) | self.person_pictures.linked_jids())
        self.link.async_send({"type": "favourites", "jids": jids})


def sha256_hex(content: bytes) -> str:
    """Return the digest the worker sends with a picture."""
    return hashlib.sha256(content).hexdigest()
