"""WhatsApp Avatars: contact pictures kept by the WhatsApp worker app, shown in Home Assistant."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from . import websocket_api
from .account_issues import async_delete_account_issues, async_rename_account_issues
from .accounts import id_prefix
from .const import DOMAIN
from .coordinator import (
    WhatsAppConfigEntry,
    WhatsAppCoordinator,
    WhatsAppRuntimeData,
    favourites_of,
)
from .entity import worker_device_info
from .media_pictures import async_register_picture_view
from .person_link import async_remove_links
from .person_services import async_setup_person_services
from .purge_service import async_setup_purge_service
from .service_contacts import async_follow_contacts, async_setup_contact_fields
from .services import async_setup_services
from .store import DirectoryStore, PictureStore

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.IMAGE, Platform.SENSOR]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and the worker's websocket commands once per HA start."""
    async_setup_services(hass)
    async_setup_person_services(hass)
    async_setup_purge_service(hass)
    await async_setup_contact_fields(hass)
    # Here, not when Media first loads the platform: HA's router takes no new view once it runs.
    async_register_picture_view(hass)
    websocket_api.async_setup(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> bool:
    """Load the stored pictures and wait for the worker to connect (it connects to HA)."""
    coordinator = WhatsAppCoordinator(hass, entry)
    await coordinator.async_start()
    # A second account now: the first's repairs from before get its name.
    async_rename_account_issues(hass)
    entry.async_on_unload(coordinator.async_stop)
    worker_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **worker_device_info(coordinator)
    )
    entry.runtime_data = WhatsAppRuntimeData(coordinator=coordinator, worker_device_id=worker_device.id)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    # The services' contact fields list this account's people while it is loaded.
    entry.async_on_unload(async_follow_contacts(hass, coordinator))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Last, with no await after it: HA sets the entry LOADED before it runs anything else
    # (homeassistant/config_entries.py, 2026.10.4, ConfigEntry.async_setup), so what the worker
    # sends in answer finds a loaded entry.
    coordinator.async_take_over_worker()
    return True


async def _async_options_updated(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
    # HA calls this after any change of the entry, also when the first worker claims it (its
    # unique id, accounts.async_entry_for_worker): only new favourites are news to the worker.
    # A new title is a new name in this account's repairs.
    async_rename_account_issues(hass)
    coordinator = entry.runtime_data.coordinator
    if (favourites := favourites_of(entry)) != coordinator.data.favourites:
        await coordinator.async_set_favourites(favourites)


async def async_unload_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> bool:
    """Unloads the platforms; the worker's subscription then answers `not_loaded` until reload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
    """Delete what the entry kept in .storage: the favourites' pictures and the directory."""
    pictures = PictureStore(hass, id_prefix(entry))
    for jid in favourites_of(entry):
        await pictures.async_remove(jid)
    await DirectoryStore(hass, id_prefix(entry)).async_remove()
    # Linked people get their previous pictures back; the uploads made for them go.
    await async_remove_links(hass, entry.entry_id)
    # Its repairs (the persistent one too) speak of an account that is gone; the one account
    # left needs no name in its own (HA removed the entry from its list before calling this).
    async_delete_account_issues(hass, entry.entry_id)
    async_rename_account_issues(hass)
