"""The comfyui engine's settings, read from `TDS_COMFYUI_*` environment variables.

`TDS_COMFYUI_URL` names one ComfyUI server or several (comma-separated: each render goes to the
one with the shortest queue); `TDS_COMFYUI_WORKFLOWS` is the folder of workflow files, one per
kind (`render.json`, `refine.json`, …), in ComfyUI's API format (see docs/comfyui.md).
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.common.settings import EngineSettings

DEFAULT_URL = "http://127.0.0.1:8188"  # ComfyUI's own default address


class ComfyUISettings(EngineSettings):
    """One field per variable, TDS_COMFYUI_<NAME> (see docs/comfyui.md)."""

    model_config = SettingsConfigDict(env_prefix="TDS_COMFYUI_")

    url: str = DEFAULT_URL  # one base URL, or several separated by commas
    workflows: str = ""  # a folder of <kind>.json files in ComfyUI's API format
    timeout_seconds: float = 540.0  # one render: the wait in ComfyUI's queue included
    request_timeout_seconds: float = 30.0  # one HTTP call (an upload, a submit, a download)
    # How often /history is asked while the websocket is down (and how soon a server that
    # stopped answering is given up: three polls in a row).
    poll_seconds: float = 1.0

    @field_validator("url", "workflows")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def urls(self) -> list[str]:
        """The servers' base URLs, in the order given, without a trailing slash."""
        return [part.strip().rstrip("/") for part in self.url.split(",") if part.strip()]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.urls:
            raise ValueError("TDS_COMFYUI_URL must name at least one ComfyUI server")
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"TDS_COMFYUI_URL: {url!r} is not an http(s) URL "
                    "(e.g. http://gpu-1.studio.lan:8188)"
                )
            if parts.query or parts.fragment or parts.username:
                raise ValueError(
                    f"TDS_COMFYUI_URL: {url!r} must be a plain base URL "
                    "(no query, fragment or user)"
                )
        if len(set(self.urls)) != len(self.urls):
            raise ValueError("TDS_COMFYUI_URL names one server twice")
        if self.timeout_seconds <= 0 or self.request_timeout_seconds <= 0:
            raise ValueError(
                "TDS_COMFYUI_TIMEOUT_SECONDS and _REQUEST_TIMEOUT_SECONDS must be positive"
            )
        if self.poll_seconds <= 0:
            raise ValueError("TDS_COMFYUI_POLL_SECONDS must be positive")
        return self
