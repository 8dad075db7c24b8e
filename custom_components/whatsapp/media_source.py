"""Every contact's and group's picture in the Media panel ("WhatsApp").

The tree (identifiers after `media-source://whatsapp/`):

    <entry_id>                      the account (skipped when there is only one)
    <entry_id>/contact              contacts with a picture, by name
    <entry_id>/contact/<initial>    …of one initial, when there are more than PAGE_SIZE
    <entry_id>/contact/<initial>/<page>   …and pages of PAGE_SIZE within a crowded initial
    <entry_id>/picture/<jid>        one picture (an image the panel opens)

Every folder is searchable with the panel's own search field (`can_search`): a search answers with
the pictures under that folder whose name or phone number matches (name_search.py), at most
SEARCH_RESULTS_MAX, so even a search of 50,000 subjects sends the browser a bounded list.

Only subjects whose picture the worker holds (`fetched`) are listed: unknown ones have none yet,
hidden ones chose not to show it. The names come from the directory the worker already sends;
the bytes only when a thumbnail or picture is shown (media_pictures.py).

Why folders by initial, then pages: the panel renders every child of a folder as a card
(frontend ha-media-player-browse.ts), so a folder stays at most PAGE_SIZE cards; a person looks a
name up by its first letter, as in the phone's address book. An account of up to PAGE_SIZE
contacts shows all of them at once. Each level is built from one sorted index of the directory,
made once per directory the worker sends (in the executor: 180–300 ms at 50,000 contacts), so
50,000 subjects never go to the browser at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
import unicodedata

from homeassistant.components.media_player import (
    BrowseError,
    MediaClass,
    SearchMedia,
    SearchMediaQuery,
)
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN, PICTURE_CONTENT_TYPE, SUBJECT_KINDS
from .coordinator import WhatsAppConfigEntry
from .jids import is_subject_jid
from .media_pictures import current_state, listed, loaded_entry, picture_url
from .models import DirectoryEntry, Picture, shown_address
from .name_search import best_matches, fold, phone_digits

PAGE_SIZE = 1000
# As many results as core's own local media search answers (media_source/local_source.py,
# MAX_SEARCH_RESULTS): a screen or two of cards; a person types more to narrow it down.
SEARCH_RESULTS_MAX = 100
# Names that do not start with a letter (a number, an emoji, punctuation) share one folder.
OTHER_INITIAL = "#"
KIND_TITLES = {"contact": "Contacts", "group": "Groups"}
# media_player is imported for its media classes and search types without being a dependency: it
# is an entity platform, which hassfest lets any integration use (script/hassfest/dependencies.py,
# ALLOWED_USED_COMPONENTS), and media_source, which loads this platform, imports it anyway.
CLASS_DIRECTORY = MediaClass.DIRECTORY
CLASS_IMAGE = MediaClass.IMAGE


async def async_get_media_source(hass: HomeAssistant) -> MediaSource:
    """Set up the WhatsApp media source (core media_source/__init__.py loads this platform)."""
    return WhatsAppMediaSource(hass)


@dataclass(frozen=True, slots=True)
class _Listed:
    entry_id: str
    jid: str
    title: str
    initial: str
    # For sorting and searching (name_search.fold), made once per directory.
    folded: str
    number: str | None


def title_of(entry: DirectoryEntry) -> str:
    """Return the name, or the phone number where there is none."""
    return entry.name or shown_address(entry.jid)


def initial_of(title: str) -> str:
    """Return the folder letter of a title: its first letter without accents, upper case; OTHER_INITIAL otherwise."""
    first = unicodedata.normalize("NFKD", title.strip()[:1])[:1].upper()
    return first if first.isalpha() else OTHER_INITIAL


class MediaIndex:
    """The listed subjects of one directory, per kind, sorted by title."""

    def __init__(self, entry_id: str, directory: Mapping[str, DirectoryEntry], pictures: Mapping[str, Picture]) -> None:
        """Sort and fold every listed subject: in the executor, it reads only mappings never changed in place."""
        self.by_kind: dict[str, list[_Listed]] = {kind: [] for kind in SUBJECT_KINDS}
        for entry in directory.values():
            if current_state(entry.state, pictures.get(entry.jid)) != "fetched":
                continue
            title = title_of(entry)
            self.by_kind[entry.kind].append(_Listed(entry_id, entry.jid, title, initial_of(title), fold(title), phone_digits(entry.jid)))
        # As the address book sorts: accents folded, case ignored (Émile beside Emil).
        for listed_ in self.by_kind.values():
            listed_.sort(key=lambda item: (item.folded, item.jid))

    def initials(self, kind: str) -> dict[str, list[_Listed]]:
        """Return a kind's subjects by initial, letters first, OTHER_INITIAL last."""
        groups: dict[str, list[_Listed]] = {}
        for item in self.by_kind[kind]:
            groups.setdefault(item.initial, []).append(item)
        return dict(sorted(groups.items(), key=lambda pair: (pair[0] == OTHER_INITIAL, pair[0])))

    def of_initial(self, kind: str, initial: str) -> list[list[_Listed]]:
        """Return the pages of one initial; Unresolvable when no title starts with it."""
        of_initial = self.initials(kind).get(initial)
        if of_initial is None:
            raise Unresolvable(f"no {kind} starting with {initial}")
        return [of_initial[start : start + PAGE_SIZE] for start in range(0, len(of_initial), PAGE_SIZE)]

    def page(self, kind: str, initial: str, number: str) -> list[_Listed]:
        """Return one page of an initial (numbered from 1); Unresolvable when there is no such page."""
        pages = self.of_initial(kind, initial)
        if not number.isdecimal() or not 1 <= int(number) <= len(pages):
            raise Unresolvable(f"no page {number} of {kind} starting with {initial}")
        return pages[int(number) - 1]

    def under(self, kind: str, rest: list[str]) -> list[_Listed]:
        """Return every subject under a kind's folder, an initial's or a page's."""
        if not rest:
            return self.by_kind[kind]
        if len(rest) == 1:
            return [item for page in self.of_initial(kind, rest[0]) for item in page]
        return self.page(kind, rest[0], rest[1])


