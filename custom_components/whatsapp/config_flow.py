"""Config flow: one entry per worker (per WhatsApp account).

The first is confirmed by the user or by one click after Supervisor discovery, and the first worker
that connects claims it; each further worker is offered by itself when it connects (integration
discovery, see accounts.py), or picked in the user step from the workers waiting to be set up.

A new entry whose phone is not linked yet goes on to the options flow's linking dialog (the
result's `next_flow`): the QR in the "Add integration" dialog itself, followed until the phone is
linked (linking.py).

Options: the favourites, picked from the contacts and groups the worker reported (searched by
name or number in a large directory); while the account waits to be linked, the linking dialog.
"""

from __future__ import annotations

from typing import Any, cast, override

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowContext,
    ConfigFlowResult,
    FlowType,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

from .accounts import CONF_SCOPE, CONF_WORKER_ID, lobby, new_scope, short_id
from .const import CONF_FAVOURITES, DOMAIN, LOGGER
from .coordinator import WhatsAppConfigEntry, WhatsAppCoordinator, favourites_of
from .linking import CONNECTION_OPEN, PhoneLinkingSteps, pairing_view
from .models import DirectoryEntry
from .name_search import SearchText
from .person_link import PERSON_DOMAIN
from .person_services import async_link_person, person_id_of
from .picker import PICKER_ALL_OPTIONS_MAX, label_of, picker_order, search_directory
from .services import normalise_jid

TITLE = "WhatsApp"
CONF_SEARCH = "search"
CONF_ADD = "add"
CONF_PEOPLE = "people"
CONF_PERSON = "person"
CONF_CONTACT = "contact"
CONF_UNLINK = "unlink"
# The discovery step's choice: a new account, or the entry id of an account whose worker is away.
CONF_ACCOUNT = "account"
NEW_ACCOUNT = "new"
# The app's `slug` in addon/config.yaml. The Supervisor puts the repository's id in front of the
# slug of an app from a third-party repository (`<id>_whatsapp_avatars`, `local_whatsapp_avatars`
# for a local one), so the check is on the last part.
APP_SLUG = "whatsapp_avatars"
# The context source of the options flow a new entry goes on to, to link the phone.
SOURCE_LINK = "link"


def is_our_app(slug: str) -> bool:
    """Whether a Supervisor discovery came from this repository's app."""
    return slug == APP_SLUG or slug.endswith(f"_{APP_SLUG}")


