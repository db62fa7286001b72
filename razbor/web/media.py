"""The deck's images over HTTP: /media/NAME serves a raster image of the deck's media folder.

Imports copy a note's images into the deck's media/ folder and card files point at them as
../media/NAME; the renderer turns those into /media/NAME (razbor.rendering.media_url). A card
file is content anyone can write, so this route serves only what is safe to show on razbor's
own pages: a plain file name (no path, no hidden file), a regular file inside a media folder
and not a symbolic link, and only PNG, JPEG, GIF and WebP whose bytes and extension agree. SVG
can carry scripts and is refused, and so is anything else. The response forbids sniffing and
carries a sandboxing CSP, so even opened on its own it cannot act as a page of this origin.
With accounts on, the route needs sign-in like every page (app.py includes it so): the media
belong to the deck, which every user shares.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from razbor.cards import Deck
from razbor.decks.notes import MEDIA_FOLDER
from razbor.rendering import MEDIA_ROUTE, is_media_name

router = APIRouter(include_in_schema=False)
MAX_IMAGE_BYTES = 20_000_000
REFUSAL_HEADERS = {"X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "default-src 'none'; sandbox"}
IMAGE_HEADERS = {**REFUSAL_HEADERS, "Cache-Control": "private, max-age=3600"}
IMAGE_TYPES = {  # extension -> (content type, the bytes such a file starts with)
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
}
ACTIVE_IMAGE_SUFFIXES = (".svg", ".svgz")


class Refused(Exception):
    """A media request that is not served; the message says why, for the status given."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def media_folders(deck: Deck) -> list[Path]:
    """The media folders the deck's card files point at (../media beside their topic folder),
    as real paths, existing ones only: one for a deck folder, the built-in one included."""
    folders = {Path(card.source).parent.parent / MEDIA_FOLDER for card in deck if card.source}
    return sorted({folder.resolve() for folder in folders if folder.is_dir()})


def image_type(name: str, data: bytes) -> str:
    """The content type of a raster image whose extension and first bytes agree; Refused
    otherwise."""
    suffix = Path(name).suffix.lower()
    if suffix in ACTIVE_IMAGE_SUFFIXES:
        raise Refused(403, f"media/{name}: SVG images are not served, as they can hold scripts "
                           "(fix: convert it to PNG)")
    if suffix not in IMAGE_TYPES:
        raise Refused(403, f"media/{name}: only PNG, JPEG, GIF and WebP images are served")
    content_type, signatures = IMAGE_TYPES[suffix]
    webp_marked = suffix != ".webp" or data[8:12] == b"WEBP"
    if not data.startswith(signatures) or not webp_marked:
        raise Refused(403, f"media/{name}: the file is not the {suffix[1:].upper()} image its "
                           "name says")
    return content_type


def read_media(folder: Path, name: str) -> bytes | None:
    """The bytes of a regular file of the folder, None if there is none by that name.

    The file is opened without following a symbolic link (the name has no separator, so the
    link could only be the file itself), then checked on the open descriptor, so nothing
    swapped in between the check and the read is served.
    """
    try:
        descriptor = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Refused(403, f"media/{name}: a symbolic link, which is not served") from error
        raise Refused(403, f"media/{name}: cannot be read ({error.strerror})") from error
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise Refused(403, f"media/{name}: not a regular file")
        if status.st_size > MAX_IMAGE_BYTES:
            raise Refused(403, f"media/{name}: over {MAX_IMAGE_BYTES // 1_000_000} MB")
        return file.read(MAX_IMAGE_BYTES)


def _folders(request: Request) -> list[Path]:
    """The deck's media folders, found once per app (the deck does not change while it runs)."""
    state = request.app.state
    if getattr(state, "media_folders", None) is None:
        state.media_folders = media_folders(state.trainer.deck)
    return state.media_folders


@router.get(MEDIA_ROUTE + "{name}")
def deck_media(request: Request, name: str) -> Response:
    """One image of the deck's media folder, or a plain-text refusal saying why not."""
    try:
        if not is_media_name(name):
            raise Refused(400, "a media name is a plain file name of the deck's media folder")
        for folder in _folders(request):
            data = read_media(folder, name)
            if data is not None:
                return Response(data, media_type=image_type(name, data),
                                headers=IMAGE_HEADERS)
        raise Refused(404, f"media/{name}: no such file in the deck's media folder")
    except Refused as refusal:
        return PlainTextResponse(str(refusal), status_code=refusal.status,
                                 headers=REFUSAL_HEADERS)
