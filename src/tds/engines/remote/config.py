"""The remote engine's settings, read from `TDS_REMOTE_*` environment variables.

Per kind: the model (`owner/name` for an official model, `owner/name:version` for a
community model version, `deployments/owner/name` for a deployment) and the input it gets,
a JSON template whose "{placeholders}" are filled per job (see `inputs.PLACEHOLDERS`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tds.engines.base import KINDS, Kind
from tds.engines.diffusion.config import parse_kinds, parse_number
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


@dataclass(frozen=True)
class RemoteConfig:
    token: str = ""
    base_url: str = "https://api.replicate.com/v1"
    kinds: frozenset[Kind] = frozenset(KINDS)
    models: dict[Kind, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    inputs: dict[Kind, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULT_INPUTS))
    wait_seconds: int = 10  # Prefer: wait=N on create (1–60; 0 sends no Prefer header)
    poll_seconds: float = 1.0  # first poll interval; grows ×1.5 up to poll_max_seconds
    poll_max_seconds: float = 5.0
    timeout_seconds: float = 540.0  # per job; also sent as Cancel-After
    request_timeout_seconds: float = 30.0  # per HTTP call (create adds wait_seconds)
    retries: int = 4  # per idempotent call (poll, cancel, upload, download)
    max_output_bytes: int = 512 * 1024 * 1024
    data_uri_max_bytes: int = 256 * 1024  # larger inputs go through the files API

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RemoteConfig:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"TDS_REMOTE_{name}")
            return None if value is None else value.strip()

        values: dict[str, Any] = {}
        token = get("API_TOKEN") or env.get("REPLICATE_API_TOKEN", "").strip()
        values["token"] = token
        if (base := get("BASE_URL")) is not None:
            values["base_url"] = base.rstrip("/")
        if (kinds := get("KINDS")) is not None:
            values["kinds"] = parse_kinds(kinds, "TDS_REMOTE_KINDS")
        models = dict(DEFAULT_MODELS)
        inputs = dict(DEFAULT_INPUTS)
        for kind in KINDS:
            if (model := get(f"{kind.upper()}_MODEL")) is not None:
                models[kind] = model
            if (template := get(f"{kind.upper()}_INPUT")) is not None:
                inputs[kind] = parse_template(template, f"TDS_REMOTE_{kind.upper()}_INPUT")
        values["models"], values["inputs"] = models, inputs
        numbers: dict[str, type[int] | type[float]] = {
            "wait_seconds": int,
            "poll_seconds": float,
            "poll_max_seconds": float,
            "timeout_seconds": float,
            "request_timeout_seconds": float,
            "retries": int,
            "max_output_bytes": int,
            "data_uri_max_bytes": int,
        }
        for name, kind_of in numbers.items():
            if (raw := get(name.upper())) is not None:
                values[name] = parse_number(raw, f"TDS_REMOTE_{name.upper()}", kind_of)
        config = cls(**values)
        config.validate()
        return config

    @property
    def served(self) -> frozenset[Kind]:
        """The kinds with a model configured: what the engine honestly offers."""
        return frozenset(kind for kind in self.kinds if self.models.get(kind))

    def validate(self) -> None:
        if not 0 <= self.wait_seconds <= 60:
            raise ValueError("TDS_REMOTE_WAIT_SECONDS must be 0–60 (Replicate's sync limit)")
        if self.poll_seconds <= 0 or self.poll_max_seconds < self.poll_seconds:
            raise ValueError("TDS_REMOTE_POLL_SECONDS must be > 0 and ≤ _POLL_MAX_SECONDS")
        if self.timeout_seconds < 5 or self.request_timeout_seconds <= 0 or self.retries < 0:
            raise ValueError("TDS_REMOTE_TIMEOUT_SECONDS ≥ 5, _REQUEST_TIMEOUT_SECONDS > 0")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("TDS_REMOTE_BASE_URL must be an http(s) URL")
        for kind in self.served:
            model = self.models[kind]
            inputs.check(self.inputs.get(kind, {}), f"TDS_REMOTE_{kind.upper()}_INPUT")
            if not _valid_model(model):
                raise ValueError(
                    f"TDS_REMOTE_{kind.upper()}_MODEL={model!r}: use owner/name, "
                    "owner/name:version or deployments/owner/name"
                )


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
