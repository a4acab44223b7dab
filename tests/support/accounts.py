"""The accounts tests make: an id, an email and an API key to send."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Account:
    id: str
    email: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}
