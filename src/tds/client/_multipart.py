"""multipart/form-data bodies (RFC 7578) for uploads, without third-party packages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence


def _quote(value: str) -> str:
    # Browsers' escaping for quoted names: a quote or a line break cannot end the header.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode(
    fields: Mapping[str, str] | None = None,
    files: Sequence[tuple[str, str, str, bytes]] = (),
) -> tuple[bytes, str]:
    """(body, content type) for `fields` and `files` given as (field, filename, type, data)."""
    boundary = f"tds-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    for name, filename, content_type, data in files:
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"; '
            f'filename="{_quote(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
