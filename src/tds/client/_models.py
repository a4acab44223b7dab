"""Typed results built from the API's JSON; each keeps the whole answer in `raw`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINAL_STATUSES = ("done", "failed", "canceled")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # fromisoformat reads a trailing "Z" only from Python 3.11; Rhino 8 runs 3.9.
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):  # a tuple: Python 3.9
        return None
    return float(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class Progress:
    value: int
    max: int

    @property
    def fraction(self) -> float:
        """0.0 … 1.0."""
        return min(1.0, self.value / self.max) if self.max > 0 else 0.0


@dataclass(frozen=True)
class RenderError:
    code: str
    message: str


@dataclass(frozen=True)
class Render:
    """A render, as the server last described it.

    `balance` is the account's available credits when the answer was made (None in lists).
    """

    id: str
    status: str  # queued, processing, done, failed, canceled
    kind: str
    resolution: str
    width: int
    height: int
    cost: int
    credits_used: int
    output_image_url: str | None
    output_video_url: str | None
    input_image_url: str | None
    progress: Progress | None
    queue_position: int | None
    error: RenderError | None
    warnings: list[str]
    engine: str | None  # the engine that made it, once done
    fidelity_score: float | None  # 0–1, once done: how much of the input's lines it kept
    parent_id: str | None
    seed: int | None
    created_at: datetime | None
    completed_at: datetime | None
    balance: int | None
    project: str | None  # the project code it is billed to, when it was sent with one
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """done, failed or canceled: it will not change any more."""
        return self.status in FINAL_STATUSES

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], balance: int | None = None) -> Render:
        progress = data.get("progress")
        error = data.get("error")
        return cls(
            id=str(data["id"]),
            status=str(data.get("status", "")),
            kind=str(data.get("kind", "")),
            resolution=str(data.get("resolution", "")),
            width=_int(data.get("width")) or 0,
            height=_int(data.get("height")) or 0,
            cost=_int(data.get("cost")) or 0,
            credits_used=_int(data.get("credits_used")) or 0,
            output_image_url=data.get("output_image_url"),
            output_video_url=data.get("output_video_url"),
            input_image_url=data.get("input_image_url"),
            progress=(
                Progress(int(progress.get("value", 0)), int(progress.get("max", 0)))
                if isinstance(progress, dict)
                else None
            ),
            queue_position=_int(data.get("queue_position")),
            error=(
                RenderError(str(error.get("code", "")), str(error.get("message", "")))
                if isinstance(error, dict)
                else None
            ),
            warnings=[str(w) for w in data.get("warnings") or []],
            engine=str(data["engine"]) if data.get("engine") else None,
            fidelity_score=_float(data.get("fidelity_score")),
            parent_id=data.get("parent_id"),
            seed=_int(data.get("seed")),
            created_at=_time(data.get("created_at")),
            completed_at=_time(data.get("completed_at")),
            balance=balance,
            project=str(data["project"]) if data.get("project") else None,
            raw=dict(data),
        )

    @classmethod
    def from_envelope(cls, body: Mapping[str, Any]) -> Render:
        """From `{"render": {...}, "credits": n}`."""
        return cls.from_json(body["render"], balance=_int(body.get("credits")))


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    monthly_credits: int
    max_resolution: str
    kinds: list[str]
    max_in_flight: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            monthly_credits=_int(data.get("monthly_credits")) or 0,
            max_resolution=str(data.get("max_resolution", "")),
            kinds=[str(k) for k in data.get("kinds") or []],
            max_in_flight=_int(data.get("max_in_flight")) or 0,
        )


@dataclass(frozen=True)
class TeamRef:
    id: str  # the team's account id: your own when you work alone
    name: str
    role: str  # yours in it: owner, admin or member

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TeamRef:
        return cls(str(data.get("id", "")), str(data.get("name", "")), str(data.get("role", "")))


@dataclass(frozen=True)
class MonthlyCap:
    limit: int  # credits a calendar month (UTC) you may spend of the team's
    spent: int
    left: int
    period: str  # e.g. "2026-12"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MonthlyCap:
        return cls(
            limit=_int(data.get("limit")) or 0,
            spent=_int(data.get("spent")) or 0,
            left=_int(data.get("left")) or 0,
            period=str(data.get("period", "")),
        )


@dataclass(frozen=True)
class Account:
    """Who the key belongs to (`id`, `email`), and the team whose credits it spends."""

    id: str
    email: str
    plan: Plan
    credits: int  # the team's, available now
    credits_held: int  # set aside by renders in flight
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    team: TeamRef | None = None  # None from a server before teams
    monthly_cap: MonthlyCap | None = None  # None: no cap

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        team, cap = data.get("team"), data.get("monthly_cap")
        return cls(
            id=str(data.get("id", "")),
            email=str(data.get("email", "")),
            plan=Plan.from_json(data.get("plan") or {}),
            credits=_int(data.get("credits")) or 0,
            credits_held=_int(data.get("credits_held")) or 0,
            created_at=_time(data.get("created_at")),
            raw=dict(data),
            team=TeamRef.from_json(team) if isinstance(team, Mapping) else None,
            monthly_cap=MonthlyCap.from_json(cap) if isinstance(cap, Mapping) else None,
        )


@dataclass(frozen=True)
class Upload:
    id: str
    url: str  # public and unguessable: pass it as a render's image_url
    content_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upload:
        return cls(
            id=str(data.get("id", "")),
            url=str(data.get("url", "")),
            content_type=str(data.get("content_type", "")),
            width=_int(data.get("width")) or 0,
            height=_int(data.get("height")) or 0,
            size_bytes=_int(data.get("size_bytes")) or 0,
            created_at=_time(data.get("created_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class RenderList:
    """One page of renders, newest first; pass `data[-1].id` as `starting_after` for more."""

    data: list[Render]
    has_more: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    def __iter__(self) -> Iterator[Render]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Render:
        return self.data[index]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RenderList:
        return cls(
            data=[Render.from_json(item) for item in data.get("data") or []],
            has_more=bool(data.get("has_more")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Resolution:
    id: str
    long_edge: int


@dataclass(frozen=True)
class KindInfo:
    id: str
    description: str
    available: bool  # served on this server
    engine: str | None  # the engine that serves it
    generative: bool | None  # whether that engine is a generative model (None: unknown)
    costs: dict[str, int]  # resolution → credits


@dataclass(frozen=True)
class EngineInfo:
    name: str
    description: str
    generative: bool | None  # False: an image pipeline, no AI; None: the engine does not say
    kinds: list[str]


def _options(items: Any) -> list[Option]:
    return [
        Option(str(o.get("id", "")), str(o.get("name", "")), str(o.get("description", "")))
        for o in items or []
    ]


@dataclass(frozen=True)
class Styles:
    """What a render can ask for on this server, and what each kind costs."""

    scene_types: list[Option]
    architectural_styles: list[Option]
    lighting: list[Option]
    input_types: list[Option]
    resolutions: list[Resolution]
    kinds: list[KindInfo]
    costs: dict[str, dict[str, int]]
    engines: list[EngineInfo]
    plans: list[Plan]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def cost(self, kind: str = "render", resolution: str = "2k") -> int:
        """Credits for one `kind` at `resolution`; KeyError for an unknown pair."""
        return self.costs[kind][resolution]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Styles:
        return cls(
            scene_types=_options(data.get("scene_types")),
            architectural_styles=_options(data.get("architectural_styles")),
            lighting=_options(data.get("lighting")),
            input_types=_options(data.get("input_types")),
            resolutions=[
                Resolution(str(r.get("id", "")), _int(r.get("long_edge")) or 0)
                for r in data.get("resolutions") or []
            ],
            kinds=[
                KindInfo(
                    id=str(k.get("id", "")),
                    description=str(k.get("description", "")),
                    available=bool(k.get("available")),
                    engine=str(k["engine"]) if k.get("engine") else None,
                    generative=_bool(k.get("generative")),
                    costs={str(r): int(c) for r, c in (k.get("costs") or {}).items()},
                )
                for k in data.get("kinds") or []
            ],
            costs={
                str(kind): {str(r): int(c) for r, c in prices.items()}
                for kind, prices in (data.get("costs") or {}).items()
            },
            engines=[
                EngineInfo(
                    name=str(e.get("name", "")),
                    description=str(e.get("description", "")),
                    generative=_bool(e.get("generative")),
                    kinds=[str(k) for k in e.get("kinds") or []],
                )
                for e in data.get("engines") or []
            ],
            plans=[Plan.from_json(p) for p in data.get("plans") or []],
            raw=dict(data),
        )


@dataclass(frozen=True)
class UsageTotals:
    credits_spent: int  # captured for good; refunded renders spend nothing
    renders: int  # renders that spent their credits within the window


@dataclass(frozen=True)
class UsageGroup:
    """One row of a usage report: a project code or a member."""

    group: str | None  # the project code (None: renders sent without one) or the member's id
    label: str  # what to show: the code or "(no project)", or the member's email
    credits_spent: int
    renders: int


@dataclass(frozen=True)
class Usage:
    """Credits spent and renders within [start, end), one row per project or member, most
    credits first; the rows add up to `total`."""

    group_by: str  # "project" or "member"
    start: datetime | None  # included
    end: datetime | None  # excluded
    data: list[UsageGroup]
    total: UsageTotals
    raw: dict[str, Any] = field(repr=False, compare=False)

    def __iter__(self) -> Iterator[UsageGroup]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        total = data.get("total") or {}
        return cls(
            group_by=str(data.get("group_by", "")),
            start=_time(data.get("from")),
            end=_time(data.get("to")),
            data=[
                UsageGroup(
                    group=None if row.get("group") is None else str(row["group"]),
                    label=str(row.get("label", "")),
                    credits_spent=_int(row.get("credits_spent")) or 0,
                    renders=_int(row.get("renders")) or 0,
                )
                for row in data.get("data") or []
            ],
            total=UsageTotals(
                credits_spent=_int(total.get("credits_spent")) or 0,
                renders=_int(total.get("renders")) or 0,
            ),
            raw=dict(data),
        )