class WhatsAppConfigFlow(ConfigFlow, domain=DOMAIN):
    """The worker connects to HA by itself, so there is nothing to ask: only a confirmation."""

    VERSION = 1

    _addon_name: str | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: WhatsAppConfigEntry) -> WhatsAppOptionsFlow:
        """Return the favourites picker."""
        return WhatsAppOptionsFlow()

    _worker_id: str | None = None

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Set up from the integrations page: the first account, or one of the workers waiting."""
        if self._async_current_entries(include_ignore=False):
            return await self.async_step_pick_worker()
        if user_input is not None:
            waiting = list(lobby(self.hass).workers)
            if len(waiting) == 1:
                # The one worker waiting to be set up gets the entry (and its discovery, with the
                # same unique id, goes: homeassistant/config_entries.py, async_finish_flow).
                await self.async_set_unique_id(waiting[0], raise_on_progress=False)
                return self._async_create_account_entry(waiting[0])
            # No unique id yet: the first worker that says hello claims the entry.
            return self.async_create_entry(title=TITLE, data={})
        return self.async_show_form(step_id="user")

    async def async_step_pick_worker(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Another account: pick one of the connected workers that have no entry yet."""
        configured = {entry.unique_id for entry in self._async_current_entries(include_ignore=True)}
        waiting = sorted(worker_id for worker_id in lobby(self.hass).workers if worker_id not in configured)
        if not waiting:
            return self.async_abort(reason="no_waiting_worker")
        if user_input is not None:
            await self.async_set_unique_id(user_input[CONF_WORKER_ID], raise_on_progress=False)
            self._abort_if_unique_id_configured()
            return self._async_create_account_entry(user_input[CONF_WORKER_ID])
        options = [
            SelectOptionDict(value=worker_id, label=f"{short_id(worker_id)} ({lobby(self.hass).workers[worker_id].worker_version})")
            for worker_id in waiting
        ]
        return self.async_show_form(
            step_id="pick_worker",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_WORKER_ID): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    @override
    async def async_step_integration_discovery(self, discovery_info: dict[str, Any]) -> ConfigFlowResult:
        """Offer a worker with an id no entry has, which said hello (accounts.async_discover_worker)."""
        worker_id = str(discovery_info[CONF_WORKER_ID])
        await self.async_set_unique_id(worker_id)
        self._abort_if_unique_id_configured()
        self._worker_id = worker_id
        self.context["title_placeholders"] = {"worker": short_id(worker_id)}
        return await self.async_step_worker_confirm()

    async def async_step_worker_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add the discovered worker as a new account, or as the new worker of an account whose worker is away.

        A worker with a new data folder (the app reinstalled, the folder lost) has a new id: it is
        the same account's worker again, which only the user can tell from a second account.
        """
        assert self._worker_id is not None  # set by the discovery step, the only way here
        orphans = {
            entry.entry_id: entry.title
            for entry in self._async_current_entries(include_ignore=False)
            if entry.state is not ConfigEntryState.LOADED or not entry.runtime_data.coordinator.link.connected
        }
        if user_input is not None:
            chosen = user_input.get(CONF_ACCOUNT, NEW_ACCOUNT)
            if chosen == NEW_ACCOUNT or chosen not in orphans:
                return self._async_create_account_entry(self._worker_id)
            entry = self.hass.config_entries.async_get_entry(chosen)
            assert entry is not None  # in orphans a moment ago, with no await since
            # Its next hello (the worker retries) finds the entry by this id.
            self.hass.config_entries.async_update_entry(entry, unique_id=self._worker_id)
            return self.async_abort(reason="worker_replaced", description_placeholders={"account": entry.title})
        schema = vol.Schema({})
        if orphans:
            options = [SelectOptionDict(value=NEW_ACCOUNT, label=NEW_ACCOUNT)] + [
                SelectOptionDict(value=entry_id, label=title) for entry_id, title in orphans.items()
            ]
            schema = vol.Schema(
                {
                    vol.Required(CONF_ACCOUNT, default=NEW_ACCOUNT): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST, translation_key=CONF_ACCOUNT)
                    )
                }
            )
        return self.async_show_form(
            step_id="worker_confirm",
            data_schema=schema,
            description_placeholders={"worker": short_id(self._worker_id)},
        )

    def _async_create_account_entry(self, worker_id: str) -> ConfigFlowResult:
        # Beside another account the entry's ids are scoped (accounts.id_prefix); alone it has the
        # ids a single account always had.
        data: dict[str, Any] = {CONF_WORKER_ID: worker_id}
        if self._async_current_entries(include_ignore=False):
            data[CONF_SCOPE] = new_scope()
            return self.async_create_entry(title=f"{TITLE} {short_id(worker_id)}", data=data)
        return self.async_create_entry(title=TITLE, data=data)

    @override
    async def async_on_create_entry(self, result: ConfigFlowResult) -> ConfigFlowResult:
        """Go on to link the phone in the same dialog, unless the new account's worker is linked already.

        HA runs this once the entry is set up (homeassistant/config_entries.py, 2026.10.4:
        ConfigEntriesFlowManager.async_finish_flow); an options flow is the only flow of an
        entry that a `next_flow` can name after it is created.
        """
        entry = cast("WhatsAppConfigEntry", result["result"])
        if entry.state is not ConfigEntryState.LOADED or pairing_view(entry.runtime_data.coordinator)[0] == CONNECTION_OPEN:
            return result
        linking = await self.hass.config_entries.options.async_init(entry.entry_id, context={"source": SOURCE_LINK})
        result["next_flow"] = (FlowType.OPTIONS_FLOW, linking["flow_id"])
        return result

    @override
    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """Handle the app announcing itself through the Supervisor; turn any other sender away."""
        if not is_our_app(discovery_info.slug):
            LOGGER.warning("Ignoring a whatsapp discovery from the app %r, which is not ours", discovery_info.slug)
            return self.async_abort(reason="not_our_app")
        await self._async_handle_discovery_without_unique_id()
        self._addon_name = discovery_info.name
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One click to confirm the discovered app."""
        if user_input is not None:
            return self.async_create_entry(title=TITLE, data={})
        return self.async_show_form(
            step_id="hassio_confirm",
            description_placeholders={"addon": self._addon_name or "WhatsApp"},
        )


