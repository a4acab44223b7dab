"""Engines by name, imported lazily so a server never loads what it does not use."""

from __future__ import annotations

import importlib

from tds.engines.base import Engine

_ENGINES = {
    "preview": "tds.engines.preview.engine:PreviewEngine",
    "diffusion": "tds.engines.diffusion.engine:DiffusionEngine",
    "replicate": "tds.engines.remote.engine:RemoteEngine",
    "remote": "tds.engines.remote.engine:RemoteEngine",  # the replicate engine's first name
    "openai": "tds.engines.openai.engine:OpenAIEngine",
    "gemini": "tds.engines.gemini.engine:GeminiEngine",
    "stability": "tds.engines.stability.engine:StabilityEngine",
    "comfyui": "tds.engines.comfyui.engine:ComfyUIEngine",
}


def names() -> list[str]:
    return sorted(_ENGINES)


def load(name: str) -> Engine:
    """A built-in engine by name, or an engine class of your own as `package.module:Class`."""
    target = name if ":" in name else _ENGINES.get(name)
    if target is None:
        raise ValueError(
            f"unknown engine {name!r}; choose one of {', '.join(names())} or give module:Class"
        )
    module, _, attr = target.partition(":")
    engine: Engine = getattr(importlib.import_module(module), attr)()
    return engine
