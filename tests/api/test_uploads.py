from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tds.models import Upload
from tests.support.db import reading
from tests.support.http import assert_error
from tests.support.images import fixture_bytes, open_image, png_bytes
from tests.support.servers import LiveServer


def _stored_files(server: LiveServer) -> set[str]:
    root = server.settings.files_dir
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_multipart_upload_is_stored_and_served(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        response = client.post(
            "/api/v1/uploads", files={"file": ("house.png", fixture_bytes("house.png"))}
        )
        assert response.status_code == 201, response.text
        upload = response.json()
        assert upload["width"] == 512
        assert upload["height"] == 512
        assert upload["content_type"] == "image/png"
        served = client.get(upload["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["x-content-type-options"] == "nosniff"
    assert open_image(served.content).size == (512, 512)
    # The URL is a capability: long and random, not derived from the name or the account.
    assert "house" not in upload["url"]
    assert len(upload["url"].rsplit("/", 1)[1]) >= 32


def test_json_base64_upload_and_data_uri(server: LiveServer) -> None:
    account = server.account()
    raw = png_bytes(300, 200)
    with server.client(account) as client:
        plain = client.post(
            "/api/v1/uploads", json={"image_base64": base64.b64encode(raw).decode()}
        )
        data_uri = "data:image/png;base64," + base64.b64encode(raw).decode()
        uri = client.post("/api/v1/uploads", json={"image_base64": data_uri})
    assert plain.status_code == 201, plain.text
    assert uri.status_code == 201, uri.text
    assert (plain.json()["width"], plain.json()["height"]) == (300, 200)


def test_jpeg_with_exif_is_rotated_and_stripped(server: LiveServer) -> None:
    image = Image.new("RGB", (400, 200), (120, 130, 140))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    exif[0x010F] = "SecretCam"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    account = server.account()
    with server.client(account) as client:
        upload = client.post("/api/v1/uploads", files={"file": ("a.jpg", buffer.getvalue())}).json()
        served = client.get(upload["url"]).content
    assert (upload["width"], upload["height"]) == (200, 400)
    assert b"SecretCam" not in served
    assert not open_image(served).getexif()


def test_refused_uploads_store_nothing(server: LiveServer) -> None:
    account = server.account()
    before = _stored_files(server)
    with server.client(account) as client:
        with reading(server.runtime.db) as session:
            rows_before = session.query(Upload).count()
        assert_error(
            client.post("/api/v1/uploads", files={"file": ("a.svg", b"<svg onload=alert(1)/>")}),
            400,
            "invalid_image",
        )
        assert_error(
            client.post("/api/v1/uploads", json={"image_base64": "not base64 !!"}),
            400,
            "invalid_image",
        )
        assert_error(client.post("/api/v1/uploads", json={}), 400, "invalid_request")
        assert_error(client.post("/api/v1/uploads", content=b"hello"), 400, "invalid_request")
        assert_error(
            client.post("/api/v1/uploads", files={"other": ("a.png", png_bytes())}),
            400,
            "invalid_request",
        )
        with reading(server.runtime.db) as session:
            assert session.query(Upload).count() == rows_before
    assert _stored_files(server) == before


def test_oversize_body_is_413_declared_or_chunked(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(max_upload_bytes=50_000)
    account = live.account()
    big = b"0" * 200_000
    with live.client(account) as client:
        declared = client.post("/api/v1/uploads", files={"file": ("a.png", big)})
        assert_error(declared, 413, "payload_too_large")

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(20):
                yield b"0" * 10_000

        chunked = client.post(
            "/api/v1/uploads", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_error(chunked, 413, "payload_too_large")
        # Over the image limit but under the body limit: the image check answers 413 too.
        assert_error(
            client.post("/api/v1/uploads", files={"file": ("a.png", b"0" * 60_000)}),
            413,
            "payload_too_large",
        )


def test_upload_idempotency_replays_and_conflicts(server: LiveServer) -> None:
    account = server.account()
    headers = {"Idempotency-Key": "upload-1"}
    with server.client(account) as client:
        first = client.post(
            "/api/v1/uploads", files={"file": ("a.png", png_bytes())}, headers=headers
        )
        again = client.post(
            "/api/v1/uploads", files={"file": ("b.png", png_bytes())}, headers=headers
        )
        other = client.post(
            "/api/v1/uploads",
            files={"file": ("a.png", png_bytes(color=(9, 9, 9)))},
            headers=headers,
        )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_error(other, 409, "idempotency_conflict")


def test_unknown_file_is_404_json(server: LiveServer) -> None:
    with server.client() as client:
        for path in ["/files/uploads/" + "a" * 32 + ".png", "/files/../tds.db", "/files/x"]:
            assert_error(client.get(path), 404, "not_found")


def test_oversize_body_from_a_plain_client_gets_the_413_not_a_reset(make_server) -> None:  # type: ignore[no-untyped-def]
    """urllib sends the whole body without waiting (no Expect: 100-continue)."""
    import json
    import urllib.error
    import urllib.request

    live = make_server(max_upload_bytes=50_000)
    account = live.account()
    request = urllib.request.Request(
        f"{live.url}/api/v1/uploads",
        data=json.dumps({"image_base64": "A" * 400_000}).encode(),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["error"]["code"] == "payload_too_large"
    refused.value.close()
