"""A studio pastes one provider key: TDS_ENGINE=<provider> and TDS_<PROVIDER>_API_KEY, read from
the environment as an operator sets them, and the developer page's seed example renders
through that provider (its loopback fake here, by TDS_<PROVIDER>_BASE_URL), charged once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import fake_gemini, fake_openai, fake_stability
from tests.support.images import fixture_bytes
from tests.support.servers import LiveServer, start_tds_serve

MakeServer = Callable[..., LiveServer]

SEED_BODY = {
    "scene_type": "exterior",
    "resolution": "2k",
    "architectural_style": "Modern",
    "lighting": "Golden Hour",
    "prompt": "warm evening light, lush landscaping",
    "source": "api",
}


@contextmanager
def stability() -> Iterator[tuple[str, str, list[Any]]]:
    fake = fake_stability.FakeStability()
    try:
        yield fake.url, fake_stability.KEY, fake.requests
    finally:
        fake.close()


@contextmanager
def openai() -> Iterator[tuple[str, str, list[Any]]]:
    with fake_openai.FakeOpenAI() as fake:
        yield fake.url, fake_openai.KEY, fake.requests


@contextmanager
def gemini() -> Iterator[tuple[str, str, list[Any]]]:
    with fake_gemini.running() as fake:
        yield fake.url, fake_gemini.API_KEY, fake.requests


PROVIDERS: dict[str, Callable[[], AbstractContextManager[tuple[str, str, list[Any]]]]] = {
    "stability": stability,
    "openai": openai,
    "gemini": gemini,
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_seed_example_renders_through_a_hosted_provider(
    provider: str, make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PROVIDERS[provider]() as (url, key, requests):
        monkeypatch.setenv(f"TDS_{provider.upper()}_API_KEY", key)
        monkeypatch.setenv(f"TDS_{provider.upper()}_BASE_URL", url)
        monkeypatch.setenv("TDS_ENGINE", provider)
        live = make_server()
        account = live.account(credits=100)
        with live.client(account) as client:
            styles = client.get("/api/v1/styles").json()
            uploaded = client.post(
                "/api/v1/uploads", files={"file": ("view.png", fixture_bytes("house.png"))}
            ).json()
            response = client.post(
                "/api/v1/renders", json={"image_url": uploaded["url"], **SEED_BODY}
            )
        assert response.status_code == 200, response.text
        render = response.json()["render"]
        assert render["engine"] == provider
        assert render["fidelity_score"] is not None
        assert render["width"] == 2048
        assert response.json()["credits"] == 90  # an exterior render at 2k: 10 credits
        assert len(requests) >= 1  # the provider was asked
        assert any(key in " ".join(r.headers.values()) for r in requests)  # with the key
    kinds = {kind["id"]: kind for kind in styles["kinds"]}
    assert (kinds["render"]["engine"], kinds["render"]["generative"]) == (provider, True)
    live.assert_books_balanced(account)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_provider_without_its_key_stops_the_server_at_start_up(
    provider: str, tmp_path: Path
) -> None:
    """`tds serve` as an operator starts it: it exits and names the variable to set."""
    env = {"TDS_ENGINE": provider, f"TDS_{provider.upper()}_API_KEY": ""}
    with pytest.raises(AssertionError, match=f"set TDS_{provider.upper()}_API_KEY"):
        start_tds_serve(tmp_path, env=env, capture=True)
