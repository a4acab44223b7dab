"""Workflow files: one per kind, in ComfyUI's API format, bound to tds by node titles.

A workflow in API format (ComfyUI: Workflow → Export (API)) is a JSON object of nodes by id,
each `{"class_type": …, "inputs": {…}, "_meta": {"title": …}}`. A node whose title starts with
`tds:` is bound: its title is one or more `tds:<name>` words (`tds:width tds:height` on one
EmptyLatentImage), and for each name tds sets one input of the node per render, by the first
rule in `BINDINGS` that the node's inputs fit (`text` on a CLIPTextEncode, `seed` or
`noise_seed` on a sampler, …). Everything else in the workflow is the studio's own.

Every file is checked when the engine is made, before the server takes a request: a workflow
without `tds:image` or `tds:output`, a bound node without the input tds would set (or with
that input wired to another node), an unknown `tds:` name or a second output node stops the
server with the file and the node named.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tds.engines.base import KINDS, Kind

PREFIX = "tds:"
# What tds sets, for each name: groups of input names; the first group whose inputs the node
# has (every one of them) is set, each to the same value. Documented in docs/comfyui.md.
TEXT = (("text",), ("prompt",), ("text_g", "text_l"), ("clip_l", "t5xxl"), ("value",))
BINDINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "image": (("image",),),  # a LoadImage: the uploaded input's file name
    "mask": (("image",),),  # a LoadImage or LoadImageMask: the uploaded mask's file name
    "prompt": TEXT,
    "negative_prompt": TEXT,
    "instruction": TEXT,
    "seed": (("seed",), ("noise_seed",), ("value",)),
    "width": (("width",), ("value",)),
    "height": (("height",), ("value",)),
    "fidelity": (("strength",), ("value",)),
    "strength": (("denoise",), ("strength",), ("value",)),
}
OUTPUT = "output"  # the node whose file tds fetches: no input is set
NAMES = (*BINDINGS, OUTPUT)
REQUIRED = ("image", OUTPUT)
_WORD = re.compile(r"[\s,]+")


class WorkflowError(ValueError):
    """A workflow file tds cannot run; the message names the file and the node."""


@dataclass(frozen=True)
class Target:
    """One input tds sets: node id, input name."""

    node: str
    input: str


@dataclass(frozen=True)
class Workflow:
    kind: Kind
    path: Path
    graph: dict[str, dict[str, Any]]
    targets: dict[str, tuple[Target, ...]]  # binding name → the inputs it sets
    output: str  # the tds:output node's id

    @property
    def name(self) -> str:
        return self.path.name

    def title(self, node: str) -> str:
        """`node 9 (SaveImage "tds:output")`, for messages."""
        spec = self.graph.get(node)
        if spec is None:
            return f"node {node}"
        return describe(node, spec)

    def bind(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """A copy of the graph with every bound input set to its value."""
        graph = copy.deepcopy(self.graph)
        for name, targets in self.targets.items():
            if name not in values:
                continue
            for target in targets:
                graph[target.node]["inputs"][target.input] = values[name]
        return graph

    def uses(self, name: str) -> bool:
        return bool(self.targets.get(name))


def describe(node: str, spec: Mapping[str, Any]) -> str:
    class_type = spec.get("class_type", "?")
    title = _title(spec)
    if not title or title == class_type:
        return f"node {node} ({class_type})"
    return f'node {node} ({class_type} "{title}")'


def _title(spec: Mapping[str, Any]) -> str:
    meta = spec.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title.strip() if isinstance(title, str) else ""


def names_in(title: str) -> list[str]:
    """The binding names of a title: `tds:width tds:height` → ["width", "height"]; [] when the
    title does not start with tds:. Words without the prefix are the studio's own notes."""
    if not title.lower().startswith(PREFIX):
        return []
    words = _WORD.split(title.strip())
    # Other words are the studio's own description ("tds:prompt positive"): left alone.
    return [word[len(PREFIX) :].lower() for word in words if word.lower().startswith(PREFIX)]


