"""Config flow: one entry, confirmed by the user or by one click after Supervisor discovery.

Options: the favourites, picked from the contacts and groups the worker reported.
"""

from __future__ import annotations

from typing import Any, override

import probatio as vol

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

from .const import CONF_FAVOURITES, DOMAIN, LOGGER
from .coordinator import WhatsAppConfigEntry, favourites_of

TITLE = "WhatsApp"
# The app's `slug` in addon/config.yaml. The Supervisor puts the repository's id in front of the
# slug of an app from a third-party repository (`<id>_whatsapp_avatars`, `local_whatsapp_avatars`
# for a local one), so the check is on the last part.
APP_SLUG = "whatsapp_avatars"


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

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Set up from the integrations page."""
        if user_input is not None:
            return self.async_create_entry(title=TITLE, data={})
        return self.async_show_form(step_id="user")

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


class WhatsAppOptionsFlow(OptionsFlow):
    """Favourites get an image entity and are kept fresh first."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick favourites from the directory (thousands of entries: searchable, sorted)."""
        if user_input is not None:
            return self.async_create_entry(data={CONF_FAVOURITES: sorted(set(user_input[CONF_FAVOURITES]))})
        entry: WhatsAppConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        directory = entry.runtime_data.coordinator.data.directory
        current = favourites_of(entry)
        if not directory and not current:
            return self.async_abort(reason="no_directory")
        options = [SelectOptionDict(value=jid, label=item.label) for jid, item in directory.items()]
        # A favourite the worker no longer reports stays pickable, so saving does not drop it.
        options += [SelectOptionDict(value=jid, label=jid) for jid in current if jid not in directory]
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Optional(CONF_FAVOURITES, default=list(current)): SelectSelector(
                        SelectSelectorConfig(
                            options=options,
                            multiple=True,
                            custom_value=False,
                            sort=True,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    )
                }
            ),
            description_placeholders={"count": str(len(directory))},
        )
