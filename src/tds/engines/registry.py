"""Engines by name, imported lazily so a server never loads what it does not use."""

from __future__ import annotations

import importlib

from tds.engines.base import Engine

_ENGINES = {
    "preview": "tds.engines.preview.engine:PreviewEngine",
    "diffusion": "tds.engines.diffusion.engine:DiffusionEngine",
    "remote": "tds.engines.remote.engine:RemoteEngine",
}


def names() -> list[str]:
    return sorted(_ENGINES)


def load(name: str) -> Engine:
    try:
        target = _ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(names())}") from None
    module, _, attr = target.partition(":")
    engine: Engine = getattr(importlib.import_module(module), attr)()
    return engine
