"""Text the service accepts: never a NUL byte (`\\x00`), which PostgreSQL cannot store or compare
in a text column, so one would reach the database as a 500 rather than a 400."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL bytes (\\x00)"


def no_nul(value: str) -> str:
    if NUL in value:
        raise ValueError(NUL_MESSAGE)
    return value


# Every str field of a request body: `prompt: Text = Field(...)`, `render_id: Text | None`.
Text = Annotated[str, AfterValidator(no_nul)]
