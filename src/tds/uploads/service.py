from __future__ import annotations

from sqlalchemy.orm import Session

from tds.images.intake import CleanImage
from tds.kit.ids import new_id
from tds.models import Upload
from tds.storage.base import Put, new_key


def create(session: Session, put: Put, account_id: str, image: CleanImage) -> Upload:
    """Store the image and its row (the caller commits, with `put` staged on that transaction)."""
    upload = Upload(
        id=new_id("upl"),
        account_id=account_id,
        storage_key=new_key("uploads", image.extension),
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
    )
    put(upload.storage_key, image.data)
    session.add(upload)
    session.flush()
    return upload
