"""Photos sent by the bot: uploads are kept (the page shows them), ids and URLs resolved."""

from __future__ import annotations

import secrets
import struct

from sandbox.telegram.emulator import BotWorld, StoredFile
from sandbox.telegram.errors import bad_request
from sandbox.telegram.params import UploadedFile
from sandbox.telegram.store import Photo

_WRONG_FILE = "wrong file identifier/HTTP URL specified"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def resolve_photo(world: BotWorld, value: object) -> Photo:
    if isinstance(value, UploadedFile):
        return _store_upload(world, value)
    if not isinstance(value, str) or not value:
        raise bad_request("there is no photo in the request")
    stored = world.files.get(value)
    if stored is not None and stored.photo is not None:
        return stored.photo
    if value.startswith(("http://", "https://")):
        photo = _new_photo(0, 0, 0, source_url=value)
        world.files[photo.file_id] = StoredFile(photo, "", None, "photo", photo.file_unique_id)
        return photo
    raise bad_request(_WRONG_FILE)


def _store_upload(world: BotWorld, upload: UploadedFile) -> Photo:
    if not upload.data:
        raise bad_request("file must be non-empty")
    width, height, content_type = _image_facts(upload.data, upload.content_type)
    photo = _new_photo(width, height, len(upload.data))
    world.files[photo.file_id] = StoredFile(
        photo, content_type, upload.data, "photo", photo.file_unique_id
    )
    return photo


def _new_photo(width: int, height: int, size: int, source_url: str | None = None) -> Photo:
    return Photo(
        file_id=f"AgACAgIAAxk{secrets.token_urlsafe(24)}",
        file_unique_id=f"AQAD{secrets.token_urlsafe(8)}",
        width=width,
        height=height,
        size=size,
        source_url=source_url,
    )


def _image_facts(data: bytes, declared: str) -> tuple[int, int, str]:
    """Width, height and type of a PNG or JPEG; Telegram refuses what it cannot decode."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height, "image/png"
    if data.startswith(b"\xff\xd8"):
        return *_jpeg_size(data), "image/jpeg"
    raise bad_request("IMAGE_PROCESS_FAILED")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return 0, 0
