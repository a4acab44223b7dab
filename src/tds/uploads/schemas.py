from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tds.api.text import Text


class UploadCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"image_base64": "iVBORw0KGgo…"}]}
    )

    image_base64: Text = Field(description="A PNG, JPEG or WebP image, base64 or a data: URI.")


class Upload(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "upload",
                    "id": "upl_7Hc2pQ9sLx4mN0bV3kTr",
                    "url": "https://tds.example.com/files/uploads/Yq3…Rw.png",
                    "content_type": "image/png",
                    "width": 1920,
                    "height": 1080,
                    "size_bytes": 845112,
                    "created_at": "2026-11-28T12:00:00Z",
                }
            ]
        }
    )

    object: Literal["upload"] = "upload"
    id: str
    url: str = Field(description="Public, unguessable URL; pass it as image_url to a render.")
    content_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime
