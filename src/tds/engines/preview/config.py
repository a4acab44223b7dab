"""The preview engine's settings, read from `TDS_PREVIEW_*` environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.common.settings import EngineSettings

UPSCALER_ENV = "TDS_PREVIEW_UPSCALER"
UPSCALERS = ("auto", "fast", "realesrgan")


class PreviewConfig(EngineSettings):
    model_config = SettingsConfigDict(env_prefix="TDS_PREVIEW_")

    upscaler: str = Field(
        default="auto",
        description="How enhance upscales: auto (Real-ESRGAN when installed and the input is "
        "small enough), fast, or realesrgan (see docs/preview-engine.md).",
    )

    @field_validator("upscaler")
    @classmethod
    def _upscaler(cls, value: str) -> str:
        value = value.strip().casefold() or "auto"  # any case; empty is the default
        if value not in UPSCALERS:
            raise ValueError(f"{UPSCALER_ENV}={value!r}: choose one of {', '.join(UPSCALERS)}")
        return value
