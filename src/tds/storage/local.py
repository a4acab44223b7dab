"""Files in a local folder (the embedded default)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tds.storage.base import is_valid_key
from tds.storage.urls import file_url


def _private_dir(path: Path) -> None:
    """`path` as a folder only its owner can enter (created 0700, an existing one tightened)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & ~0o077)


class LocalStorage:
    """Folders 0700, files 0600: the server itself serves them under /files/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        _private_dir(root)
        for area in ("uploads", "inputs", "renders"):
            _private_dir(root / area)

    def path(self, key: str) -> Path:
        if not is_valid_key(key):  # keys come from URLs too: never let one escape the root
            raise FileNotFoundError(key)
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        # Write then rename, so a reader never sees half a file.
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            os.fchmod(fd, 0o600)  # a leftover .partial keeps its old mode through O_TRUNC
            file.write(data)
        os.replace(partial, path)

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except FileNotFoundError:
            return False

    def url(self, base: str, key: str) -> str:
        return file_url(base, key)

    def key_for_url(self, url: str) -> str | None:
        return None  # its only URLs are this server's /files/ URLs

    def close(self) -> None:
        pass
