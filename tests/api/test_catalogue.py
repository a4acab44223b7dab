from __future__ import annotations

from tds import catalogue
from tests.support.servers import LiveServer


def test_me_returns_account_plan_and_balance(server: LiveServer) -> None:
    account = server.account(credits=42, plan="pro")
    with server.client(account) as client:
        me = client.get("/api/v1/me").json()
    assert me["email"] == account.email
    assert me["credits"] == 42
    assert me["credits_held"] == 0
    assert me["plan"]["id"] == "pro"
    assert me["plan"]["max_resolution"] == "4k"
    assert "video" in me["plan"]["kinds"]


def test_styles_lists_the_catalogue_with_costs(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        styles = client.get("/api/v1/styles").json()
    scene_ids = {s["id"] for s in styles["scene_types"]}
    assert {"exterior", "interior", "aerial", "landscape"} <= scene_ids
    assert len(styles["architectural_styles"]) >= 10
    assert len(styles["lighting"]) >= 6
    assert "Golden Hour" in {light["name"] for light in styles["lighting"]}
    assert {r["id"]: r["long_edge"] for r in styles["resolutions"]} == {
        "1k": 1024,
        "2k": 2048,
        "4k": 4096,
    }
    assert styles["costs"]["render"]["2k"] == 10
    for kind in ("render", "refine", "enhance", "staging", "video"):
        assert set(styles["costs"][kind]) == {"1k", "2k", "4k"}
    kinds = {k["id"]: k for k in styles["kinds"]}
    assert kinds["staging"]["available"] is False  # the preview engine cannot furnish rooms
    assert kinds["staging"]["engine"] is None
    assert (kinds["render"]["available"], kinds["render"]["engine"]) == (True, "preview")
    assert [engine["name"] for engine in styles["engines"]] == ["preview"]
    assert "staging" not in styles["engines"][0]["kinds"]
    assert "not a generative model" in styles["engines"][0]["description"]


def test_output_size_keeps_aspect_and_even_sides() -> None:
    assert catalogue.output_size(512, 512, "2k") == (2048, 2048)
    assert catalogue.output_size(564, 848, "2k") == (1362, 2048)
    assert catalogue.output_size(1920, 1080, "1k") == (1024, 576)
    for width, height in [(333, 777), (1001, 99), (4096, 4095)]:
        out = catalogue.output_size(width, height, "4k")
        assert max(out) == 4096
        assert all(side % 2 == 0 for side in out)


def test_names_and_ids_are_both_accepted() -> None:
    assert catalogue.find_lighting("Golden Hour") == catalogue.find_lighting("golden_hour")
    assert catalogue.find_style("modern") is not None
    assert catalogue.find_style("MODERN") is not None
    assert catalogue.find_style("Gothic Revival") is None