class WhatsAppOptionsFlow(OptionsFlow, PhoneLinkingSteps[ConfigFlowContext, ConfigFlowResult]):
    """Favourites get an image entity and are kept fresh first; an account waiting to be linked is linked first.

    A directory of up to PICKER_ALL_OPTIONS_MAX entries is one searchable select; a larger one (up
    to 200,000 and more) is searched by name or number, and the matches are offered to add.
    """

    # Right after "Add integration" the worker is on its way: the dialog waits for it.
    _waits_for_worker = True
    _menu_step_id = "link_menu"

    def __init__(self) -> None:
        """Nothing chosen yet: the first step starts from the entry's favourites."""
        self._chosen: list[str] | None = None
        self._query = ""
        # What the search step offers: found once, when the query is typed.
        self._matches: list[DirectoryEntry] = []

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the favourites (all contacts to pick from in a small directory) and a search."""
        entry: WhatsAppConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        if self._chosen is None and self._async_wants_linking(entry.runtime_data.coordinator):
            return await self._async_start_linking()
        directory = entry.runtime_data.coordinator.data.directory
        if self._chosen is None:
            self._chosen = list(favourites_of(entry))
        if not directory and not self._chosen:
            return self.async_abort(reason="no_directory")
        errors: dict[str, str] = {}
        if user_input is not None:
            self._chosen = sorted(set(user_input.get(CONF_FAVOURITES, [])))
            if query := user_input.get(CONF_SEARCH, "").strip():
                self._query = query
                try:
                    # Checked here, by the search's own rule, so a ValueError from the search itself
                    # is never taken for "no match".
                    SearchText.parse(query)
                except ValueError:
                    # Text that folds to nothing (an accent typed alone) matches no one.
                    self._matches = []
                else:
                    # Every name is folded: off the event loop (a directory may hold 200,000).
                    self._matches = await self.hass.async_add_executor_job(search_directory, directory.values(), query)
                if self._matches:
                    return await self.async_step_search()
                errors[CONF_SEARCH] = "no_match"
            elif user_input.get(CONF_PEOPLE):
                return await self.async_step_people()
            else:
                return self.async_create_entry(data={CONF_FAVOURITES: self._chosen})
        small = len(directory) <= PICKER_ALL_OPTIONS_MAX
        listed = [entry.jid for entry in picker_order(directory.values())] if small else []
        # A chosen favourite the worker no longer reports (or not in the list) stays pickable, so
        # saving does not drop it.
        listed += [jid for jid in self._chosen if jid not in directory or not small]
        options = [SelectOptionDict(value=jid, label=label_of(jid, directory)) for jid in listed]
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Optional(CONF_FAVOURITES, default=list(self._chosen)): _select(options, sort=False),
                    vol.Optional(CONF_SEARCH, default=""): TextSelector(),
                    vol.Optional(CONF_PEOPLE, default=False): BooleanSelector(),
                }
            ),
            errors=errors,
            description_placeholders={"count": str(len(directory))},
        )

    async def async_step_link_menu(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the QR or a phone number, once the dialog that waited for the worker has a QR."""
        return await self._async_start_linking()

    def _async_wants_linking(self, coordinator: WhatsAppCoordinator) -> bool:
        """Whether this dialog links the phone: the account is not linked, and it waits to be, or is new.

        The frontend opens the `next_flow` of "Add integration" as a new options flow of the
        entry, not the one named (home-assistant-frontend 20260930.5, as in its source at
        85b2ca37: showOptionsFlowDialog passes the entry as `startFlowHandler` beside
        `continueFlowId`, and dialog-data-entry-flow's showDialog tries `startFlowHandler`
        first). So a new flow that finds the linking flow of "Add integration" still open takes
        over from it (which ends), and the dialog links the phone whichever flow it shows.
        """
        superseded = [
            flow["flow_id"]
            for flow in self.hass.config_entries.options.async_progress_by_handler(
                self.handler, match_context={"source": SOURCE_LINK}
            )
            if flow["flow_id"] != self.flow_id
        ]
        for flow_id in superseded:
            self.hass.config_entries.options.async_abort(flow_id)
        connection = pairing_view(coordinator)[0]
        if connection == CONNECTION_OPEN:
            return False
        return self.source == SOURCE_LINK or bool(superseded) or connection == "pairing"

    @override
    def _linking_coordinator(self) -> WhatsAppCoordinator | None:
        # Not self.config_entry: the account may be removed while its dialog waits (core aborts
        # no options flow of a removed entry), and that property raises UnknownEntry then; the
        # dialog ends as when the worker stops pairing. An options flow's handler is its entry id.
        entry: WhatsAppConfigEntry | None = self.hass.config_entries.async_get_entry(self.handler)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry.runtime_data.coordinator

    @override
    def _async_linked_result(self) -> ConfigFlowResult:
        # The options stay as they are: linking changes none of them.
        return self.async_create_entry(data=dict(self.config_entry.options))

    async def async_step_search(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the best matches of the search; the ones picked join the favourites."""
        chosen = self._chosen or []
        matches = self._matches
        if user_input is not None:
            shown = {item.jid for item in matches}
            self._chosen = sorted((set(chosen) - shown) | set(user_input.get(CONF_ADD, [])))
            return await self.async_step_init()
        options = [SelectOptionDict(value=item.jid, label=item.label) for item in matches]
        return self.async_show_form(
            step_id="search",
            data_schema=vol.Schema(
                {
                    vol.Optional(CONF_ADD, default=[item.jid for item in matches if item.jid in chosen]): _select(
                        options, sort=False
                    )
                }
            ),
            description_placeholders={"query": self._query, "shown": str(len(matches))},
        )


    async def async_step_people(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Link a person to a contact (its picture then follows theirs), or end links; then save."""
        coordinator = self.config_entry.runtime_data.coordinator
        links = coordinator.person_pictures.links
        directory = coordinator.data.directory
        errors: dict[str, str] = {}
        if user_input is not None:
            person: str | None = user_input.get(CONF_PERSON)
            contact: str = user_input.get(CONF_CONTACT, "").strip()
            try:
                jid = normalise_jid(contact) if contact else None
                person_id = person_id_of(self.hass, person) if person else None
            except ServiceValidationError as err:
                errors[CONF_CONTACT if err.translation_key == "invalid_jid" else CONF_PERSON] = str(err.translation_key)
            else:
                if (person_id is None) != (jid is None):
                    errors[CONF_CONTACT if jid is None else CONF_PERSON] = "person_and_contact"
                else:
                    for unlinked in user_input.get(CONF_UNLINK, []):
                        await coordinator.person_pictures.async_unlink(unlinked)
                    if person_id is not None and jid is not None:
                        await async_link_person(coordinator, person_id, jid)
                    coordinator.async_send_favourites()
                    return self.async_create_entry(data={CONF_FAVOURITES: self._chosen or []})
        # Contacts only (a person is not a group), by name first; a large directory is typed.
        small = len(directory) <= PICKER_ALL_OPTIONS_MAX
        contacts = [entry for entry in picker_order(directory.values()) if entry.kind == "contact"]
        contact_selector: SelectSelector | TextSelector = (
            SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(value=entry.jid, label=entry.label) for entry in contacts],
                    custom_value=True,
                    sort=False,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
            if small
            else TextSelector()
        )
        linked = [
            SelectOptionDict(
                value=person_id,
                label=f"{_person_name(self.hass, person_id)} → {label_of(link.jid, directory)}",
            )
            for person_id, link in links.items()
        ]
        return self.async_show_form(
            step_id="people",
            data_schema=vol.Schema(
                {
                    vol.Optional(CONF_PERSON): EntitySelector(EntitySelectorConfig(domain=PERSON_DOMAIN)),
                    vol.Optional(CONF_CONTACT): contact_selector,
                    vol.Optional(CONF_UNLINK, default=[]): _select(linked, sort=False),
                }
            ),
            errors=errors,
            description_placeholders={"linked": str(len(links))},
        )


def _person_name(hass: HomeAssistant, person_id: str) -> str:
    """Return a linked person's name as HA shows it (its entity's), else its id."""
    entity_id = er.async_get(hass).async_get_entity_id(PERSON_DOMAIN, PERSON_DOMAIN, person_id)
    state = hass.states.get(entity_id) if entity_id else None
    return state.name if state is not None else person_id


def _select(options: list[SelectOptionDict], *, sort: bool = True) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            multiple=True,
            custom_value=False,
            sort=sort,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )
