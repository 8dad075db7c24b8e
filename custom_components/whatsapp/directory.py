"""The contact directory arrives in chunks; this puts one transfer together.

HA's websocket takes at most 4 MiB in one message and 200,000 contacts are ~20 MB, so the worker
sends chunks 0..chunks-1 in order under one transfer id (protocol/protocol.json,
`whatsapp/directory`). Only a whole transfer replaces the directory: a half-received one (the worker
dropped, a chunk was refused) never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .const import MAX_DIRECTORY_ENTRIES
from .models import DirectoryEntry


class ChunkError(Exception):
    """A chunk that does not continue the transfer under way; the partial transfer is dropped."""


class DirectoryTransfer:
    """The chunks received so far of one transfer."""

    def __init__(self, max_entries: int = MAX_DIRECTORY_ENTRIES) -> None:
        """Nothing received yet."""
        self._max_entries = max_entries
        self._transfer_id: str | None = None
        self._next = 0
        self._entries: list[DirectoryEntry] = []

    def reset(self) -> None:
        """Drop a partial transfer (the worker went away, or a chunk was refused)."""
        self._transfer_id = None
        self._next = 0
        self._entries = []

    def add(self, transfer_id: str, chunk: int, chunks: int, entries: Sequence[Sequence[Any]]) -> list[DirectoryEntry] | None:
        """Take one validated chunk; return the whole directory after the last one, else None.

        Raise ChunkError for a chunk out of order, of another transfer, or past the maximum.
        """
        if chunk == 0:
            self.reset()
            self._transfer_id = transfer_id
        if transfer_id != self._transfer_id or chunk != self._next or chunk >= chunks:
            expected = f"chunk {self._next} of {self._transfer_id}" if self._transfer_id else "chunk 0 of a new transfer"
            self.reset()
            raise ChunkError(f"chunk {chunk} of {chunks} of transfer {transfer_id} does not continue the directory; expected {expected}")
        if len(self._entries) + len(entries) > self._max_entries:
            self.reset()
            raise ChunkError(f"the directory is larger than {self._max_entries} entries")
        self._entries.extend(
            DirectoryEntry(jid=jid, kind=kind, name=name, state=state) for jid, kind, name, state in entries
        )
        self._next += 1
        if self._next < chunks:
            return None
        whole = self._entries
        self.reset()
        return whole
