from __future__ import annotations

from sqlalchemy.orm import Session

from tds.images.intake import CleanImage
from tds.kit.ids import new_id
from tds.models import Upload
from tds.storage.base import Storage, new_key


def create(session: Session, storage: Storage, account_id: str, image: CleanImage) -> Upload:
    """Store the image and its row; the file is removed again if the row cannot be written."""
    upload = Upload(
        id=new_id("upl"),
        account_id=account_id,
        storage_key=new_key("uploads", image.extension),
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
    )
    storage.put(upload.storage_key, image.data)
    try:
        session.add(upload)
        session.flush()
    except BaseException:
        storage.delete(upload.storage_key)
        raise
    return upload
