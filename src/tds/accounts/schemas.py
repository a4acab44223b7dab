from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tds.catalogue import Kind
from tds.catalogue import Plan as PlanData


class Plan(BaseModel):
    id: str
    name: str
    monthly_credits: int
    max_resolution: str
    kinds: list[Kind]
    max_in_flight: int = Field(description="Renders processed at once; more wait in the queue.")

    @classmethod
    @functools.cache
    def of(cls, plan: PlanData) -> Plan:
        return cls(
            id=plan.id,
            name=plan.name,
            monthly_credits=plan.monthly_credits,
            max_resolution=plan.max_resolution,
            kinds=sorted(plan.kinds),
            max_in_flight=plan.max_in_flight,
        )


class TeamRef(BaseModel):
    id: str = Field(description="The team's account id: your own account's when you work alone.")
    name: str
    role: Literal["owner", "admin", "member"] = Field(description="Your role in the team.")


class MonthlyCap(BaseModel):
    limit: int = Field(description="Credits you may spend in the team each calendar month (UTC).")
    spent: int = Field(description="Spent or held this month.")
    left: int
    period: str = Field(description="The month counted, e.g. 2026-12.")


class Me(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "account",
                    "id": "acc_4Qx9LmT2bV7nR1sK8dZp",
                    "email": "studio@example.com",
                    "plan": {
                        "id": "pro",
                        "name": "Pro",
                        "monthly_credits": 1000,
                        "max_resolution": "4k",
                        "kinds": ["enhance", "refine", "render", "staging", "video"],
                        "max_in_flight": 4,
                    },
                    "credits": 90,
                    "credits_held": 10,
                    "created_at": "2026-11-28T12:00:00Z",
                    "team": {
                        "id": "acc_4Qx9LmT2bV7nR1sK8dZp",
                        "name": "studio@example.com",
                        "role": "owner",
                    },
                    "monthly_cap": None,
                }
            ]
        }
    )

    object: Literal["account"] = "account"
    id: str
    email: str
    plan: Plan
    credits: int = Field(description="Credits available to spend now (the team's, shared).")
    credits_held: int = Field(description="Credits set aside by renders in flight.")
    created_at: datetime
    team: TeamRef = Field(description="The team whose credits the key spends.")
    monthly_cap: MonthlyCap | None = Field(
        description="Your monthly cap in the team, set by its owners and admins; null: none."
    )
