"""Objects in an S3-compatible bucket (AWS S3, MinIO, R2, Garage, …), through boto3.

Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a
profile, an instance or task role); tds has no settings of its own for them. Clients download
objects straight from the bucket: at `<public_url>/<key>` when the bucket (or a CDN in front of
it) is public, else at a presigned GET URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tds.storage.base import CACHE_CONTROL, StorageUnavailable, content_type, is_valid_key

# Connect fast, read a 25 MiB object at leisure, retry throttling and 5xx a few times.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"total_max_attempts": 3, "mode": "standard"},
    max_pool_connections=40,  # anyio's default worker threads, each possibly in a call
    signature_version="s3v4",
)

_MISSING = {"NoSuchKey", "404", "NotFound"}
_HINT = (
    "Check TDS_S3_BUCKET, TDS_S3_ENDPOINT_URL, TDS_S3_REGION and the AWS credentials "
    "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role)."
)


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING


def _prefix(url: str) -> str:
    """`url` without query or fragment, scheme and host lowercased: what own URLs share."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        public_url: str | None = None,
        url_expiry_seconds: int = 3600,
    ) -> None:
        self.bucket = bucket
        self.public_url = public_url.rstrip("/") if public_url else None
        self.url_expiry_seconds = url_expiry_seconds
        # Path-style addressing (<endpoint>/<bucket>/<key>) is what self-hosted S3-compatible
        # servers serve by default; AWS itself gets botocore's choice.
        config = CLIENT_CONFIG.merge(
            Config(s3={"addressing_style": "path" if endpoint_url else "auto"})
        )
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
        # Where this bucket's presigned URLs point, up to the key (signed offline).
        probe = "uploads/" + "x" * 32 + ".png"
        try:
            self._object_prefixes = [_prefix(self._presign(probe)).removesuffix(probe)]
        except BotoCoreError as error:  # no credentials anywhere in boto3's chain
            raise StorageUnavailable(f"Cannot sign S3 requests: {error}. {_HINT}") from error
        if self.public_url:
            self._object_prefixes.append(_prefix(self.public_url) + "/")

    def check(self) -> None:
        """Fail with StorageUnavailable unless the bucket answers to these credentials."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} is not reachable at "
                f"{self.client.meta.endpoint_url}: {error}. {_HINT}"
            ) from error

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._checked(key),
            Body=data,
            ContentType=content_type(key),
            CacheControl=CACHE_CONTROL,
        )

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._checked(key))
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        with response["Body"] as body:
            data: bytes = body.read()
        return data

    def delete(self, key: str) -> None:
        # S3 answers 204 whether or not the object was there.
        self.client.delete_object(Bucket=self.bucket, Key=self._checked(key))

    def exists(self, key: str) -> bool:
        if not is_valid_key(key):
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def url(self, base: str, key: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{key}"
        return self._presign(key)

    def key_for_url(self, url: str) -> str | None:
        """The key of a public or presigned URL of this bucket (its query, signature included,
        is ignored: the key is the capability, as in a /files/ URL)."""
        try:
            prefix = _prefix(url)
        except ValueError:
            return None
        for own in self._object_prefixes:
            if prefix.startswith(own):
                key = prefix.removeprefix(own)
                return key if is_valid_key(key) else None
        return None

    def close(self) -> None:
        self.client.close()

    def _presign(self, key: str) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.url_expiry_seconds,
        )
        return url

    @staticmethod
    def _checked(key: str) -> str:
        if not is_valid_key(key):  # keys come from URLs too: refuse anything else, as local does
            raise FileNotFoundError(key)
        return key
