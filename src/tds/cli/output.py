"""How the client commands print: results on stdout (one JSON document with --json), progress
and errors on stderr, and an API error as exit status 1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from tds.client import InvalidApiKey, TdsConnectionError, TdsError

Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, for scripts.")
]


def out(text: str = "") -> None:
    typer.echo(text)


def err(text: str) -> None:
    typer.echo(text, err=True)


def dump(document: Any) -> None:
    # ensure_ascii=False: names such as "Jürgen's loft.png" stay readable in the results.
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, without trailing blanks."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(w) for w, cell in zip(widths, line, strict=True)).rstrip()
        for line in [headers, *rows]
    )


def _hint(error: TdsError, base_url: str | None) -> str:
    """What to do about the two errors a first run usually meets."""
    if isinstance(error, InvalidApiKey):
        return " Run `tds login`, set TDS_API_KEY or pass --api-key."
    if isinstance(error, TdsConnectionError):
        return f" Is the server running at {base_url}? Set it with --base-url or `tds login`."
    return ""


def fail(error: TdsError, as_json: bool, base_url: str | None = None) -> NoReturn:
    """End the command with exit status 1; with --json the error is the stdout document too."""
    if as_json:
        detail = {"code": error.code, "message": error.message, "status": error.status}
        if error.param:
            detail["param"] = error.param
        dump({"error": detail})
    err(f"error: {error.message} ({error.code}){_hint(error, base_url)}")
    raise typer.Exit(1)
