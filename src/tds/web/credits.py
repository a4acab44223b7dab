"""The credits page: the packs on sale (bought through Stripe Checkout by owners and admins),
the team's purchases, and the pages Stripe sends the buyer back to."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tds.api.deps import BaseUrl, RuntimeDep
from tds.billing import service as billing
from tds.billing.service import Cashier
from tds.exceptions import InternalError
from tds.models import Account
from tds.web.deps import CheckedUser, User
from tds.web.templating import page

router = APIRouter()

SUCCESS_WORDS = {
    "granted": "Thank you: the credits are in the team's balance.",
    "already_granted": "Thank you: the credits are in the team's balance.",
    "not_paid": "Stripe has not confirmed the payment yet; the credits are added as soon as "
    "it does. This page does not need to stay open.",
}


@router.get("/credits")
async def credits_page(request: Request, rt: RuntimeDep, user: User) -> Response:
    bought = await rt.db.run_read(billing.purchases, user.account_id)
    return page(
        request,
        "credits.html",
        user,
        selling=billing.selling(rt.settings),
        packs=billing.on_sale(rt.settings),
        purchases=bought,
    )


@router.post("/credits/checkout")
async def checkout(
    rt: RuntimeDep,
    user: CheckedUser,
    base: BaseUrl,
    pack: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    started = await Cashier(rt.db, rt.settings).start(user.principal, pack, base=base)
    return RedirectResponse(started.url, status_code=303)  # Stripe's payment page


@router.get("/credits/success")
async def success(
    request: Request,
    rt: RuntimeDep,
    user: User,
    session_id: Annotated[str, Query(max_length=255)] = "",
) -> Response:
    # Stripe's fulfilment guide: fulfil on the way back as well as from the webhook (the same
    # function, safe to call twice), so the credits are there when the buyer looks.
    outcome = "not_paid"
    if session_id and billing.selling(rt.settings):
        try:
            outcome = await Cashier(rt.db, rt.settings).fulfil(
                session_id, account_id=user.account_id
            )
        except InternalError:
            outcome = "not_paid"  # Stripe unreachable: the webhook grants it later
    if outcome not in SUCCESS_WORDS:
        outcome = "not_paid"
    # The balance in the header is read before the grant: read the user again.
    if outcome == "granted":
        credits, held = await rt.db.run_read(_balance, user.account_id)
        user = dataclasses.replace(user, credits=credits, credits_held=held)
    return page(request, "credits_return.html", user, paid=True, words=SUCCESS_WORDS[outcome])


@router.get("/credits/cancel")
async def cancel(request: Request, user: User) -> Response:
    return page(
        request,
        "credits_return.html",
        user,
        paid=False,
        words="The payment was canceled; nothing was charged.",
    )


def _balance(session: Session, account_id: str) -> tuple[int, int]:
    account = session.get_one(Account, account_id)
    return account.credits, account.credits_held
