"""The picture a favourite shows while there is none to show: a neutral silhouette.

Served with 200 instead of nothing, so a dashboard card draws a calm "no picture" face rather than
a broken-image glyph (HA's image proxy answers 500 when an entity has no bytes). The entity's
`picture_state` attribute says why: no picture set, hidden from us, or not known yet.
"""

from __future__ import annotations

from typing import Final

PLACEHOLDER_CONTENT_TYPE: Final = "image/svg+xml"

# A grey head and shoulders on a light disc, 128 × 128: the shape messengers use for "no photo".
PLACEHOLDER_PICTURE: Final = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128" width="128" height="128">'
    b'<circle cx="64" cy="64" r="64" fill="#dfe5e7"/>'
    b'<circle cx="64" cy="50" r="22" fill="#a9b4b8"/>'
    b'<path d="M20 112c6-24 24-36 44-36s38 12 44 36a64 64 0 0 1-88 0z" fill="#a9b4b8"/>'
    b"</svg>"
)
