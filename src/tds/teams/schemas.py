from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Role = Literal["owner", "admin", "member"]


_MEMBER_EXAMPLE: dict[str, JsonValue] = {
    "object": "member",
    "id": "acc_7Tn2QwE5rY8uI1oP4aSd",
    "email": "ana@studio.example",
    "role": "member",
    "monthly_cap": 200,
    "cap_left": 150,
    "joined_at": "2026-12-01T09:00:00Z",
}


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MEMBER_EXAMPLE]})

    object: Literal["member"] = "member"
    id: str = Field(description="The member's account id.")
    email: str
    role: Role
    monthly_cap: int | None = Field(description="Credits a calendar month (UTC); null: no cap.")
    cap_left: int | None = Field(description="What the cap leaves this month; null: no cap.")
    joined_at: datetime


class TeamOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "team",
                    "id": "acc_4Qx9LmT2bV7nR1sK8dZp",
                    "name": "Studio North",
                    "role": "owner",
                    "credits": 900,
                    "credits_held": 10,
                    "members": [_MEMBER_EXAMPLE],
                }
            ]
        }
    )

    object: Literal["team"] = "team"
    id: str = Field(description="The team's account id: the account whose credits it shares.")
    name: str
    role: Role = Field(description="Your role in the team.")
    credits: int
    credits_held: int
    members: list[MemberOut]


class TeamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    role: Literal["member", "admin"] = "member"


class InvitationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "invitation",
                    "team_id": "acc_4Qx9LmT2bV7nR1sK8dZp",
                    "email": "ana@studio.example",
                    "role": "member",
                    "expires_at": "2026-12-11T09:00:00Z",
                }
            ]
        }
    )

    object: Literal["invitation"] = "invitation"
    team_id: str
    email: str
    role: Role
    expires_at: datetime


class MemberUpdate(BaseModel):
    """Send only what changes; `"monthly_cap": null` removes the cap."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    monthly_cap: int | None = Field(default=None, ge=0, le=10**9)


class MemberRemoved(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "member",
                    "id": "acc_7Tn2QwE5rY8uI1oP4aSd",
                    "removed": True,
                    "keys_revoked": ["key_9Hs3Kd8Lq2Wm5Xv1Bn7C"],
                }
            ]
        }
    )

    object: Literal["member"] = "member"
    id: str
    removed: Literal[True] = True
    keys_revoked: list[str] = Field(description="The member's keys for the team, revoked now.")
