from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow


class RenderStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


IN_FLIGHT = (RenderStatus.QUEUED, RenderStatus.PROCESSING)
FINAL = (RenderStatus.DONE, RenderStatus.FAILED, RenderStatus.CANCELED)


class Render(Base):
    __tablename__ = "renders"
    __table_args__ = (Index(None, "account_id", "created_at"), Index(None, "status"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    api_key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("renders.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=RenderStatus.QUEUED)  # a RenderStatus
    source: Mapped[str] = mapped_column(String(32), default="api")
    project: Mapped[str | None] = mapped_column(String(100), default=None)  # a project code

    # Options, canonical catalogue ids.
    scene_type: Mapped[str] = mapped_column(String(32))
    architectural_style: Mapped[str | None] = mapped_column(String(32), default=None)
    lighting: Mapped[str | None] = mapped_column(String(32), default=None)
    resolution: Mapped[str] = mapped_column(String(8))
    prompt: Mapped[str] = mapped_column(Text, default="")
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    geometry_fidelity: Mapped[float] = mapped_column(Float)
    strength: Mapped[float] = mapped_column(Float)
    input_type: Mapped[str | None] = mapped_column(String(16), default=None)
    min_fidelity: Mapped[float | None] = mapped_column(Float, default=None)

    width: Mapped[int] = mapped_column(Integer)  # output size
    height: Mapped[int] = mapped_column(Integer)
    input_key: Mapped[str] = mapped_column(String(200))
    output_key: Mapped[str | None] = mapped_column(String(200), default=None)
    video_key: Mapped[str | None] = mapped_column(String(200), default=None)

    cost: Mapped[int] = mapped_column(Integer)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    hold_id: Mapped[str | None] = mapped_column(ForeignKey("holds.id"), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    engine: Mapped[str | None] = mapped_column(String(64), default=None)  # the one that made it
    fidelity_score: Mapped[float | None] = mapped_column(Float, default=None)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
