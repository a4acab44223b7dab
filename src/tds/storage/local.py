"""Files in a local folder (the embedded default)."""

from __future__ import annotations

import os
from pathlib import Path

from tds.storage.base import is_valid_key
from tds.storage.urls import file_url


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        for area in ("uploads", "inputs", "renders"):
            (root / area).mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not is_valid_key(key):  # keys come from URLs too: never let one escape the root
            raise FileNotFoundError(key)
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        # Write then rename, so a reader never sees half a file.
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
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