@dataclass(frozen=True, slots=True)
class _IndexBuild:
    """An index of one directory and pictures, done or still being built in the executor."""

    directory: Mapping[str, DirectoryEntry]
    pictures: Mapping[str, Picture]
    future: asyncio.Future[MediaIndex]


class WhatsAppMediaSource(MediaSource):
    """The pictures of the account's contacts and groups."""

    name = "WhatsApp"

    def __init__(self, hass: HomeAssistant) -> None:
        """One source for every whatsapp entry."""
        super().__init__(DOMAIN)
        self.hass = hass
        # Per entry, the index of its latest directory: built, or being built in the executor.
        self._indexes: dict[str, _IndexBuild] = {}
        # The entries whose unload drops their index: told once per load, however many builds fail.
        self._forgotten_on_unload: set[str] = set()

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Return a picture's URL on the authenticated view (the media_source websocket signs it)."""
        entry_id, _, rest = item.identifier.partition("/")
        kind, _, jid = rest.partition("/")
        entry = loaded_entry(self.hass, entry_id)
        if kind != "picture" or entry is None or not is_subject_jid(jid) or not listed(entry.runtime_data.coordinator, jid):
            raise Unresolvable(f"no WhatsApp picture {item.identifier}")
        return PlayMedia(picture_url(entry_id, jid), PICTURE_CONTENT_TYPE)

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """Return the account(s), a kind's initials or pages, or the pictures themselves."""
        entries = self.hass.config_entries.async_loaded_entries(DOMAIN)
        if not item.identifier:
            if len(entries) == 1:
                return self._account(entries[0], await self._async_index(entries[0]), self.name or DOMAIN, None)
            return self._folder(None, self.name or DOMAIN, [self._account(entry, None, entry.title, entry.entry_id) for entry in entries])
        parts = item.identifier.split("/")
        entry = loaded_entry(self.hass, parts[0])
        if entry is None:
            raise Unresolvable(f"no loaded WhatsApp account {parts[0]}")
        if len(parts) == 1:
            return self._account(entry, await self._async_index(entry), entry.title, entry.entry_id)
        kind = parts[1]
        if kind not in SUBJECT_KINDS or len(parts) > 4:
            raise Unresolvable(f"no WhatsApp folder {item.identifier}")
        return self._kind(entry, await self._async_index(entry), kind, parts[2:])

    async def async_search_media(self, item: MediaSourceItem, query: SearchMediaQuery) -> SearchMedia:
        """Return the pictures under a folder whose name or phone number matches, best first.

        The whole account(s) from the top, one kind, one initial or one page below it: what the
        folder holds, as the panel's "Search <folder>" says. Only listed subjects are searched, so
        unknown and hidden ones never appear.
        """
        if query.media_filter_classes and CLASS_IMAGE not in query.media_filter_classes:
            return SearchMedia(result=[])
        try:
            searched = await self._async_searched(item.identifier)
            # Matching 50,000 names takes tens of milliseconds: off the event loop, as core's
            # local media search does. The index's lists are never changed once built.
            found = await self.hass.async_add_executor_job(best_matches, searched, query.search_query, SEARCH_RESULTS_MAX)
        except (Unresolvable, ValueError) as err:
            # BrowseError is what media_source/search_media answers as search_media_failed.
            raise BrowseError(str(err)) from err
        return SearchMedia(result=[self._picture(listed_) for listed_ in found])

    async def _async_searched(self, identifier: str) -> list[_Listed]:
        """Return every listed subject under a folder; Unresolvable when there is no such folder."""
        if not identifier:
            loaded = self.hass.config_entries.async_loaded_entries(DOMAIN)
            indexes = [await self._async_index(entry) for entry in loaded]
            return [item for index in indexes for kind in SUBJECT_KINDS for item in index.by_kind[kind]]
        parts = identifier.split("/")
        entry = loaded_entry(self.hass, parts[0])
        if entry is None:
            raise Unresolvable(f"no loaded WhatsApp account {parts[0]}")
        index = await self._async_index(entry)
        if len(parts) == 1:
            return [item for kind in SUBJECT_KINDS for item in index.by_kind[kind]]
        if parts[1] not in SUBJECT_KINDS or len(parts) > 4:
            raise Unresolvable(f"no WhatsApp folder {identifier} to search")
        return index.under(parts[1], parts[2:])

    async def _async_index(self, entry: WhatsAppConfigEntry) -> MediaIndex:
        """Return the index of the entry's current directory, building it once however many ask."""
        data = entry.runtime_data.coordinator.data
        build = self._indexes.get(entry.entry_id)
        # Both are replaced, never changed in place, when the worker reports something new; so the
        # executor reads them safely while the loop goes on, and a later directory builds anew.
        if entry.entry_id not in self._forgotten_on_unload:
            # An account removed or reloaded takes its index with it (50,000 subjects are tens of MB).
            self._forgotten_on_unload.add(entry.entry_id)
            entry.async_on_unload(partial(self._async_forget_index, entry.entry_id))
        if build is None or build.directory is not data.directory or build.pictures is not data.pictures:
            # Sorting and folding 50,000 names takes 180–300 ms: off the event loop.
            future = self.hass.async_add_executor_job(MediaIndex, entry.entry_id, data.directory, data.pictures)
            build = self._indexes[entry.entry_id] = _IndexBuild(data.directory, data.pictures, future)
        try:
            # Shielded: a browse that is cancelled (its panel closed) does not cancel the build the
            # other browses of the same directory wait for.
            return await asyncio.shield(build.future)
        except Exception:
            if self._indexes.get(entry.entry_id) is build:
                del self._indexes[entry.entry_id]  # the next browse tries again
            raise

    @callback
    def _async_forget_index(self, entry_id: str) -> None:
        """Drop an unloaded account's index (an unload callback must return None, not what it popped)."""
        self._indexes.pop(entry_id, None)
        self._forgotten_on_unload.discard(entry_id)

    def _account(self, entry: WhatsAppConfigEntry, index: MediaIndex | None, title: str, identifier: str | None) -> BrowseMediaSource:
        """Return an account's folder; without an index a shallow one (its kinds come when it is opened)."""
        children = (
            None
            if index is None
            else [
                self._folder(f"{entry.entry_id}/{kind}", f"{KIND_TITLES[kind]} ({len(index.by_kind[kind])})", None)
                for kind in SUBJECT_KINDS
            ]
        )
        return self._folder(identifier, title, children)

    def _kind(self, entry: WhatsAppConfigEntry, index: MediaIndex, kind: str, rest: list[str]) -> BrowseMediaSource:
        everyone = index.by_kind[kind]
        base = f"{entry.entry_id}/{kind}"
        title = KIND_TITLES[kind]
        if not rest:
            if len(everyone) <= PAGE_SIZE:
                return self._folder(base, title, [self._picture(item) for item in everyone])
            return self._folder(
                base,
                title,
                [self._folder(f"{base}/{initial}", f"{initial} ({len(items)})", None) for initial, items in index.initials(kind).items()],
            )
        initial = rest[0]
        if len(rest) == 1:
            pages = index.of_initial(kind, initial)
            if len(pages) == 1:
                return self._folder(f"{base}/{initial}", f"{title}: {initial}", [self._picture(item) for item in pages[0]])
            return self._folder(
                f"{base}/{initial}",
                f"{title}: {initial}",
                [
                    self._folder(f"{base}/{initial}/{number}", f"{page[0].title} – {page[-1].title}", None)
                    for number, page in enumerate(pages, start=1)
                ],
            )
        page = index.page(kind, initial, rest[1])
        return self._folder(
            f"{base}/{initial}/{rest[1]}", f"{page[0].title} – {page[-1].title}", [self._picture(item) for item in page]
        )

    def _folder(self, identifier: str | None, title: str, children: list[BrowseMediaSource] | None) -> BrowseMediaSource:
        folder = BrowseMediaSource(
            domain=DOMAIN,
            identifier=identifier,
            media_class=CLASS_DIRECTORY,
            media_content_type=CLASS_IMAGE,
            title=title,
            can_play=False,
            can_expand=True,
            can_search=True,
            children_media_class=CLASS_IMAGE if children and not children[0].can_expand else CLASS_DIRECTORY,
        )
        if children is not None:
            folder.children = children
        return folder

    def _picture(self, item: _Listed) -> BrowseMediaSource:
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=f"{item.entry_id}/picture/{item.jid}",
            media_class=CLASS_IMAGE,
            media_content_type=PICTURE_CONTENT_TYPE,
            title=item.title,
            can_play=True,
            can_expand=False,
            thumbnail=picture_url(item.entry_id, item.jid),
        )
