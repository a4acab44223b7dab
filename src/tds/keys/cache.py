"""Recently authenticated keys, so most requests need no database read to authenticate.

Entries live `ttl` seconds: a key revoked or a plan changed in another process (the admin CLI,
another API worker) takes effect within that time; in this process `forget` applies at once.
"""

from __future__ import annotations

import threading
import time

from tds.keys.service import Principal


class PrincipalCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # crude but bounded; refills from the database
            self._entries[digest] = (time.monotonic() + self.ttl, principal)

    def forget(self, key_id: str) -> None:
        with self._lock:
            for digest, (_expires, principal) in list(self._entries.items()):
                if principal.key_id == key_id:
                    del self._entries[digest]
