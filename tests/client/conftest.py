from __future__ import annotations

from collections.abc import Callable

import pytest

from tds.client import Client
from tests.support.engines import ResizeEngine
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]


@pytest.fixture(autouse=True)
def _no_user_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Nothing from the developer's own environment or ~/.config leaks into a test."""
    monkeypatch.delenv("TDS_API_KEY", raising=False)
    monkeypatch.delenv("TDS_BASE_URL", raising=False)
    monkeypatch.setenv("TDS_CONFIG", str(tmp_path_factory.mktemp("config") / "config.json"))


@pytest.fixture
def live(make_server: MakeServer) -> LiveServer:
    """A server of the test's own on the resize engine: real API, instant renders."""
    return make_server(ResizeEngine())


@pytest.fixture
def connect() -> Callable[..., Client]:
    """Clients that retry without waiting long, so retry tests stay quick."""

    def make(base_url: str, api_key: str | None, **options: object) -> Client:
        options.setdefault("backoff", 0.01)
        return Client(api_key, base_url=base_url, **options)  # type: ignore[arg-type]

    return make
