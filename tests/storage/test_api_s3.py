"""The API on S3 storage end to end: a real tds server and SeaweedFS's S3 server, on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tds.server import lifespan
from tds.storage import StorageUnavailable
from tds.storage.s3 import S3Storage
from tests.storage.conftest import REGION, S3Server
from tests.support.http import assert_error
from tests.support.images import fixture_bytes, open_image
from tests.support.servers import LiveServer, make_settings

MakeServer = Callable[..., LiveServer]


def s3_server(
    make_server: MakeServer, s3: S3Server, bucket: str, **overrides: object
) -> LiveServer:
    return make_server(
        storage="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3.endpoint_url,
        s3_region=REGION,
        **overrides,
    )


def key_of(url: str, bucket: str) -> str:
    path = urlsplit(url).path
    assert path.startswith(f"/{bucket}/"), url
    return path.removeprefix(f"/{bucket}/")


def render(client: httpx.Client, image_url: str) -> httpx.Response:
    return client.post("/api/v1/renders", json={"image_url": image_url, "resolution": "1k"})


def test_upload_render_and_feed_the_output_back(
    make_server: MakeServer, s3: S3Server, bucket: str
) -> None:
    live = s3_server(make_server, s3, bucket)
    assert isinstance(live.runtime.storage, S3Storage)
    account = live.account(credits=100)
    with live.client(account) as client:
        uploaded = client.post(
            "/api/v1/uploads", files={"file": ("house.png", fixture_bytes("house.png"))}
        )
        assert uploaded.status_code == 201, uploaded.text
        upload_url = uploaded.json()["url"]
        assert upload_url.startswith(f"{s3.endpoint_url}/{bucket}/uploads/")
        assert "X-Amz-Signature=" in upload_url
        image = httpx.get(upload_url)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert open_image(image.content).size == (512, 512)

        # The upload's bucket URL comes back as image_url: read from the bucket by key. Had
        # the server fetched it instead, the SSRF guard would have refused the loopback host.
        first = render(client, upload_url)
        assert first.status_code == 200, first.text
        done = first.json()["render"]
        assert done["status"] == "done"
        output_url = done["output_image_url"]
        assert output_url.startswith(f"{s3.endpoint_url}/{bucket}/renders/")
        assert done["input_image_url"].startswith(f"{s3.endpoint_url}/{bucket}/inputs/")
        output = httpx.get(output_url)
        assert output.status_code == 200
        assert output.headers["content-type"] == "image/jpeg"
        assert open_image(output.content).format == "JPEG"

        # The output fed back as the next render's source: read from storage too.
        second = render(client, output_url)
        assert second.status_code == 200, second.text
        assert second.json()["render"]["status"] == "done"
        # So is the output's URL without its signature (the key is the capability).
        assert render(client, output_url.split("?", 1)[0]).status_code == 200

        # Another bucket on the same S3 server is not ours: fetched, and refused (loopback).
        foreign = f"{s3.endpoint_url}/someone-else/{key_of(output_url, bucket)}"
        assert_error(render(client, foreign), 400, "image_url_unfetchable")
        # One of our keys that does not exist: the same answer as any unfetchable URL.
        missing = f"{s3.endpoint_url}/{bucket}/uploads/{'a' * 32}.png"
        assert_error(render(client, missing), 400, "image_url_unfetchable")

    # Nothing went to the local folder.
    files = live.settings.files_dir
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


def test_an_expired_bucket_url_is_still_a_valid_image_url(
    make_server: MakeServer, s3: S3Server, bucket: str
) -> None:
    """The bucket refuses an expired presigned URL; tds reads its object by key all the same."""
    live = s3_server(make_server, s3, bucket, s3_url_expiry_seconds=1)
    account = live.account(credits=100)
    with live.client(account) as client:
        uploaded = client.post(
            "/api/v1/uploads", files={"file": ("house.png", fixture_bytes("house.png"))}
        )
        assert uploaded.status_code == 201, uploaded.text
        url = uploaded.json()["url"]
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["1"]
        time.sleep(2.1)
        assert httpx.get(url).status_code == 403  # expired
        done = render(client, url)
        assert done.status_code == 200, done.text
        assert done.json()["render"]["status"] == "done"
        output_key = key_of(done.json()["render"]["output_image_url"], bucket)
        assert live.runtime.storage.exists(output_key)


def test_files_urls_redirect_to_the_bucket(
    make_server: MakeServer, s3: S3Server, bucket: str
) -> None:
    live = s3_server(make_server, s3, bucket, s3_url_expiry_seconds=600)
    account = live.account()
    with live.client(account) as client:
        url = client.post(
            "/api/v1/uploads", files={"file": ("house.png", fixture_bytes("house.png"))}
        ).json()["url"]
        key = key_of(url, bucket)

        redirect = client.get(f"/files/{key}")
        assert redirect.status_code == 307
        assert redirect.headers["cache-control"] == "no-store"
        location = redirect.headers["location"]
        assert location.startswith(f"{s3.endpoint_url}/{bucket}/{key}?")
        assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["600"]
        followed = client.get(f"/files/{key}", follow_redirects=True)
        assert followed.status_code == 200
        assert followed.content == httpx.get(url).content
        assert open_image(followed.content).size == (512, 512)

        # A /files/ URL of this server as image_url is read from the bucket as well.
        assert render(client, f"{live.url}/files/{key}").status_code == 200

        for path in [f"/files/uploads/{'a' * 32}.png", "/files/../tds.db", "/files/x"]:
            assert_error(client.get(path), 404, "not_found")


def test_public_url_mode_end_to_end(make_server: MakeServer, s3: S3Server, bucket: str) -> None:
    s3.allow_public_reads(bucket)
    public = f"{s3.endpoint_url}/{bucket}"
    live = s3_server(make_server, s3, bucket, s3_public_url=public)
    account = live.account()
    with live.client(account) as api:
        url = api.post(
            "/api/v1/uploads", files={"file": ("house.png", fixture_bytes("house.png"))}
        ).json()["url"]
        assert url.startswith(f"{public}/uploads/")
        assert "?" not in url
        assert httpx.get(url).status_code == 200
        done = render(api, url)
        assert done.status_code == 200, done.text
        output_url = done.json()["render"]["output_image_url"]
        assert output_url.startswith(f"{public}/renders/")
        assert "?" not in output_url
        assert open_image(httpx.get(output_url).content).format == "JPEG"
        assert render(api, output_url).status_code == 200
        redirect = api.get(f"/files/{key_of(output_url, bucket)}")
        assert redirect.status_code == 307
        assert redirect.headers["location"] == output_url


def test_idempotent_upload_replay_signs_a_fresh_url(
    make_server: MakeServer, s3: S3Server, bucket: str
) -> None:
    live = s3_server(make_server, s3, bucket)
    account = live.account()
    headers = {"Idempotency-Key": "upload-replay-1"}
    image = fixture_bytes("house.png")
    with live.client(account) as client:
        first = client.post("/api/v1/uploads", files={"file": ("a.png", image)}, headers=headers)
        assert first.status_code == 201, first.text
        signed_at = parse_qs(urlsplit(first.json()["url"]).query)["X-Amz-Date"][0]
        # Presigned URLs carry their signing time to the second: wait for the next one.
        while time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) <= signed_at:
            time.sleep(0.05)
        again = client.post("/api/v1/uploads", files={"file": ("a.png", image)}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    replayed, original = again.json(), first.json()
    assert replayed["id"] == original["id"]
    assert replayed | {"url": None} == original | {"url": None}
    assert replayed["url"] != original["url"]
    assert parse_qs(urlsplit(replayed["url"]).query)["X-Amz-Date"][0] > signed_at
    assert key_of(replayed["url"], bucket) == key_of(original["url"], bucket)
    assert httpx.get(replayed["url"]).content == httpx.get(original["url"]).content


def test_a_bucket_that_does_not_answer_stops_the_start(tmp_path: Path, s3: S3Server) -> None:
    settings = make_settings(
        tmp_path,
        storage="s3",
        s3_bucket="tds-never-created",
        s3_endpoint_url=s3.endpoint_url,
        s3_region=REGION,
    )
    with pytest.raises(StorageUnavailable, match="'tds-never-created' is not reachable"):
        lifespan.start(settings)
    assert not (tmp_path / "tds.db").exists()  # checked before anything was migrated
