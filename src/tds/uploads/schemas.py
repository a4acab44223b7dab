from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_base64: str = Field(description="A PNG, JPEG or WebP image, base64 or a data: URI.")


class Upload(BaseModel):
    object: Literal["upload"] = "upload"
    id: str
    url: str = Field(description="Public, unguessable URL; pass it as image_url to a render.")
    content_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime
