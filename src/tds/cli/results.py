"""What became of each input of `tds render`, typed, and the JSON document --json prints.

The JSON keeps the key order scripts have always seen: build it here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class Done:
    """Rendered and saved under OUT."""

    status: ClassVar[Literal["done"]] = "done"
    input: str
    render_id: str
    credits: int
    output: str
    video: str | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "input": self.input,
            "status": self.status,
            "render_id": self.render_id,
            "credits": self.credits,
            "output": self.output,
        }
        if self.video is not None:
            document["video"] = self.video
        if self.warnings:
            document["warnings"] = list(self.warnings)
        return document


@dataclass(frozen=True)
class Skipped:
    """--skip-existing found the output already there; nothing was sent."""

    status: ClassVar[Literal["skipped"]] = "skipped"
    credits: ClassVar[int] = 0
    input: str
    output: str

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "status": self.status,
            "output": self.output,
            "credits": self.credits,
        }


@dataclass(frozen=True)
class Failed:
    """Not rendered, or rendered but not saved; `error` says why."""

    status: ClassVar[Literal["failed"]] = "failed"
    input: str
    error: JobError
    # The server took the render: the JSON then carries render_id, null where a failure
    # did not say which.
    rendered: bool = False
    render_id: str | None = None
    credits: int = 0  # spent although it failed: it rendered, but the file was not saved
    fatal: bool = False  # every other input would get the same answer: send no more

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "input": self.input,
            "status": self.status,
            "error": {"code": self.error.code, "message": self.error.message},
        }
        if self.rendered:
            document["render_id"] = self.render_id
        document["credits"] = self.credits
        return document


JobResult = Done | Skipped | Failed


@dataclass(frozen=True)
class BatchResult:
    results: tuple[JobResult, ...]
    credits_left: int | None  # None when the balance could not be read after the batch

    def count(self, status: Literal["done", "failed", "skipped"]) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def credits_spent(self) -> int:
        return sum(r.credits for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [r.to_json() for r in self.results],
            "done": self.count("done"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "credits_spent": self.credits_spent,
            "credits_left": self.credits_left,
        }


def line(result: JobResult, count: int, total: int) -> str:
    """The line printed as each input finishes."""
    head = f"[{count}/{total}] {result.status:<7} {result.input}"
    match result:
        case Done():
            video = f" + {result.video}" if result.video else ""
            return f"{head} -> {result.output}{video} ({result.credits} credits)"
        case Skipped():
            return f"{head} ({result.output} exists)"
        case Failed():
            return f"{head}: {result.error.code}: {result.error.message}"
