"""Several WhatsApp accounts side by side: one config entry per worker, found by the worker's id.

Each worker says hello with a `worker_id` that is stable per data folder (protocol.json,
`whatsapp/hello`); the entry of that worker has it as its unique id. The rules, one place:

- An entry whose unique id is the worker's id is that worker's.
- An entry without a unique id (set up before several accounts existed, or from the user step
  before any worker connected) is claimed by the first worker with an id that says hello, so an
  existing installation keeps its entities.
- A worker without an id (older than worker ids) can only be told apart from nobody: it gets the
  entry only while there is exactly one.
- Any other worker is new: HA starts an `integration_discovery` flow for it, which the user
  confirms (homeassistant/config_entries.py, 2026.10.4: `SOURCE_INTEGRATION_DISCOVERY`, and a
  flow with the same unique id already in progress is not started twice, `async_set_unique_id`
  aborts it with `already_in_progress`). Meanwhile the worker is answered `not_set_up` and says
  hello again every 2 s, so the entry the user adds finds it at once; it waits in the lobby, which
  the user step lists (and gives the entry to, when it is the only one and there is no account).

Every command of a connection goes to the entry of the worker that said hello on it, so one
worker cannot speak for another.
"""

from __future__ import annotations

from dataclasses import dataclass
import secrets

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.device_registry import BaseDeviceEntry
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .jids import is_subject_jid

# entry.data: a short random text that keeps the unique ids, devices and stored files of an entry
# added beside another apart from those of the others. An entry set up alone has none, so the one
# account of an existing installation keeps the ids it always had.
CONF_SCOPE = "scope"
# entry.data and the discovery flow's data: which worker the entry is for (also its unique id).
CONF_WORKER_ID = "worker_id"
CONF_WORKER_VERSION = "worker_version"


@dataclass(slots=True)
class WaitingWorker:
    """A worker connected with an id no entry has yet: what the user step offers to set up."""

    worker_id: str
    worker_version: str


class Lobby:
    """Workers waiting for their entry, by worker id, while their connection is open."""

    def __init__(self) -> None:
        """Empty: a worker enters when it says hello and no entry is its."""
        self.workers: dict[str, WaitingWorker] = {}

    def enter(self, worker_id: str, worker_version: str) -> WaitingWorker:
        """Note a waiting worker (again, after a reconnect: what it said before is kept)."""
        waiting = self.workers.get(worker_id)
        if waiting is None:
            waiting = self.workers[worker_id] = WaitingWorker(worker_id, worker_version)
        waiting.worker_version = worker_version
        return waiting

    def leave(self, worker_id: str) -> None:
        """Forget a worker: its connection closed, or it has an entry now."""
        self.workers.pop(worker_id, None)


LOBBY_KEY: HassKey[Lobby] = HassKey(f"{DOMAIN}_lobby")


def lobby(hass: HomeAssistant) -> Lobby:
    """Return the lobby of this HA run."""
    if (found := hass.data.get(LOBBY_KEY)) is None:
        found = hass.data[LOBBY_KEY] = Lobby()
    return found


def new_scope() -> str:
    """Return the scope of an entry added beside others: 12 hex digits, safe in a file name."""
    return secrets.token_hex(6)


def short_id(worker_id: str) -> str:
    """Name a worker for the user: the start of its id (a UUID), enough to tell two apart."""
    return worker_id[:8]


def id_prefix(entry: ConfigEntry) -> str:
    """Return what goes before a JID in the entry's unique ids, device identifiers and file names."""
    scope = entry.data.get(CONF_SCOPE)
    return f"{scope}_" if isinstance(scope, str) and scope else ""


def _entries(hass: HomeAssistant) -> list[ConfigEntry]:
    return [entry for entry in hass.config_entries.async_entries(DOMAIN) if entry.source != SOURCE_IGNORE]


@callback
def async_entry_for_worker(hass: HomeAssistant, worker_id: str | None) -> ConfigEntry | None:
    """Return the entry of the worker with this id (claiming an unclaimed one), or None if it has none."""
    entries = _entries(hass)
    if worker_id is None:
        return entries[0] if len(entries) == 1 else None
    for entry in entries:
        if entry.unique_id == worker_id:
            return entry
    if any(entry.unique_id == worker_id for entry in hass.config_entries.async_entries(DOMAIN)):
        return None  # the user chose to ignore this worker
    for entry in entries:
        if entry.unique_id is None:
            hass.config_entries.async_update_entry(entry, unique_id=worker_id)
            return entry
    return None


def is_ignored_worker(hass: HomeAssistant, worker_id: str) -> bool:
    """Whether the user chose to ignore the worker with this id (its discovery)."""
    return any(
        entry.unique_id == worker_id and entry.source == SOURCE_IGNORE for entry in hass.config_entries.async_entries(DOMAIN)
    )


@callback
def async_discover_worker(hass: HomeAssistant, worker_id: str, worker_version: str) -> None:
    """Offer a new worker to the user (a discovered integration on Settings → Devices & services)."""
    if is_ignored_worker(hass, worker_id):
        return
    # A worker waiting to be added says hello every few seconds: its offer is made once, not a new
    # flow each time that aborts as already_in_progress (the flow's unique id is the worker's id).
    if hass.config_entries.flow.async_progress_by_handler(DOMAIN, match_context={"unique_id": worker_id}):
        return
    discovery_flow.async_create_flow(
        hass,
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_WORKER_ID: worker_id, CONF_WORKER_VERSION: worker_version},
    )


@dataclass(frozen=True, kw_only=True)
class AccountSubject:
    """A contact or group of one account, as a device or entity of that account names it."""

    entry_id: str
    jid: str


def subject_of_device(hass: HomeAssistant, device: BaseDeviceEntry) -> AccountSubject | None:
    """Return the account and JID a contact's or group's device stands for (None: the worker's, or another's).

    The device's identifier is the entry's id prefix and the JID (entity.WhatsAppContactEntity).
    """
    # One entry per device since 2026.10 (helpers/device_registry.py, 2026.10.4: `config_entries`
    # is a deprecated shim that warns and stops working in 2027.10; `config_entry_id` replaces it).
    entry = hass.config_entries.async_get_entry(device.config_entry_id)
    if entry is None or entry.domain != DOMAIN:
        return None
    prefix = id_prefix(entry)
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix) and is_subject_jid(jid := identifier.removeprefix(prefix)):
            return AccountSubject(entry_id=entry.entry_id, jid=jid)
    return None
