"""A Home Assistant person's picture that follows a WhatsApp contact's picture.

Through HA's own means for person pictures, as the person editor does them: the bytes become an
item of image_upload's storage collection (homeassistant/components/image_upload/__init__.py,
HA 2026.10.4: ImageStorageCollection, served at `/api/image/serve/<id>/<size>`), and the person's
`picture` in the person storage collection (homeassistant/components/person/__init__.py:
`hass.data["person"][1]`, UPDATE_FIELDS `picture`) becomes that item's serve URL, the form
UPLOADED_PICTURE_RE there accepts. A new picture replaces the upload item (the old one is deleted);
unlinking, or removing the entry, deletes it and gives the person back the picture it had before
the link (none if it had none) — unless someone set another picture meanwhile, which stays.

The worker pushes a picture's bytes only for the JIDs HA sends in the `favourites` message, so the
linked contacts are sent with the favourites (and so are kept fresh first, like favourites: a
person's picture is one people look at). They get no image entity or device unless they are
favourites too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
import io
from typing import Any

from aiohttp.web_request import FileField
from multidict import CIMultiDict, CIMultiDictProxy

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER, PICTURE_CONTENT_TYPE
from .jids import is_subject_jid

PERSON_DOMAIN = "person"
IMAGE_UPLOAD_DOMAIN = "image_upload"
STORAGE_VERSION = 1
STORAGE_KEY_PREFIX = f"{DOMAIN}.person_links."
# A square thumbnail, in the form the frontend builds one (home-assistant/frontend
# src/data/image_upload.ts generateImageThumbnailUrl, `<size>x<size>`); 512 is one of image_upload's
# VALID_SIZES, so HA serves it (Pillow makes it from the original once).
SERVE_SIZE = "512x512"


def serve_url(image_id: str) -> str:
    """Return the URL a person's `picture` holds for an uploaded image."""
    return f"/api/image/serve/{image_id}/{SERVE_SIZE}"


@dataclass(frozen=True, kw_only=True)
class PersonLink:
    """One person following one contact."""

    jid: str
    # The upload item showing the contact's current picture; None until the worker sent one.
    image_id: str | None = None
    sha256: str | None = None
    # The person's picture before the link, given back when it ends.
    previous_picture: str | None = None


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{STORAGE_KEY_PREFIX}{entry_id}")


def _collections(hass: HomeAssistant) -> tuple[Any, Any]:
    """Return the person and image upload storage collections, or refuse when person is not set up."""
    people = hass.data.get(PERSON_DOMAIN)
    images = hass.data.get(IMAGE_UPLOAD_DOMAIN)
    if people is None or images is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="person_not_loaded")
    return people[1], images


class PersonPictures:
    """The links of one config entry, kept in .storage with the upload items they made."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Nothing read until `async_load`."""
        self.hass = hass
        self._store = _store(hass, entry_id)
        self.links: dict[str, PersonLink] = {}

    async def async_load(self) -> None:
        """Read the links; a malformed one is dropped with a warning."""
        stored = await self._store.async_load() or {}
        for person_id, raw in (stored.get("links") or {}).items():
            try:
                link = PersonLink(**raw)
            except TypeError:
                LOGGER.warning("Ignoring a stored person link that is not readable: %r", raw)
                continue
            if is_subject_jid(link.jid):
                self.links[person_id] = link

    def linked_jids(self) -> set[str]:
        """Return the contacts some person follows: the worker sends their bytes."""
        return {link.jid for link in self.links.values()}

    async def _save(self) -> None:
        await self._store.async_save({"links": {pid: asdict(link) for pid, link in self.links.items()}})

    async def async_link(self, person_id: str, jid: str) -> None:
        """Make a person follow a contact; the picture comes with the worker's next push."""
        people, _ = _collections(self.hass)
        if person_id not in people.data:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_person",
                translation_placeholders={"person": person_id},
            )
        current = self.links.get(person_id)
        if current is not None and current.jid == jid:
            return
        if current is not None:
            # Another contact: its picture goes, the one from before any link stays to come back to.
            await self._delete_image(current.image_id)
            link = PersonLink(jid=jid, previous_picture=current.previous_picture)
        else:
            link = PersonLink(jid=jid, previous_picture=people.data[person_id].get("picture"))
        self.links[person_id] = link
        await self._save()

    async def async_unlink(self, person_id: str) -> bool:
        """End a person's link: the upload goes, the previous picture comes back. False if none."""
        if (link := self.links.pop(person_id, None)) is None:
            return False
        await self._end(person_id, link)
        await self._save()
        return True

    async def async_unlink_all(self) -> None:
        """End every link and forget them (the entry is being removed)."""
        for person_id, link in list(self.links.items()):
            await self._end(person_id, link)
        self.links.clear()
        await self._store.async_remove()

    async def async_picture(self, jid: str, state: str, sha256: str | None, content: bytes | None) -> None:
        """Follow a `whatsapp/avatar` of a contact some person follows."""
        for person_id, link in list(self.links.items()):
            if link.jid != jid:
                continue
            if state == "none" and link.image_id is not None:
                # The contact removed their picture: the person shows what it had before the link.
                await self._end(person_id, link)
                self.links[person_id] = replace(link, image_id=None, sha256=None)
            elif content is not None and sha256 != link.sha256:
                try:
                    await self._show(person_id, link, content, sha256)
                except ServiceValidationError:
                    # People are not set up (any more): the worker's push must not fail for it.
                    LOGGER.warning("Cannot show %s's new picture on a person: people are not set up", link.jid)
                    continue
            else:
                # Hidden, unchanged, or only metadata: the person keeps its picture.
                continue
            await self._save()

    async def _show(self, person_id: str, link: PersonLink, content: bytes, sha256: str | None) -> None:
        people, images = _collections(self.hass)
        if person_id not in people.data:
            LOGGER.info("The person %s is gone; dropping its link to %s", person_id, link.jid)
            await self._delete_image(link.image_id)
            del self.links[person_id]
            return
        item = await images.async_create_item(
            {
                "file": FileField(
                    name="file",
                    filename=f"whatsapp-{link.jid.partition('@')[0]}.jpg",
                    file=io.BytesIO(content),
                    content_type=PICTURE_CONTENT_TYPE,
                    headers=CIMultiDictProxy(CIMultiDict()),
                )
            }
        )
        await people.async_update_item(person_id, {"picture": serve_url(item["id"])})
        await self._delete_image(link.image_id)
        self.links[person_id] = replace(link, image_id=item["id"], sha256=sha256)

    async def _end(self, person_id: str, link: PersonLink) -> None:
        """Delete the link's upload; give the person its previous picture if it still shows ours."""
        if link.image_id is None:
            return
        try:
            people, _ = _collections(self.hass)
        except ServiceValidationError:
            return
        person = people.data.get(person_id)
        if person is not None and person.get("picture") == serve_url(link.image_id):
            await people.async_update_item(person_id, {"picture": link.previous_picture})
        await self._delete_image(link.image_id)

    async def _delete_image(self, image_id: str | None) -> None:
        if image_id is None:
            return
        images = self.hass.data.get(IMAGE_UPLOAD_DOMAIN)
        if images is not None and image_id in images.data:
            await images.async_delete_item(image_id)


async def async_remove_links(hass: HomeAssistant, entry_id: str) -> None:
    """End every link a removed entry made (it is unloaded, so its links are read again)."""
    pictures = PersonPictures(hass, entry_id)
    await pictures.async_load()
    await pictures.async_unlink_all()
