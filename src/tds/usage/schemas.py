"""Response bodies of /api/v1/usage."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

GroupBy = Literal["project", "member"]

GROUP_EXAMPLE: JsonDict = {
    "object": "usage_group",
    "group": "2026-017 Harbour Lofts",
    "label": "2026-017 Harbour Lofts",
    "credits_spent": 120,
    "renders": 12,
}
USAGE_EXAMPLE: JsonDict = {
    "object": "usage",
    "group_by": "project",
    "from": "2026-12-01T00:00:00Z",
    "to": "2026-12-04T18:10:00Z",
    "data": [
        GROUP_EXAMPLE,
        {
            "object": "usage_group",
            "group": None,
            "label": "(no project)",
            "credits_spent": 30,
            "renders": 3,
        },
    ],
    "total": {"credits_spent": 150, "renders": 15},
}


class UsageTotals(BaseModel):
    credits_spent: int = Field(description="Credits spent for good: captured holds, no refunds.")
    renders: int = Field(description="Renders that spent their credits (finished) in the window.")


class UsageGroup(UsageTotals):
    model_config = ConfigDict(json_schema_extra={"examples": [GROUP_EXAMPLE]})

    object: Literal["usage_group"] = "usage_group"
    group: str | None = Field(
        description="The project code (null: renders sent without one), or the member's account id."
    )
    label: str = Field(
        description='What to show: the project code or "(no project)", or the member\'s email.'
    )


class Usage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [USAGE_EXAMPLE]}
    )

    object: Literal["usage"] = "usage"
    group_by: GroupBy
    start: datetime = Field(alias="from", description="The window's start (included).")
    end: datetime = Field(alias="to", description="The window's end (excluded).")
    data: list[UsageGroup] = Field(description="One row per group, most credits first.")
    total: UsageTotals = Field(description="The sum of every group: the ledger's for the window.")
