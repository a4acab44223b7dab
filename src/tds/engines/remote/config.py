"""The remote engine's settings, read from `TDS_REMOTE_*` environment variables.

Per kind: the model (`owner/name` for an official model, `owner/name:version` for a
community model version, `deployments/owner/name` for a deployment) and the input it gets,
a JSON template whose "{placeholders}" are filled per job (see `inputs.PLACEHOLDERS`).
"""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.base import KINDS, Kind
from tds.engines.common.settings import EngineSettings
from tds.engines.remote import inputs

DEFAULT_MODELS: dict[Kind, str] = {
    "render": "black-forest-labs/flux-canny-pro",
    "refine": "black-forest-labs/flux-kontext-pro",
    "enhance": "topazlabs/image-upscale",
    "staging": "black-forest-labs/flux-kontext-pro",
    "video": "wan-video/wan-2.2-i2v-fast",
}

DEFAULT_INPUTS: dict[Kind, dict[str, Any]] = {
    "render": {"prompt": "{prompt}", "control_image": "{image}", "seed": "{seed}"},
    "refine": {
        "prompt": "{instruction}",
        "input_image": "{image}",
        "aspect_ratio": "match_input_image",
        "seed": "{seed}",
    },
    "enhance": {"image": "{image}", "upscale_factor": "{upscale_factor}"},
    "staging": {
        "prompt": "{instruction}",
        "input_image": "{image}",
        "aspect_ratio": "match_input_image",
        "seed": "{seed}",
    },
    "video": {"image": "{image}", "prompt": "{prompt}", "seed": "{seed}"},
}


class RemoteConfig(EngineSettings):
    """One field per variable, TDS_REPLICATE_<NAME> or the engine's first name for it,
    TDS_REMOTE_<NAME> (the token also from REPLICATE_API_TOKEN); `models` and `inputs` gather
    the per-kind _<KIND>_MODEL and _<KIND>_INPUT by kind."""

    model_config = SettingsConfigDict(env_prefix="TDS_REMOTE_")

    token: str = Field(
        default="", validation_alias=AliasChoices("TDS_REMOTE_API_TOKEN", "REPLICATE_API_TOKEN")
    )
    base_url: str = "https://api.replicate.com/v1"
    kinds: frozenset[Kind] = frozenset(KINDS)
    render_model: str = DEFAULT_MODELS["render"]
    render_input: dict[str, Any] = DEFAULT_INPUTS["render"]
    refine_model: str = DEFAULT_MODELS["refine"]
    refine_input: dict[str, Any] = DEFAULT_INPUTS["refine"]
    enhance_model: str = DEFAULT_MODELS["enhance"]
    enhance_input: dict[str, Any] = DEFAULT_INPUTS["enhance"]
    staging_model: str = DEFAULT_MODELS["staging"]
    staging_input: dict[str, Any] = DEFAULT_INPUTS["staging"]
    video_model: str = DEFAULT_MODELS["video"]
    video_input: dict[str, Any] = DEFAULT_INPUTS["video"]
    wait_seconds: int = 10  # Prefer: wait=N on create (1–60; 0 sends no Prefer header)
    poll_seconds: float = 1.0  # first poll interval; grows ×1.5 up to poll_max_seconds
    poll_max_seconds: float = 5.0
    timeout_seconds: float = 540.0  # per job; also sent as Cancel-After
    request_timeout_seconds: float = 30.0  # per HTTP call (create adds wait_seconds)
    retries: int = 4  # per idempotent call (poll, cancel, upload, download)
    max_output_bytes: int = 512 * 1024 * 1024
    data_uri_max_bytes: int = 256 * 1024  # larger inputs go through the files API

    @classmethod
    def variables(cls, field_name: str) -> list[str]:
        """TDS_REPLICATE_<NAME> first; TDS_REMOTE_<NAME>, the engine's first name, still read."""
        names = super().variables(field_name)
        renamed = [
            name.replace("TDS_REMOTE_", "TDS_REPLICATE_", 1)
            for name in names
            if name.startswith("TDS_REMOTE_")
        ]
        return renamed + names

    @property
    def models(self) -> dict[Kind, str]:
        return {kind: getattr(self, f"{kind}_model") for kind in KINDS}

    @property
    def inputs(self) -> dict[Kind, dict[str, Any]]:
        return {kind: getattr(self, f"{kind}_input") for kind in KINDS}

    @property
    def served(self) -> frozenset[Kind]:
        """The kinds with a model configured: what the engine honestly offers."""
        return frozenset(kind for kind in self.kinds if self.models.get(kind))

    @field_validator(*(f"{kind}_input" for kind in KINDS), mode="before")
    @classmethod
    def _parse_template(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return parse_template(value, cls.variables(str(info.field_name))[0])

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not 0 <= self.wait_seconds <= 60:
            raise ValueError("TDS_REPLICATE_WAIT_SECONDS must be 0–60 (Replicate's sync limit)")
        if self.poll_seconds <= 0 or self.poll_max_seconds < self.poll_seconds:
            raise ValueError("TDS_REPLICATE_POLL_SECONDS must be > 0 and ≤ _POLL_MAX_SECONDS")
        if self.timeout_seconds < 5 or self.request_timeout_seconds <= 0 or self.retries < 0:
            raise ValueError("TDS_REPLICATE_TIMEOUT_SECONDS ≥ 5, _REQUEST_TIMEOUT_SECONDS > 0")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("TDS_REPLICATE_BASE_URL must be an http(s) URL")
        for kind in self.served:
            model = self.models[kind]
            inputs.check(self.inputs.get(kind, {}), f"TDS_REPLICATE_{kind.upper()}_INPUT")
            if not _valid_model(model):
                raise ValueError(
                    f"TDS_REPLICATE_{kind.upper()}_MODEL={model!r}: use owner/name, "
                    "owner/name:version or deployments/owner/name"
                )
        return self


def _valid_model(model: str) -> bool:
    name, _, version = model.partition(":")
    parts = name.split("/")
    if parts[0] == "deployments":
        return len(parts) == 3 and all(parts) and not version
    return len(parts) == 2 and all(parts)


def parse_template(raw: str, name: str) -> dict[str, Any]:
    try:
        template = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not JSON: {error}") from None
    if not isinstance(template, dict):
        raise ValueError(f"{name} must be a JSON object of model inputs")
    return template
