"""The package's layers: every import points down (or stays in its own package), the packages
of one layer do not import each other in a circle, and only route modules see the runtime.

Read from the source with `ast`, imports inside functions and under TYPE_CHECKING included, so
a lazy import cannot hide an arrow that runs back up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "tds"

# Lowest first; CONTRIBUTING.md draws the same picture.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("tds", "tds.config", "tds.exceptions", "tds.catalogue", "tds.kit"),
    (
        "tds.models",
        "tds.migrations",
        "tds.storage",
        "tds.fetch",
        "tds.mail",
        "tds.images",
        "tds.engines",
        "tds.client",
    ),
    ("tds.keys", "tds.credits", "tds.idempotency", "tds.dispatch"),
    ("tds.api",),
    (
        "tds.accounts",
        "tds.uploads",
        "tds.renders",
        "tds.styles",
        "tds.files",
        "tds.usage",
        "tds.teams",
        "tds.billing",
    ),
    ("tds.web",),
    ("tds.server", "tds.cli", "tds.__main__"),
)
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}

# What may take the whole runtime: the plumbing that defines it, the composition root, the
# dashboard's routes and each domain's routes and request dependencies.
RUNTIME_USERS = ("tds.api.", "tds.server.", "tds.web.")
RUNTIME_MODULES = ("endpoints", "deps")


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        yield ".".join(parts).removesuffix(".__init__"), path


def unit_of(module: str) -> str:
    """The package (or top-level module) of a module: tds.renders.lifecycle → tds.renders."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def tds_imports(path: Path) -> set[str]:
    return {name for name in imports(path) if name == "tds" or name.startswith("tds.")}


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = sorted({unit_of(module) for module, _ in modules()} - RANK.keys())
    assert not unplaced, f"add these to a layer in tests/test_layers.py: {unplaced}"


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = []
    for module, path in modules():
        own = unit_of(module)
        for name in tds_imports(path):
            other = unit_of(name)
            if other in RANK and RANK[other] > RANK[own]:
                upward.append(f"{module} imports {name} ({own} is below {other})")
    assert not upward, "\n".join(sorted(set(upward)))


def test_the_packages_of_one_layer_import_each_other_in_no_circle() -> None:
    edges: dict[str, set[str]] = {unit: set() for unit in RANK}
    for module, path in modules():
        own = unit_of(module)
        for name in tds_imports(path):
            other = unit_of(name)
            if other != own and other in RANK and RANK[other] == RANK[own]:
                edges[own].add(other)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in edges[start] - seen:
            if step == goal or reaches(step, goal, seen | {step}):
                return True
        return False

    circles = sorted(unit for unit in edges if reaches(unit, unit, set()))
    assert not circles, f"these packages import each other in a circle: {circles}"


def test_only_routes_and_the_composition_root_take_the_runtime() -> None:
    """Domain code gets what it needs (a session, the storage, the dispatcher), never all."""
    takers = [module for module, path in modules() if "tds.api.runtime" in tds_imports(path)]
    assert "tds.renders.endpoints" in takers  # the check reads imports as they are written
    wrong = [
        module
        for module in takers
        if not module.startswith(RUNTIME_USERS) and module.rsplit(".", 1)[-1] not in RUNTIME_MODULES
    ]
    assert not wrong, f"domain code that takes the whole runtime: {wrong}"


def test_no_engine_imports_another() -> None:
    """What engines share lives in tds.engines.common (or the contract, tds.engines.base)."""
    shared = ("tds.engines.base", "tds.engines.common")
    borrowed = []
    for module, path in modules():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] != "engines" or f"tds.engines.{parts[2]}" in shared:
            continue
        own = f"tds.engines.{parts[2]}"
        for name in tds_imports(path):
            if name.startswith("tds.engines.") and not name.startswith((own, *shared)):
                borrowed.append(f"{module} imports {name}")
    assert not borrowed, "\n".join(sorted(borrowed))
