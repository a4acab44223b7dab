"""The storage contract, on the local folder and on an S3 bucket (SeaweedFS on loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tds.config import MAX_PRESIGN_SECONDS, Settings
from tds.storage import LocalStorage, Storage, StorageUnavailable, open_storage
from tds.storage.base import CACHE_CONTROL, new_key, staged
from tds.storage.s3 import S3Storage
from tests.storage.conftest import REGION, S3Server
from tests.support.servers import free_port

INVALID_KEYS = [
    "../tds.db",
    "uploads/../../etc/passwd",
    "uploads/short.png",
    "secrets/" + "a" * 32 + ".png",
    "uploads/" + "a" * 32 + ".exe",
    "/uploads/" + "a" * 32 + ".png",
]


def s3_storage(
    s3: S3Server, bucket: str, *, public_url: str | None = None, url_expiry_seconds: int = 3600
) -> S3Storage:
    return S3Storage(
        bucket,
        endpoint_url=s3.endpoint_url,
        region=REGION,
        public_url=public_url,
        url_expiry_seconds=url_expiry_seconds,
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    backend: Storage
    if request.param == "local":
        backend = LocalStorage(tmp_path / "files")
    else:  # the S3 server only for the S3 cases
        backend = s3_storage(request.getfixturevalue("s3"), request.getfixturevalue("bucket"))
    yield backend
    backend.close()


def test_put_get_exists_delete(storage: Storage) -> None:
    key = new_key("renders", "jpg")
    assert not storage.exists(key)
    storage.put(key, b"\xff\xd8first")
    assert storage.exists(key)
    assert storage.get(key) == b"\xff\xd8first"
    storage.put(key, b"\xff\xd8second")  # a rewrite replaces the whole object
    assert storage.get(key) == b"\xff\xd8second"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # already gone: no error


def test_missing_key_is_file_not_found(storage: Storage) -> None:
    key = new_key("uploads", "png")
    with pytest.raises(FileNotFoundError):
        storage.get(key)


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(FileNotFoundError):
        storage.put(key, b"x")
    with pytest.raises(FileNotFoundError):
        storage.get(key)
    with pytest.raises(FileNotFoundError):
        storage.delete(key)
    assert not storage.exists(key)


def test_staged_writes_are_undone_when_the_block_fails(storage: Storage) -> None:
    kept, dropped = new_key("uploads", "png"), new_key("inputs", "png")
    with staged(storage) as put:
        put(kept, b"kept")

    def failing_unit_of_work() -> None:
        with staged(storage) as put:
            put(dropped, b"dropped")
            raise RuntimeError("the transaction rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        failing_unit_of_work()
    assert storage.get(kept) == b"kept"
    assert not storage.exists(dropped)


def test_objects_carry_their_type_and_cache_policy(s3: S3Server, bucket: str) -> None:
    storage = s3_storage(s3, bucket)
    for area, extension, expected in [
        ("uploads", "png", "image/png"),
        ("renders", "jpg", "image/jpeg"),
        ("renders", "mp4", "video/mp4"),
    ]:
        key = new_key(area, extension)
        storage.put(key, b"data")
        head = storage.client.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == expected
        assert head["CacheControl"] == CACHE_CONTROL
    storage.close()


def test_presigned_url_downloads_and_only_signed(s3: S3Server, bucket: str) -> None:
    storage = s3_storage(s3, bucket, url_expiry_seconds=900)
    key = new_key("renders", "jpg")
    storage.put(key, b"\xff\xd8jpeg bytes")
    url = storage.url("http://ignored.example", key)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3.endpoint_url
    assert parts.path == f"/{bucket}/{key}"  # path-style on a custom endpoint
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].startswith("tds-test-key/")
    assert f"/{REGION}/s3/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Signature"][0]

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"\xff\xd8jpeg bytes"
    assert response.headers["content-type"] == "image/jpeg"
    # The bucket is private: the same address without the signature is refused.
    assert httpx.get(url.split("?", 1)[0]).status_code == 403
    storage.close()


def test_tampered_presigned_urls_are_refused(s3: S3Server, bucket: str) -> None:
    storage = s3_storage(s3, bucket, url_expiry_seconds=900)
    key, other = new_key("renders", "jpg"), new_key("renders", "jpg")
    storage.put(key, b"\xff\xd8mine")
    storage.put(other, b"\xff\xd8someone else's")
    url = storage.url("", key)
    assert httpx.get(url).status_code == 200
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for tampered in [
        url.replace(f"X-Amz-Signature={signature}", f"X-Amz-Signature={forged}"),
        url.replace(key, other),  # another object under this object's signature
        url.replace("X-Amz-Expires=900", "X-Amz-Expires=604800"),  # a longer life
        url.replace("X-Amz-Credential=tds-test-key", "X-Amz-Credential=someone-else"),
    ]:
        assert tampered != url
        response = httpx.get(tampered)
        assert response.status_code == 403, tampered
        assert b"\xff\xd8" not in response.content
    storage.close()


def test_expired_presigned_urls_are_refused(s3: S3Server, bucket: str) -> None:
    storage = s3_storage(s3, bucket, url_expiry_seconds=1)
    key = new_key("uploads", "png")
    storage.put(key, b"\x89PNG short-lived")
    # A signing time is a whole second (X-Amz-Date): sign early in one, so that the URL still
    # has most of its one second of life when it is first used.
    while time.time() % 1 > 0.2:
        time.sleep(0.01)
    url = storage.url("", key)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["1"]
    assert httpx.get(url).status_code == 200
    time.sleep(2.1)  # past the signing second + 1 s
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert b"expired" in expired.content
    assert storage.key_for_url(url) == key  # still ours: the key is the capability
    storage.close()


def test_public_url_mode(s3: S3Server, bucket: str) -> None:
    """With TDS_S3_PUBLIC_URL the URLs are plain `<public_url>/<key>`: here the bucket itself,
    made publicly readable by a bucket policy as a deployment would (or a CDN in front)."""
    s3.allow_public_reads(bucket)
    public = f"{s3.endpoint_url}/{bucket}/"  # a trailing slash is tolerated
    storage = s3_storage(s3, bucket, public_url=public)
    key = new_key("uploads", "png")
    storage.put(key, b"\x89PNG public")
    url = storage.url("http://ignored.example", key)
    assert url == f"{s3.endpoint_url}/{bucket}/{key}"
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"\x89PNG public"
    assert response.headers["cache-control"] == CACHE_CONTROL
    assert storage.key_for_url(url) == key
    storage.close()


def test_key_for_url_knows_this_buckets_urls_only(s3: S3Server, bucket: str) -> None:
    storage = s3_storage(s3, bucket, public_url="https://CDN.example.com/tds")
    key = new_key("renders", "jpg")
    presigned = storage.url("", key)
    assert storage.key_for_url(presigned) == key
    assert storage.key_for_url(presigned.split("?", 1)[0]) == key  # signature or not
    assert storage.key_for_url(f"https://cdn.example.com/tds/{key}") == key
    assert storage.key_for_url(f"https://cdn.example.com/tds/{key}?v=1#x") == key
    endpoint = urlsplit(s3.endpoint_url)
    for url in [
        f"{s3.endpoint_url}/another-bucket/{key}",  # same server, another bucket
        f"http://{endpoint.hostname}:{free_port()}/{bucket}/{key}",  # another port
        f"https://{endpoint.netloc}/{bucket}/{key}",  # another scheme
        f"https://cdn.example.com/other/{key}",
        f"https://cdn.example.com.evil.test/tds/{key}",
        f"https://cdn.example.com/tds/{key}/../../x",
        f"https://cdn.example.com/tds/uploads/{'a' * 32}.svg",
        f"{s3.endpoint_url}/{bucket}/../{key}",
        "https://cdn.example.com/tds/",
        "not a url at all",
        "http://[::1",  # unparseable
    ]:
        assert storage.key_for_url(url) is None, url
    storage.close()


def test_local_storage_has_no_urls_of_its_own(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = new_key("uploads", "png")
    assert storage.url("http://h:1", key) == f"http://h:1/files/{key}"
    assert storage.key_for_url(f"http://h:1/files/{key}") is None  # storage.urls.own_key's job


def test_open_storage_follows_the_settings(tmp_path: Path, s3: S3Server, bucket: str) -> None:
    assert isinstance(open_storage(Settings(data_dir=tmp_path)), LocalStorage)
    storage = open_storage(
        Settings(
            data_dir=tmp_path,
            storage="s3",
            s3_bucket=bucket,
            s3_endpoint_url=s3.endpoint_url,
            s3_region=REGION,
            s3_url_expiry_seconds=60,
        )
    )
    assert isinstance(storage, S3Storage)
    assert storage.bucket == bucket
    assert "X-Amz-Expires=60&" in storage.url("", new_key("uploads", "png"))
    storage.close()


def test_open_storage_refuses_what_cannot_work(tmp_path: Path, s3: S3Server) -> None:
    with pytest.raises(StorageUnavailable, match="TDS_S3_BUCKET"):
        open_storage(Settings(data_dir=tmp_path, storage="s3"))
    with pytest.raises(StorageUnavailable, match="'no-such-bucket' is not reachable"):
        open_storage(
            Settings(
                data_dir=tmp_path,
                storage="s3",
                s3_bucket="no-such-bucket",
                s3_endpoint_url=s3.endpoint_url,
            )
        )
    nothing_there = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StorageUnavailable, match="Could not connect"):
        open_storage(
            Settings(
                data_dir=tmp_path, storage="s3", s3_bucket="b-1", s3_endpoint_url=nothing_there
            )
        )


def test_open_storage_refuses_wrong_credentials(
    tmp_path: Path, s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    settings = Settings(
        data_dir=tmp_path,
        storage="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3.endpoint_url,
        s3_region=REGION,
    )
    with pytest.raises(StorageUnavailable, match=rf"'{bucket}' is not reachable.*\(403\)"):
        open_storage(settings)


def test_presigned_expiry_is_bounded_by_sigv4() -> None:
    assert Settings().s3_url_expiry_seconds == MAX_PRESIGN_SECONDS == 7 * 24 * 3600
    for bad in (0, MAX_PRESIGN_SECONDS + 1):
        with pytest.raises(ValueError, match="s3_url_expiry_seconds"):
            Settings(s3_url_expiry_seconds=bad)
