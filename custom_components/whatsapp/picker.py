"""Finding contacts and groups in a directory of any size, for the favourites picker and the services.

A select with 200,000 options is not workable in the frontend, so above a size the picker asks for
a name or a number and offers the best matches, and the services' contact fields list favourites only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
import re

from .models import DirectoryEntry

# Up to this many contacts and groups the picker lists them all in one searchable select.
PICKER_ALL_OPTIONS_MAX = 1_000
# The services' contact fields list at most this many. Their description reaches every browser at
# every load (`get_services`), for every action of every integration, so it stays a few tens of KB.
SERVICE_FIELD_OPTIONS_MAX = 500
# A search offers at most this many matches.
SEARCH_RESULTS_MAX = 50
# Fewer digits than this are a name (e.g. "Room 2"), not a number.
MIN_NUMBER_DIGITS = 3

_NOT_DIGITS = re.compile(r"[^0-9]")


def _rank(entry: DirectoryEntry, words: list[str], digits: str) -> int | None:
    """Return how well an entry matches (lower is better), or None when it does not."""
    user = entry.jid.partition("@")[0]
    if digits and len(digits) >= MIN_NUMBER_DIGITS and digits in user:
        return 0 if user == digits else 1 if user.startswith(digits) else 2
    if not words or entry.name is None:
        return None
    name = entry.name.casefold()
    if not all(word in name for word in words):
        return None
    phrase = " ".join(words)
    if name == phrase:
        return 3
    if name.startswith(phrase):
        return 4
    name_words = name.split()
    if all(any(part.startswith(word) for part in name_words) for word in words):
        return 5
    return 6


def search_directory(entries: Iterable[DirectoryEntry], query: str, limit: int = SEARCH_RESULTS_MAX) -> list[DirectoryEntry]:
    """Return the best matches for a name (every word a part of it) or a number (digits in it).

    Case does not matter; a number may be typed with +, spaces or dashes.
    """
    words = query.casefold().split()
    digits = _NOT_DIGITS.sub("", query) if not re.search(r"[^\d\s+()\-]", query) else ""
    ranked = [
        (rank, (entry.name or "").casefold(), entry.jid, entry)
        for entry in entries
        if (rank := _rank(entry, words, digits)) is not None
    ]
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked[:limit]]


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
