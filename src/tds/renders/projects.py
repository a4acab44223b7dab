"""Project codes: the label a studio bills a client by, on a render and its ledger entries."""

from __future__ import annotations

from tds.exceptions import InvalidRequest

MAX_LENGTH = 100


def problem(value: str) -> str | None:
    """Why `value` (already trimmed) is not a project code, or None when it is one."""
    if not value:
        return "must not be empty (leave it out for no project)"
    if len(value) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters (got {len(value)})"
    if not value.isprintable():
        # Control characters, line breaks, bidi overrides and invisible format characters:
        # a code is shown in tables and CSV files, where those would hide or reorder text.
        return "must be printable text: no control, format or line-break characters"
    return None


def clean(value: str, *, param: str = "project") -> str:
    """`value` trimmed, when it is a valid project code; InvalidRequest otherwise."""
    trimmed = value.strip()
    why = problem(trimmed)
    if why is not None:
        raise InvalidRequest(f"{param}: {why}.", param=param)
    return trimmed
