"""Settings choose an engine per kind; a kind is served only where its engine offers it."""

from __future__ import annotations

import pytest

from tds.engines.base import Engine
from tds.engines.routing import EngineRouter
from tests.support.engines import ResizeEngine
from tests.support.servers import LiveServer


class OnlyVideo(ResizeEngine):
    name = "only-video"
    kinds = frozenset({"video"})


def _load(name: str) -> Engine:
    engines: dict[str, Engine] = {"resize": ResizeEngine(), "only-video": OnlyVideo()}
    return engines[name]


def test_default_engine_with_a_per_kind_override() -> None:
    router = EngineRouter.build("resize", {"video": "only-video"}, _load)
    assert router.kinds == frozenset({"render", "refine", "enhance", "video"})
    assert router.for_kind("video").name == "only-video"  # type: ignore[union-attr]
    assert router.for_kind("render").name == "resize"  # type: ignore[union-attr]
    assert router.for_kind("staging") is None  # neither engine offers it
    assert [e.name for e in router.engines()] == ["resize", "only-video"]


def test_a_kind_routed_to_an_engine_that_cannot_serve_it_is_unavailable() -> None:
    router = EngineRouter.build("resize", {"render": "only-video"}, _load)
    assert "render" not in router.kinds
    assert router.for_kind("render") is None


def test_unknown_kind_in_settings_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        EngineRouter.build("resize", {"paint": "resize"}, _load)


def test_styles_report_which_engine_serves_each_kind(make_server) -> None:  # type: ignore[no-untyped-def]
    live: LiveServer = make_server(engine_for={"video": "preview"})
    account = live.account()
    with live.client(account) as client:
        styles = client.get("/api/v1/styles").json()
    assert {k["id"]: k["engine"] for k in styles["kinds"]} == {
        "render": "preview",
        "refine": "preview",
        "enhance": "preview",
        "staging": None,
        "video": "preview",
    }
