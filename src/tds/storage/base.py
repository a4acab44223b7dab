"""The storage contract and the key scheme shared by every backend."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tds.kit.db import Database

P = ParamSpec("P")
T = TypeVar("T")

# "<area>/<32 random url-safe chars>.<ext>": the random part makes file URLs capabilities.
KEY_PATTERN = re.compile(r"(uploads|inputs|renders)/[A-Za-z0-9_-]{32}\.(png|jpg|mp4)")

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "mp4": "video/mp4"}

# Keys are random and never reused, so the object at a key never changes.
CACHE_CONTROL = "public, max-age=31536000, immutable"


class StorageUnavailable(RuntimeError):
    """The configured storage cannot be used (misconfigured or unreachable): the server does
    not start."""


def new_key(area: str, extension: str) -> str:
    return f"{area}/{secrets.token_urlsafe(24)}.{extension}"


def is_valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def content_type(key: str) -> str:
    return CONTENT_TYPES[key.rsplit(".", 1)[-1]]


Put = Callable[[str, bytes], None]


@contextmanager
def staged(storage: Storage) -> Iterator[Put]:
    """Write files that belong to a unit of work: if the block fails (its transaction rolls back,
    its commit fails), every file written through `put` is deleted again, so a refused request
    leaves nothing behind. Open it outside the database transaction."""
    written: list[str] = []

    def put(key: str, data: bytes) -> None:
        storage.put(key, data)
        written.append(key)

    try:
        yield put
    except BaseException:
        for key in written:
            storage.delete(key)
        raise


def staged_write(
    db: Database,
    storage: Storage,
    function: Callable[Concatenate[Session, Put, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`db.write(function, put, …)`, its files written through `put` deleted again if the
    unit of work fails. Blocking: from the event loop, run it in a worker thread, whose end is
    awaited even when the request is canceled meanwhile (so a committed row keeps its files)."""
    with staged(storage) as put:
        return db.write(function, put, *args, **kwargs)


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def url(self, base: str, key: str) -> str:
        """Where a client downloads the object; `base` is this server's own base URL."""
        ...

    def key_for_url(self, url: str) -> str | None:
        """The key when `url` is one of this backend's own object URLs (beyond this server's
        `/files/` URLs, which tds.storage.urls.own_key recognises), else None."""
        ...

    def close(self) -> None: ...
