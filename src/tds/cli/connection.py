"""The --api-key and --base-url options and the tds.client Client a command makes from them.

Only tds.client is used, never server code, so the client commands work against any tds server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from tds.cli.output import fail
from tds.client import DEFAULT_BASE_URL, Client, TdsError

ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key. Default: $TDS_API_KEY, then the one `tds login` stored.",
        show_default=False,
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Server URL. Default: $TDS_BASE_URL, then the one `tds login` stored, then "
        "http://localhost:8000.",
        show_default=False,
    ),
]


def _connect(
    api_key: str | None, base_url: str | None, as_json: bool, *, repair: bool = False
) -> Client:
    try:
        try:
            return Client(api_key=api_key, base_url=base_url, source="cli")
        except TdsError as error:
            if not (repair and error.code == "invalid_config"):
                raise
            # `tds login` replaces an unreadable config file rather than tripping over it.
            return Client(api_key=api_key, base_url=base_url or DEFAULT_BASE_URL, source="cli")
    except ValueError as error:  # a malformed --base-url
        raise typer.BadParameter(str(error), param_hint="--base-url") from None
    except TdsError as error:
        fail(error, as_json, base_url)


@contextlib.contextmanager
def api(
    api_key: str | None, base_url: str | None, as_json: bool, *, repair: bool = False
) -> Iterator[Client]:
    """A client for the command; API errors end it with exit status 1."""
    client = _connect(api_key, base_url, as_json, repair=repair)
    try:
        yield client
    except TdsError as error:
        fail(error, as_json, client.base_url)
