"""The gemini engine's settings, read from `TDS_GEMINI_*` environment variables."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.base import Kind
from tds.engines.common.hosted import HostedSettings

# What an instruction-following image editor can do with one image; enhance (an upscale that
# changes nothing) and video are not what Gemini's image models make.
SUPPORTED: frozenset[Kind] = frozenset({"render", "refine", "staging"})
DEFAULT_MODEL = "gemini-3.1-flash-image"  # Nano Banana 2, GA (gemini-2.5-flash-image is shut down)
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

# "auto": the job's own long edge (1k → 1K, 2k → 2K, 4k → 4K); "none": send no imageSize, for
# models without it (gemini-2.5-flash-image answers about 1024 px whatever is asked).
ImageSize = Literal["auto", "1K", "2K", "4K", "none"]


class GeminiSettings(HostedSettings):
    """One field per variable, TDS_GEMINI_<NAME> (see docs/engines.md)."""

    model_config = SettingsConfigDict(env_prefix="TDS_GEMINI_")

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    kinds: frozenset[Kind] = SUPPORTED
    image_size: ImageSize = "auto"

    @field_validator("base_url", "model")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("TDS_GEMINI_BASE_URL must be an http(s) URL")
        if not self.model:
            raise ValueError("TDS_GEMINI_MODEL must name a Gemini image model")
        if not self.kinds or not self.kinds <= SUPPORTED:
            raise ValueError(
                "TDS_GEMINI_KINDS must be some of render, refine, staging "
                "(Gemini's image models edit one image; they do not upscale or make video)"
            )
        if self.timeout_seconds <= 0 or self.request_timeout_seconds <= 0:
            raise ValueError("TDS_GEMINI_TIMEOUT_SECONDS and _REQUEST_TIMEOUT_SECONDS must be > 0")
        if self.retries < 0:
            raise ValueError("TDS_GEMINI_RETRIES must not be negative")
        return self
