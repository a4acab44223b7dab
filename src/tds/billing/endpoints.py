"""/api/v1/billing: the credit packs on sale, a checkout for scripts, and Stripe's webhook."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tds.api.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.api.openapi import errors
from tds.billing import schemas
from tds.billing.packs import Pack
from tds.billing.service import Cashier, on_sale, selling

router = APIRouter(tags=["billing"])

SIGNATURE_HEADER = "Stripe-Signature"


def pack_out(pack: Pack) -> schemas.CreditPack:
    return schemas.CreditPack(
        id=pack.id, name=pack.name, credits=pack.credits, price=pack.price, currency=pack.currency
    )


@router.get(
    "/billing/packs",
    summary="The credit packs on sale",
    description="Empty, with `selling` false, where this server does not sell credits (no "
    "Stripe settings): credits come from your administrator.",
    response_model=schemas.CreditPacks,
    responses=errors(),
)
async def list_packs(principal: ApiPrincipal, rt: RuntimeDep) -> schemas.CreditPacks:
    return schemas.CreditPacks(
        selling=selling(rt.settings), data=[pack_out(p) for p in on_sale(rt.settings)]
    )


@router.post(
    "/billing/checkout",
    status_code=201,
    summary="Start buying a credit pack (owners and admins)",
    description="Creates a Stripe Checkout Session for one pack and answers its payment page's "
    "`url`: open it in a browser to pay. The credits are added to the team once Stripe "
    "confirms the payment (its webhook), exactly once. 404 where this server does not sell "
    "credits; 403 for a member who is not an owner or admin.",
    response_model=schemas.Checkout,
    responses=errors(400, 403, 404),
)
async def create_checkout(
    body: schemas.CheckoutCreate, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> schemas.Checkout:
    started = await Cashier(rt.db, rt.settings).start(principal, body.pack, base=base)
    return schemas.Checkout(
        id=started.checkout_session_id, url=started.url, pack=pack_out(started.pack)
    )


# Stripe's, not the API's: no API key (the Stripe-Signature header is checked instead), and
# not in the OpenAPI document. docs/billing.md says how to register it.
@router.post("/billing/stripe/webhook", include_in_schema=False)
async def stripe_webhook(request: Request, rt: RuntimeDep) -> Response:
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    _, outcome = await Cashier(rt.db, rt.settings).handle(
        payload, request.headers.get(SIGNATURE_HEADER)
    )
    answer = schemas.WebhookAck(outcome=outcome)
    return Response(answer.model_dump_json(), media_type="application/json")
