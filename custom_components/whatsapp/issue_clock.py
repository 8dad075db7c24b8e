"""A repair that waits: raised only when a condition lasts (the worker away, WhatsApp out of reach)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later


class IssueClock:
    """Calls `on_due` once a condition has lasted `delay`; starting it again while it runs changes nothing."""

    def __init__(self, hass: HomeAssistant, delay: timedelta, on_due: Callable[[], None]) -> None:
        """Nothing runs until `start`."""
        self._hass = hass
        self.delay = delay
        self._on_due = on_due
        self._cancel: CALLBACK_TYPE | None = None

    @property
    def minutes(self) -> str:
        """The delay as the issues' `minutes` placeholder."""
        return str(int(self.delay.total_seconds() // 60))

    @callback
    def start(self) -> None:
        """Start counting, unless counting already (a repeat keeps the first start)."""
        if self._cancel is None:
            self._cancel = async_call_later(self._hass, self.delay, self._due)

    @callback
    def stop(self) -> None:
        """Stop counting: the condition ended, or the entry unloads."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    @callback
    def _due(self, _now: datetime) -> None:
        self._cancel = None
        self._on_due()
