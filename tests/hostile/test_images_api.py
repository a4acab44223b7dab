"""Hostile images through POST /api/v1/uploads and image_base64 renders: each gets its documented
status and code; what is accepted is re-encoded clean; nothing is stored or held on a refusal."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tds.models import Render, Upload
from tests.images.test_intake import _gif, _tiff, encode, gradient, handmade_png
from tests.support.db import reading
from tests.support.engines import ResizeEngine
from tests.support.images import open_image
from tests.support.servers import LiveServer, make_settings


def _apng() -> bytes:
    frames = [gradient(), gradient().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:])


def _truncated_jpeg() -> bytes:
    return encode(gradient((256, 256)), "JPEG")[:600]


REFUSED: dict[str, tuple[Callable[[], bytes], int, str]] = {
    "empty": (lambda: b"", 400, "invalid_image"),
    "declared 50000x50000 in a tiny PNG": (
        lambda: handmade_png(50_000, 50_000),
        400,
        "invalid_image",
    ),
    "above the pixel limit": (lambda: handmade_png(8000, 8000), 400, "invalid_image"),
    "truncated JPEG": (_truncated_jpeg, 400, "invalid_image"),
    "1x1": (lambda: encode(gradient((1, 1)), "PNG"), 400, "invalid_image"),
    "1x40000 strip": (lambda: handmade_png(1, 40_000), 400, "invalid_image"),
    "20:1 aspect": (lambda: encode(gradient((400, 20)), "PNG"), 400, "invalid_image"),
    "SVG with script": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        400,
        "invalid_image",
    ),
    "EPS": (
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\nshowpage\n",
        400,
        "invalid_image",
    ),
    "TIFF": (_tiff, 400, "invalid_image"),
    "GIF": (_gif, 400, "invalid_image"),
    "ICO": (lambda: encode(gradient((32, 32)), "ICO"), 400, "invalid_image"),
    "HTML as PNG": (lambda: b"<!DOCTYPE html><script>alert(1)</script>", 400, "invalid_image"),
    "animated PNG": (_apng, 400, "invalid_image"),
    "over the size limit": (lambda: b"\x89PNG" + b"\x00" * 70_000, 413, "payload_too_large"),
}


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("images")
    settings = make_settings(data_dir, max_upload_bytes=60_000, max_image_pixels=40_000_000)
    with LiveServer(settings, engine=ResizeEngine()) as live:
        yield live


def _nothing_stored(live: LiveServer) -> bool:
    return not any(path.is_file() for path in live.settings.files_dir.rglob("*"))


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_images_are_refused_by_uploads_and_renders(
    image_server: LiveServer, case: str
) -> None:
    make, status, code = REFUSED[case]
    data = make()
    account = image_server.account(credits=100)
    with image_server.client(account) as client:
        multipart = client.post("/api/v1/uploads", files={"file": ("x.png", data)})
        as_json = client.post(
            "/api/v1/uploads", json={"image_base64": base64.b64encode(data).decode()}
        )
        render = client.post(
            "/api/v1/renders", json={"image_base64": base64.b64encode(data).decode()}
        )
    # An empty image_base64 is no source at all for a render: the request itself is invalid.
    render_code = "invalid_request" if not data else code
    for answer, expected in ((multipart, code), (as_json, code), (render, render_code)):
        assert answer.status_code == status, (case, answer.text)
        assert answer.json()["error"]["code"] == expected, (case, answer.text)
    books = image_server.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)
    with reading(image_server.runtime.db) as session:
        assert session.query(Upload).filter_by(account_id=account.id).count() == 0
        assert session.query(Render).filter_by(account_id=account.id).count() == 0
    assert _nothing_stored(image_server)


@pytest.mark.parametrize(
    "base64_value",
    ["not base64!!", "data:image/png;base64,@@@", "data:text/html,<script>", "A" * 90_000],
)
def test_malformed_or_oversize_base64(image_server: LiveServer, base64_value: str) -> None:
    account = image_server.account(credits=100)
    with image_server.client(account) as client:
        answer = client.post("/api/v1/renders", json={"image_base64": base64_value})
    expected = 413 if len(base64_value) > 80_000 else 400
    assert answer.status_code == expected, answer.text
    assert image_server.books(account).credits == 100


def test_polyglots_and_metadata_are_stripped_on_the_way_in(image_server: LiveServer) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated
    exif[0x8825] = {2: (52.0, 31.0, 0.0)}  # GPS latitude
    jpeg = encode(gradient((120, 80)), "JPEG", exif=exif.tobytes(), comment=b"<script>x</script>")
    png_polyglot = encode(gradient((64, 48)), "PNG") + b"<html><script>alert(1)</script></html>"
    cmyk = encode(gradient((64, 48)).convert("CMYK"), "JPEG")
    sixteen_bit = encode(Image.new("I;16", (64, 48), 40000), "PNG")
    palette_alpha = gradient((64, 48)).convert("P")
    palette_alpha.info["transparency"] = 0
    account = image_server.account(credits=100)
    with image_server.client(account) as client:
        for name, data in {
            "jpeg": jpeg,
            "polyglot": png_polyglot,
            "cmyk": cmyk,
            "16-bit": sixteen_bit,
            "palette+alpha": encode(palette_alpha, "PNG"),
        }.items():
            answer = client.post("/api/v1/uploads", files={"file": (f"{name}", data)})
            assert answer.status_code == 201, (name, answer.text)
            stored = client.get(answer.json()["url"])
            assert stored.headers["x-content-type-options"] == "nosniff"
            assert b"<script" not in stored.content, name
            assert b"<html" not in stored.content, name
            image = open_image(stored.content)
            assert image.mode == "RGB", name
            assert not image.getexif(), name
            if name == "jpeg":
                assert image.size == (80, 120)  # rotated upright, then stripped
    image_server.assert_books_balanced(account)


def test_upload_is_served_as_an_image_never_as_html(image_server: LiveServer) -> None:
    account = image_server.account(credits=100)
    buffer = io.BytesIO()
    gradient((64, 48)).save(buffer, "PNG")
    with image_server.client(account) as client:
        url = client.post("/api/v1/uploads", files={"file": ("a.html", buffer.getvalue())}).json()[
            "url"
        ]
        served = client.get(url)
    assert url.endswith(".png")
    assert served.headers["content-type"] == "image/png"
    assert "sandbox" in served.headers["content-security-policy"]
