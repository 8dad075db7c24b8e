"""Finding contacts and groups in a directory of any size, for the favourites picker and the services.

A select with 200,000 options is not workable in the frontend, so above a size the picker asks for
a name or a number and offers the best matches, and the services' contact fields list favourites only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from .models import DirectoryEntry
from .name_search import best_matches, fold, phone_digits

# Up to this many contacts and groups the picker lists them all in one searchable select.
PICKER_ALL_OPTIONS_MAX = 1_000
# The services' contact fields list at most this many. Their description reaches every browser at
# every load (`get_services`), for every action of every integration, so it stays a few tens of KB.
SERVICE_FIELD_OPTIONS_MAX = 500
# A search in the options flow offers at most this many matches (the Media panel's own cap is
# media_source.SEARCH_RESULTS_MAX).
PICKER_MATCHES_MAX = 50


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A directory entry as name_search compares it (name folded, phone number's digits)."""

    entry: DirectoryEntry
    folded: str
    number: str | None

    @property
    def jid(self) -> str:
        """The entry's JID (the last tie-breaker)."""
        return self.entry.jid


def search_directory(entries: Iterable[DirectoryEntry], query: str, limit: int = PICKER_MATCHES_MAX) -> list[DirectoryEntry]:
    """Return the best matches for a name or a phone number, as the Media panel's search finds them.

    Accents and case do not matter; a number may be typed with +, spaces or dashes. Raise
    ValueError when the query has nothing to look for. Folds every name: with a large directory,
    call it in the executor.
    """
    candidates = (_Candidate(entry, fold(entry.name or ""), phone_digits(entry.jid)) for entry in entries)
    return [candidate.entry for candidate in best_matches(candidates, query, limit)]


def picker_order(entries: Iterable[DirectoryEntry]) -> list[DirectoryEntry]:
    """Return people (and groups) by name first, sorted by name; those without a name after, by number.

    The select shows them in this order (its own sort would put "+49…" labels before every name).
    """
    return sorted(entries, key=lambda entry: (entry.name is None, (entry.name or "").casefold(), entry.jid))


def label_of(jid: str, directory: Mapping[str, DirectoryEntry]) -> str:
    """Return what the picker shows for a JID: its directory label, or the JID itself."""
    entry = directory.get(jid)
    return entry.label if entry is not None else jid


def service_field_subjects(
    accounts: Iterable[tuple[Mapping[str, DirectoryEntry], Collection[str]]],
    kinds: Collection[str],
    limit: int = SERVICE_FIELD_OPTIONS_MAX,
) -> list[DirectoryEntry]:
    """Return what a service's contact field lists, from every account's (directory, favourites).

    The subjects of the `kinds` given, in the picker's order (by name first, then by number). Up
    to `limit` they are all listed; more (a large address book) and only the favourites are, so
    the list is never an arbitrary slice of the alphabet. A JID in several accounts is listed
    once, as the first account that has a name for it names it.
    """
    subjects: dict[str, DirectoryEntry] = {}
    favourite_jids: set[str] = set()
    for directory, favourites in accounts:
        favourite_jids.update(favourites)
        for entry in directory.values():
            if entry.kind in kinds and ((known := subjects.get(entry.jid)) is None or not known.name):
                subjects[entry.jid] = entry
    if len(subjects) > limit:
        subjects = {jid: entry for jid, entry in subjects.items() if jid in favourite_jids}
    return picker_order(subjects.values())[:limit]
