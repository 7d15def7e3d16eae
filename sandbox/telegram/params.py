"""Read Bot API parameters from the query string and a JSON, form or multipart body.

Telegram accepts all of these, and client libraries differ: PTB posts JSON, but switches to
multipart for uploads, where nested objects such as reply_markup arrive as JSON strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.telegram.errors import bad_request


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


class Params:
    """Typed access to one call's parameters with Telegram's refusals for bad values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.values.get(value.removeprefix("attach://"))
        return value

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def string(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool | dict | list | UploadedFile):
            raise bad_request(f'field "{name}" must be of type String')
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Number') from None

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str) -> Any:
        """Objects come parsed from JSON bodies and as JSON text from form bodies."""
        value = self.raw(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def public(self) -> dict[str, Any]:
        """The parameters as recorded in the outbox: uploads described, not dumped."""
        return {
            key: {"upload": value.filename, "size": len(value.data)}
            if isinstance(value, UploadedFile)
            else value
            for key, value in self.values.items()
        }


async def read_params(request: Request) -> Params:
    values: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body:
        if content_type.startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                raise bad_request("invalid JSON in request body") from None
            if not isinstance(parsed, dict):
                raise bad_request("request body must be a JSON object")
            values.update(parsed)
        elif content_type.startswith("multipart/form-data"):
            values.update(_multipart(content_type, body))
        else:
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Params(values)


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            fields[name] = UploadedFile(filename, part.get_content_type(), payload)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields[name] = payload.decode(charset, "replace")
    return fields
