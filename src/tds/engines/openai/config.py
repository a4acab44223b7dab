"""The openai engine's settings, read from `TDS_OPENAI_*` environment variables (see
docs/engines.md). Only these are read: the engine passes the key, base URL, organization,
project and timeouts to the SDK itself, so the SDK's own OPENAI_* variables are not used for
them."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.base import Kind
from tds.engines.common.hosted import HostedSettings
from tds.engines.openai import models

# What the Images API can honestly do for us (see engine.py for why not enhance or video).
SERVED: frozenset[Kind] = frozenset({"render", "refine", "staging"})

Quality = Literal["low", "medium", "high", "xhigh", "max", "auto"]


class OpenAISettings(HostedSettings):
    """One field per variable, TDS_OPENAI_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TDS_OPENAI_")

    base_url: str = "https://api.openai.com/v1"
    # OpenAI's current editing model; gpt-image-1 was shut down on 2026-10-23.
    model: str = "gpt-image-2.5-sunburst"
    kinds: frozenset[Kind] = SERVED
    quality: Quality = "high"
    organization: str = ""  # sent as OpenAI-Organization when set
    project: str = ""  # sent as OpenAI-Project when set
    max_pixels: int = models.STABLE_PIXELS  # the largest size asked of a flexible-size model

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("TDS_OPENAI_BASE_URL must be an http(s) URL")
        if not self.model.strip():
            raise ValueError("TDS_OPENAI_MODEL must name a GPT Image model")
        if not self.kinds:
            raise ValueError(f"TDS_OPENAI_KINDS is empty; choose from {', '.join(sorted(SERVED))}")
        if self.kinds - SERVED:
            extra = ", ".join(sorted(self.kinds - SERVED))
            raise ValueError(
                f"TDS_OPENAI_KINDS: the openai engine does not do {extra} (OpenAI's Images API "
                f"has no upscaler and no video); choose from {', '.join(sorted(SERVED))}"
            )
        if self.timeout_seconds <= 0 or self.request_timeout_seconds <= 0 or self.retries < 0:
            raise ValueError(
                "TDS_OPENAI_TIMEOUT_SECONDS and _REQUEST_TIMEOUT_SECONDS must be > 0, "
                "TDS_OPENAI_RETRIES ≥ 0"
            )
        if not models.MIN_PIXELS <= self.max_pixels <= models.MAX_PIXELS:
            raise ValueError(
                f"TDS_OPENAI_MAX_PIXELS must be {models.MIN_PIXELS}–{models.MAX_PIXELS} "
                "(OpenAI's limits)"
            )
        qualities = models.lookup(self.model).qualities
        if qualities is not None and self.quality not in qualities:
            raise ValueError(
                f"TDS_OPENAI_QUALITY={self.quality}: {self.model} takes "
                f"{', '.join(sorted(qualities))}"
            )
        return self
