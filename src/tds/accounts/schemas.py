from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tds.catalogue import Plan as PlanData
from tds.engines.base import Kind


class Plan(BaseModel):
    id: str
    name: str
    monthly_credits: int
    max_resolution: str
    kinds: list[Kind]
    max_in_flight: int = Field(description="Renders processed at once; more wait in the queue.")

    @classmethod
    def of(cls, plan: PlanData) -> Plan:
        return cls(
            id=plan.id,
            name=plan.name,
            monthly_credits=plan.monthly_credits,
            max_resolution=plan.max_resolution,
            kinds=sorted(plan.kinds),
            max_in_flight=plan.max_in_flight,
        )


class Me(BaseModel):
    object: Literal["account"] = "account"
    id: str
    email: str
    plan: Plan
    credits: int = Field(description="Credits available to spend now.")
    credits_held: int = Field(description="Credits set aside by renders in flight.")
    created_at: datetime
