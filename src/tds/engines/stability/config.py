"""The stability engine's settings, read from `TDS_STABILITY_*` environment variables.

Stability's control, inpaint and upscale endpoints take no model parameter (each path is one
model), so `TDS_STABILITY_MODEL` selects what there is to choose: the upscaler behind enhance,
`conservative` (generative, keeps the picture, 4 MP out) or `fast` (4×, about a second).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.base import Kind
from tds.engines.common.hosted import HostedSettings

BASE_URL = "https://api.stability.ai"
KINDS: frozenset[Kind] = frozenset({"render", "refine", "staging", "enhance"})

Upscaler = Literal["conservative", "fast"]
OutputFormat = Literal["png", "jpeg", "webp"]


class StabilitySettings(HostedSettings):
    """One field per variable, TDS_STABILITY_<NAME> (see docs/engines.md)."""

    model_config = SettingsConfigDict(env_prefix="TDS_STABILITY_")

    base_url: str = BASE_URL
    model: Upscaler = "conservative"  # the enhance upscaler; the other endpoints have no choice
    kinds: frozenset[Kind] = KINDS
    output_format: OutputFormat = "png"  # what Stability answers in (lossless by default)

    @model_validator(mode="after")
    def _check(self) -> Self:
        unserved = sorted(self.kinds - KINDS)
        if unserved:
            raise ValueError(
                f"TDS_STABILITY_KINDS: Stability AI's engine does not do {', '.join(unserved)}; "
                f"choose from {', '.join(sorted(KINDS))}"
            )
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("TDS_STABILITY_BASE_URL must be an http(s) URL")
        if self.timeout_seconds <= 0 or self.request_timeout_seconds <= 0 or self.retries < 0:
            raise ValueError(
                "TDS_STABILITY_TIMEOUT_SECONDS and _REQUEST_TIMEOUT_SECONDS must be positive, "
                "TDS_STABILITY_RETRIES not negative"
            )
        return self
