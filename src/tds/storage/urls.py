"""File URLs: `<base>/files/<storage key>`, and recognising our own URLs when they come back."""

from __future__ import annotations

from urllib.parse import urlsplit

from tds.storage.base import is_valid_key

PREFIX = "/files/"


def file_url(base: str, key: str) -> str:
    return f"{base}{PREFIX}{key}"


def own_key(url: str, bases: list[str]) -> str | None:
    """The storage key when `url` is one of this server's file URLs, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.path.startswith(PREFIX) or parts.query or parts.fragment:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin not in {urlsplit(b)._replace(path="").geturl().lower() for b in bases}:
        return None
    key = parts.path.removeprefix(PREFIX)
    return key if is_valid_key(key) else None
