"""Every contact's and group's picture in the Media panel ("WhatsApp").

The tree (identifiers after `media-source://whatsapp/`):

    <entry_id>                      the account (skipped when there is only one)
    <entry_id>/contact              contacts with a picture, by name
    <entry_id>/contact/<initial>    …of one initial, when there are more than PAGE_SIZE
    <entry_id>/contact/<initial>/<page>   …and pages of PAGE_SIZE within a crowded initial
    <entry_id>/picture/<jid>        one picture (an image the panel opens)

Only subjects whose picture the worker holds (`fetched`) are listed: unknown ones have none yet,
hidden ones chose not to show it. The names come from the directory the worker already sends;
the bytes only when a thumbnail or picture is shown (media_pictures.py).

Why folders by initial, then pages: the panel renders every child of a folder as a card
(frontend ha-media-player-browse.ts), so a folder stays at most PAGE_SIZE cards; a person looks a
name up by its first letter, as in the phone's address book. An account of up to PAGE_SIZE
contacts shows all of them at once. Each level is built from one sorted index of the directory,
made once per directory the worker sends, so 50,000 subjects never go to the browser at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import unicodedata

from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant

from .const import DOMAIN, PICTURE_CONTENT_TYPE, SUBJECT_KINDS
from .coordinator import WhatsAppConfigEntry
from .jids import is_subject_jid
from .media_pictures import current_state, listed, loaded_entry, picture_url
from .models import DirectoryEntry, Picture, shown_address

PAGE_SIZE = 1000
# Names that do not start with a letter (a number, an emoji, punctuation) share one folder.
OTHER_INITIAL = "#"
KIND_TITLES = {"contact": "Contacts", "group": "Groups"}
# media_player's MediaClass values, as text: importing media_player would make it a dependency
# (hassfest) of an integration that has no media player.
CLASS_DIRECTORY = "directory"
CLASS_IMAGE = "image"


async def async_get_media_source(hass: HomeAssistant) -> MediaSource:
    """Set up the WhatsApp media source (core media_source/__init__.py loads this platform)."""
    return WhatsAppMediaSource(hass)


@dataclass(frozen=True, slots=True)
class _Listed:
    jid: str
    title: str
    initial: str


def title_of(entry: DirectoryEntry) -> str:
    """Return the name, or the phone number where there is none."""
    return entry.name or shown_address(entry.jid)


def initial_of(title: str) -> str:
    """Return the folder letter of a title: its first letter without accents, upper case; OTHER_INITIAL otherwise."""
    first = unicodedata.normalize("NFKD", title.strip()[:1])[:1].upper()
    return first if first.isalpha() else OTHER_INITIAL


def sort_key(title: str) -> str:
    """Return a title as the address book sorts it: accents folded, case ignored (Émile beside Emil)."""
    decomposed = unicodedata.normalize("NFKD", title)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


class _Index:
    """The listed subjects of one directory, per kind, sorted by title."""

    def __init__(self, directory: Mapping[str, DirectoryEntry], pictures: Mapping[str, Picture]) -> None:
        self.directory = directory
        self.pictures = pictures
        self.by_kind: dict[str, list[_Listed]] = {kind: [] for kind in SUBJECT_KINDS}
        for entry in directory.values():
            if current_state(entry.state, pictures.get(entry.jid)) != "fetched":
                continue
            title = title_of(entry)
            self.by_kind[entry.kind].append(_Listed(entry.jid, title, initial_of(title)))
        for listed_ in self.by_kind.values():
            listed_.sort(key=lambda item: (sort_key(item.title), item.jid))

    def initials(self, kind: str) -> dict[str, list[_Listed]]:
        groups: dict[str, list[_Listed]] = {}
        for item in self.by_kind[kind]:
            groups.setdefault(item.initial, []).append(item)
        return dict(sorted(groups.items(), key=lambda pair: (pair[0] == OTHER_INITIAL, pair[0])))


class WhatsAppMediaSource(MediaSource):
    """The pictures of the account's contacts and groups."""

    name = "WhatsApp"

    def __init__(self, hass: HomeAssistant) -> None:
        """One source for every whatsapp entry."""
        super().__init__(DOMAIN)
        self.hass = hass
        self._indexes: dict[str, _Index] = {}

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
                return self._account(entries[0], title=self.name or DOMAIN, identifier=None)
            return self._folder(None, self.name or DOMAIN, [self._account(entry, entry.title, entry.entry_id, shallow=True) for entry in entries])
        parts = item.identifier.split("/")
        entry = loaded_entry(self.hass, parts[0])
        if entry is None:
            raise Unresolvable(f"no loaded WhatsApp account {parts[0]}")
        if len(parts) == 1:
            return self._account(entry, entry.title, entry.entry_id)
        kind = parts[1]
        if kind not in SUBJECT_KINDS or len(parts) > 4:
            raise Unresolvable(f"no WhatsApp folder {item.identifier}")
        return self._kind(entry, kind, parts[2:])

    def _index(self, entry: WhatsAppConfigEntry) -> _Index:
        data = entry.runtime_data.coordinator.data
        index = self._indexes.get(entry.entry_id)
        # Both are replaced, never changed in place, when the worker reports something new.
        if index is None or index.directory is not data.directory or index.pictures is not data.pictures:
            index = self._indexes[entry.entry_id] = _Index(data.directory, data.pictures)
        return index

    def _account(self, entry: WhatsAppConfigEntry, title: str, identifier: str | None, *, shallow: bool = False) -> BrowseMediaSource:
        index = self._index(entry)
        children = (
            None
            if shallow
            else [
                self._folder(f"{entry.entry_id}/{kind}", f"{KIND_TITLES[kind]} ({len(index.by_kind[kind])})", None)
                for kind in SUBJECT_KINDS
            ]
        )
        return self._folder(identifier, title, children)

    def _kind(self, entry: WhatsAppConfigEntry, kind: str, rest: list[str]) -> BrowseMediaSource:
        index = self._index(entry)
        everyone = index.by_kind[kind]
        base = f"{entry.entry_id}/{kind}"
        title = KIND_TITLES[kind]
        if not rest:
            if len(everyone) <= PAGE_SIZE:
                return self._folder(base, title, [self._picture(entry, item) for item in everyone])
            return self._folder(
                base,
                title,
                [self._folder(f"{base}/{initial}", f"{initial} ({len(items)})", None) for initial, items in index.initials(kind).items()],
            )
        initial = rest[0]
        of_initial = index.initials(kind).get(initial)
        if of_initial is None:
            raise Unresolvable(f"no {kind} starting with {initial}")
        pages = [of_initial[start : start + PAGE_SIZE] for start in range(0, len(of_initial), PAGE_SIZE)]
        if len(rest) == 1:
            if len(pages) == 1:
                return self._folder(f"{base}/{initial}", f"{title}: {initial}", [self._picture(entry, item) for item in pages[0]])
            return self._folder(
                f"{base}/{initial}",
                f"{title}: {initial}",
                [
                    self._folder(f"{base}/{initial}/{number}", f"{page[0].title} – {page[-1].title}", None)
                    for number, page in enumerate(pages, start=1)
                ],
            )
        if not rest[1].isdecimal() or not 1 <= int(rest[1]) <= len(pages):
            raise Unresolvable(f"no page {rest[1]} of {kind} starting with {initial}")
        page = pages[int(rest[1]) - 1]
        return self._folder(
            f"{base}/{initial}/{rest[1]}", f"{page[0].title} – {page[-1].title}", [self._picture(entry, item) for item in page]
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
            children_media_class=CLASS_IMAGE if children and not children[0].can_expand else CLASS_DIRECTORY,
        )
        if children is not None:
            folder.children = children
        return folder

    def _picture(self, entry: WhatsAppConfigEntry, item: _Listed) -> BrowseMediaSource:
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=f"{entry.entry_id}/picture/{item.jid}",
            media_class=CLASS_IMAGE,
            media_content_type=PICTURE_CONTENT_TYPE,
            title=item.title,
            can_play=True,
            can_expand=False,
            thumbnail=picture_url(entry.entry_id, item.jid),
        )
