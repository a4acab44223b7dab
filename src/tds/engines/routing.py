"""Which engine serves which kind: one engine per kind, each loaded once.

Settings pick a default engine and, optionally, another per kind (for example `diffusion` for
everything but `video` on `preview`). A kind is served only when its engine really offers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tds.engines.base import KINDS, Engine, Kind


class EngineRouter:
    def __init__(self, by_kind: Mapping[Kind, Engine]) -> None:
        self._by_kind = {kind: engine for kind, engine in by_kind.items() if kind in engine.kinds}

    @classmethod
    def build(
        cls, default: str, per_kind: Mapping[str, str], load: Callable[[str], Engine]
    ) -> EngineRouter:
        unknown = set(per_kind) - set(KINDS)
        if unknown:
            raise ValueError(f"engine_for names unknown kinds: {', '.join(sorted(unknown))}")
        loaded: dict[str, Engine] = {}
        by_kind: dict[Kind, Engine] = {}
        for kind in KINDS:
            name = per_kind.get(kind, default)
            if name not in loaded:
                loaded[name] = load(name)
            by_kind[kind] = loaded[name]
        return cls(by_kind)

    @classmethod
    def single(cls, engine: Engine) -> EngineRouter:
        return cls(dict.fromkeys(KINDS, engine))

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(self._by_kind)

    def engines(self) -> list[Engine]:
        """Each engine once, in the order of the kinds it serves."""
        unique: dict[int, Engine] = {}
        for engine in self._by_kind.values():
            unique.setdefault(id(engine), engine)
        return list(unique.values())

    def kinds_of(self, engine: Engine) -> list[Kind]:
        return [kind for kind in KINDS if self._by_kind.get(kind) is engine]

    def for_kind(self, kind: Kind) -> Engine | None:
        return self._by_kind.get(kind)

    def setup(self) -> None:
        for engine in self.engines():
            engine.setup()
