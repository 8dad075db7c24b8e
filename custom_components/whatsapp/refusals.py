"""The log of what HA refuses from the worker: one ERROR per kind of refusal per interval.

A worker that is out of step (an older release, a bug) refuses the same way on every message, and
some messages come every few seconds; an ERROR for each would bury everything else in the log. The
first refusal of each kind is an ERROR; repeats within the interval go to the debug log and are
counted, and the next ERROR of that kind says how many there were. A refusal that is a normal step
(a worker waiting to be added says hello every few seconds until the user adds it) is logged at
the level its caller gives, INFO there, under the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging

from homeassistant.util import dt as dt_util


class RefusalLog:
    """Rate-limits the refusal log per kind (the error code and the command it answered)."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: timedelta,
        now: Callable[[], datetime] = dt_util.utcnow,
    ) -> None:
        """`now` is injected so tests move time without waiting."""
        self._logger = logger
        self._interval = interval
        self._now = now
        # Per kind: when its last ERROR was logged, and how many were held back since.
        self._last_error_at: dict[tuple[str, str], datetime] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def refused(self, command: str, code: str, message: str, level: int = logging.ERROR) -> None:
        """Log one refusal of `command` with `code`; `level` for the first of each interval."""
        kind = (command, code)
        now = self._now()
        last = self._last_error_at.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            self._logger.debug("Refused %s from the worker: %s (%s)", command, message, code)
            return
        self._last_error_at[kind] = now
        held_back = self._suppressed.pop(kind, 0)
        self._logger.log(
            level,
            "Refused %s from the worker: %s (%s)%s",
            command,
            message,
            code,
            f"; {held_back} more like it since the last report" if held_back else "",
        )
