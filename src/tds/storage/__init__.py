"""Blob storage for uploads, render inputs and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tds.storage.base import Storage, StorageUnavailable
from tds.storage.local import LocalStorage

if TYPE_CHECKING:
    from tds.config import Settings

__all__ = ["LocalStorage", "Storage", "StorageUnavailable", "open_storage"]


def open_storage(settings: Settings) -> Storage:
    """The backend the settings choose, checked: an S3 bucket that does not answer raises
    StorageUnavailable here, at start-up, rather than on the first upload."""
    if settings.storage == "local":
        return LocalStorage(settings.files_dir)
    if not settings.s3_bucket:
        raise StorageUnavailable("TDS_STORAGE=s3 needs TDS_S3_BUCKET, the bucket's name.")
    from tds.storage.s3 import S3Storage  # boto3 loads only for servers that use it

    storage = S3Storage(
        settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        public_url=settings.s3_public_url,
        url_expiry_seconds=settings.s3_url_expiry_seconds,
    )
    try:
        storage.check()
    except StorageUnavailable:
        storage.close()
        raise
    return storage
