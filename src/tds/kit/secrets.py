"""The server secret that keys API key digests: from settings, else a file in the data dir."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def load_or_create(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    try:
        value = path.read_bytes().strip()
    except FileNotFoundError:
        pass
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:  # a file from before tds made it private
            path.chmod(mode & ~0o077)
        return value
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    # O_EXCL: when two processes start at once, one writes and both read the winner's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as file:
        file.write(value)
    return value