def load_folder(folder: str) -> dict[Kind, Workflow]:
    """Every `<kind>.json` in `folder`, checked; files of other types are left alone."""
    if not folder:
        raise WorkflowError(
            "TDS_COMFYUI_WORKFLOWS: set it to a folder of ComfyUI workflows in API format, one "
            "per kind (render.json, refine.json, …); examples/comfyui/ has two to start from"
        )
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise WorkflowError(f"TDS_COMFYUI_WORKFLOWS: {root} is not a folder")
    found: dict[Kind, Workflow] = {}
    for path in sorted(root.iterdir()):
        if path.suffix.lower() != ".json" or not path.is_file():
            continue
        kind = next((k for k in KINDS if k == path.stem.lower()), None)
        if kind is None:
            raise WorkflowError(
                f"{path}: {path.stem!r} is not a kind; name each workflow after the kind it "
                f"serves: {', '.join(f'{k}.json' for k in KINDS)}"
            )
        if kind in found:
            raise WorkflowError(f"{path}: a second workflow for {kind} ({found[kind].path})")
        found[kind] = load(path, kind)
    if not found:
        raise WorkflowError(
            f"TDS_COMFYUI_WORKFLOWS: {root} holds no workflow; add one per kind it should serve "
            f"({', '.join(f'{k}.json' for k in KINDS)})"
        )
    return found


def load(path: Path, kind: Kind) -> Workflow:
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowError(f"{path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise WorkflowError(f"{path}: is not JSON ({error})") from None
    return parse(graph, path, kind)


def parse(graph: Any, path: Path, kind: Kind) -> Workflow:
    """Check a workflow's graph and find its bindings; WorkflowError naming file and node."""
    if isinstance(graph, dict) and isinstance(graph.get("nodes"), list) and "links" in graph:
        raise WorkflowError(
            f"{path}: this is ComfyUI's UI format; save the workflow with Workflow → "
            "Export (API) instead"
        )
    if not isinstance(graph, dict) or not graph:
        raise WorkflowError(f"{path}: a workflow in API format is a JSON object of nodes by id")
    targets: dict[str, list[Target]] = {}
    outputs: list[str] = []
    for node, spec in graph.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("class_type"), str):
            raise WorkflowError(
                f"{path}: node {node} has no class_type; is this ComfyUI's API format "
                "(Workflow → Export (API))?"
            )
        if not isinstance(spec.setdefault("inputs", {}), dict):
            raise WorkflowError(f"{path}: {describe(node, spec)}: its inputs are not an object")
        taken: dict[str, str] = {}  # input → the binding that sets it
        for name in names_in(_title(spec)):
            if name == OUTPUT:
                outputs.append(node)
                continue
            if name not in BINDINGS:
                raise WorkflowError(
                    f"{path}: {describe(node, spec)}: unknown binding tds:{name}; tds binds "
                    + ", ".join(f"tds:{known}" for known in NAMES)
                )
            for target in _targets(path, node, spec, name):
                if target.input in taken and taken[target.input] != name:
                    raise WorkflowError(
                        f"{path}: {describe(node, spec)}: tds:{taken[target.input]} and "
                        f"tds:{name} would both set its `{target.input}`"
                    )
                taken[target.input] = name
                targets.setdefault(name, []).append(target)
    for name in REQUIRED:
        if name == OUTPUT and outputs:
            continue
        if name != OUTPUT and targets.get(name):
            continue
        what = (
            "the LoadImage node tds uploads the input image to"
            if name == "image"
            else "the SaveImage (or video) node whose file tds fetches"
        )
        raise WorkflowError(f"{path}: no node is titled tds:{name} ({what})")
    if len(outputs) > 1:
        raise WorkflowError(
            f"{path}: {' and '.join(describe(n, graph[n]) for n in outputs)} are both titled "
            "tds:output; tds fetches the file of one node"
        )
    return Workflow(
        kind=kind,
        path=path,
        graph=graph,
        targets={name: tuple(found) for name, found in targets.items()},
        output=outputs[0],
    )


def _targets(path: Path, node: str, spec: dict[str, Any], name: str) -> list[Target]:
    inputs: dict[str, Any] = spec["inputs"]
    for group in BINDINGS[name]:
        if all(key in inputs for key in group):
            for key in group:
                if _is_link(inputs[key]):
                    raise WorkflowError(
                        f"{path}: {describe(node, spec)}: its `{key}` (set by tds:{name}) is wired "
                        f"to node {inputs[key][0]}; tds sets a value typed into the node, so "
                        "unwire it (or title the node it comes from)"
                    )
            return [Target(node, key) for key in group]
    wanted = " or ".join(" and ".join(f"`{key}`" for key in group) for group in BINDINGS[name])
    raise WorkflowError(
        f"{path}: {describe(node, spec)} is titled tds:{name} but has no {wanted} input "
        "for tds to set"
    )


def _is_link(value: Any) -> bool:
    """An input wired to another node: `[node_id, output_index]`."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )
