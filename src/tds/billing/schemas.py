"""Bodies of /api/v1/billing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

PACK_EXAMPLE: JsonDict = {
    "object": "credit_pack",
    "id": "starter",
    "name": "Starter: 200 credits",
    "credits": 200,
    "price": 1900,
    "currency": "usd",
}
PACKS_EXAMPLE: JsonDict = {"object": "list", "selling": True, "data": [PACK_EXAMPLE]}
CHECKOUT_EXAMPLE: JsonDict = {
    "object": "checkout",
    "id": "cs_test_a1b2c3d4e5f6g7h8i9j0",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5f6g7h8i9j0",
    "pack": PACK_EXAMPLE,
}
WEBHOOK_EXAMPLE: JsonDict = {"received": True, "outcome": "granted"}


class CreditPack(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PACK_EXAMPLE]})

    object: Literal["credit_pack"] = "credit_pack"
    id: str = Field(description="The pack's id, to pass to POST /api/v1/billing/checkout.")
    name: str
    credits: int = Field(description="Credits it adds to the team; bought credits never expire.")
    price: int = Field(description="Its price in the currency's smallest unit (cents).")
    currency: str = Field(description="ISO 4217, lower case.")


class CreditPacks(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PACKS_EXAMPLE]})

    object: Literal["list"] = "list"
    selling: bool = Field(
        description="Whether this server sells credits (Stripe is configured); false: ask your "
        "administrator for credits."
    )
    data: list[CreditPack]


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pack": "starter"}]})

    pack: str = Field(max_length=64, description="The id of the pack to buy.")


class Checkout(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CHECKOUT_EXAMPLE]})

    object: Literal["checkout"] = "checkout"
    id: str = Field(description="The Stripe Checkout Session's id.")
    url: str = Field(
        description="Stripe's payment page: open it in a browser to pay. The credits are added "
        "once Stripe confirms the payment."
    )
    pack: CreditPack


class WebhookAck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WEBHOOK_EXAMPLE]})

    received: bool = True
    outcome: str
