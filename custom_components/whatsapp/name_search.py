"""Matching names and phone numbers: the favourites picker's search and the Media panel's.

Both answer the same typed text the same way (accents and case aside, a number typed with +,
spaces or dashes), so a contact found in one is found in the other. The Media panel
(home-assistant-frontend 20260930.5, ha-media-player-browse.ts) shows its own search field in a
folder that says `can_search`, sends the typed text with `media_source/search_media` for that
folder (core media_source/http.py) and shows the answer as cards (media_source.py asks); the
favourites picker searches a directory too large to list (picker.py asks).

Pure: it ranks what it is given, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import heapq
import re
from typing import Protocol
import unicodedata

# Fewer digits than this are a name (e.g. "Room 42"), not a number.
MIN_NUMBER_DIGITS = 3
# Text a person types for a phone number: digits, spaces, a leading +, brackets, dashes, dots, slashes.
_NUMBER_LIKE = re.compile(r"[\d\s+()./-]+")
_NOT_DIGITS = re.compile(r"\D")

# Ranks, best first.
_EXACT = 0
_STARTS_WITH = 1
_WORD_STARTS = 2
_CONTAINS = 3


def fold(text: str) -> str:
    """Return text as search and sorting compare it: accents folded, case ignored, spaces collapsed."""
    if text.isascii():
        # No accent to fold: the same answer at a quarter of the cost (a picker search folds
        # every name of the directory).
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(char for char in decomposed if not unicodedata.combining(char)).casefold().split())


class Searchable(Protocol):
    """What the search needs of a listed subject."""

    @property
    def jid(self) -> str:
        """The subject's JID (the last tie-breaker)."""

    @property
    def folded(self) -> str:
        """Its title through fold()."""

    @property
    def number(self) -> str | None:
        """Its phone number's digits; None for a LID contact or a group."""


@dataclass(frozen=True, slots=True)
class SearchText:
    """What a person typed, ready to compare."""

    words: tuple[str, ...]
    # Set only when the text looks like a phone number with at least MIN_NUMBER_DIGITS digits.
    digits: str | None

    @property
    def phrase(self) -> str:
        """The words as one folded phrase."""
        return " ".join(self.words)

    @classmethod
    def parse(cls, typed: str) -> SearchText:
        """Read the typed text; ValueError when there is nothing to look for."""
        words = tuple(fold(typed).split())
        if not words:
            raise ValueError("type a name or a phone number to search for")
        digits = _NOT_DIGITS.sub("", typed)
        number_like = _NUMBER_LIKE.fullmatch(typed.strip()) is not None and len(digits) >= MIN_NUMBER_DIGITS
        return cls(words, digits if number_like else None)


def phone_digits(jid: str) -> str | None:
    """Return the phone number of a phone-number JID; a LID or a group has none a person would type."""
    user, _, server = jid.partition("@")
    return user if server == "s.whatsapp.net" else None


def rank(item: Searchable, text: SearchText) -> int | None:
    """Return how well a subject matches (lower is better), or None when it does not.

    A name matches when it holds every word; exact before starts-with, before every word starting a
    word of the name, before merely contained. A number matches when its digits hold the typed ones.
    """
    best: int | None = None
    if text.digits is not None and item.number is not None and text.digits in item.number:
        best = _EXACT if item.number == text.digits else _STARTS_WITH if item.number.startswith(text.digits) else _CONTAINS
    if all(word in item.folded for word in text.words):
        phrase = text.phrase
        if item.folded == phrase:
            by_name = _EXACT
        elif item.folded.startswith(phrase):
            by_name = _STARTS_WITH
        elif all(any(part.startswith(word) for part in item.folded.split()) for word in text.words):
            by_name = _WORD_STARTS
        else:
            by_name = _CONTAINS
        best = by_name if best is None else min(best, by_name)
    return best


def best_matches[T: Searchable](items: Iterable[T], typed: str, limit: int) -> list[T]:
    """Return at most `limit` subjects that match the typed text, best first, then by title and JID.

    Raise ValueError when the text has nothing to look for.
    """
    text = SearchText.parse(typed)
    first, digits = text.words[0], text.digits
    # A plain `in` first: most of 50,000 subjects fail it, and rank() is several times slower.
    candidates = (
        item
        for item in items
        if first in item.folded or (digits is not None and item.number is not None and digits in item.number)
    )
    ranked = ((found, item.folded, item.jid, item) for item in candidates if (found := rank(item, text)) is not None)
    return [entry[3] for entry in heapq.nsmallest(limit, ranked, key=lambda entry: entry[:3])]
