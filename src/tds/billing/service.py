"""Selling credit packs: start a Stripe Checkout, and grant a paid one exactly once.

The flow Stripe documents for Checkout (docs.stripe.com/checkout/fulfillment): tds creates a
Checkout Session for one pack and records it (`credit_purchases`); the buyer pays on Stripe's
page; Stripe sends `checkout.session.completed` (and, for payment methods that settle later,
`checkout.session.async_payment_succeeded`) to the webhook, and the buyer comes back to the
success page. Both call `Cashier.fulfil`, which must be safe to call any number of times: it
retrieves the session from Stripe, checks it is paid and is the one recorded (team, amount,
currency), and grants the credits recorded at creation, never amounts from the event.

Exactly once: the grant, the guarded `UPDATE credit_purchases SET granted_at … WHERE
granted_at IS NULL` and the event's row (`stripe_events`, keyed by Stripe's event id) are one
transaction. A replayed event fails on its key and grants nothing; a second event for the same
session, or the success page after the webhook, finds the purchase granted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tds.billing import packs, stripe_api
from tds.billing.packs import Pack
from tds.billing.stripe_api import CheckoutSession, Event
from tds.config import Settings
from tds.credits import ledger
from tds.exceptions import Forbidden, InternalError, NotFound
from tds.keys.service import Principal
from tds.kit.db import Database, changed_rows, utcnow
from tds.kit.ids import new_id
from tds.models import CreditPurchase, StripeEvent

log = logging.getLogger("tds.billing")

MANAGERS = ("owner", "admin")
# The events that can mean a Checkout Session was paid (docs.stripe.com/checkout/fulfillment).
FULFILLING_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")

Outcome = Literal[
    "granted",  # this call granted the pack's credits
    "already_granted",  # an earlier event (or the success page) did
    "replayed",  # this event was handled before: nothing more
    "not_paid",  # the session is not paid (yet): nothing
    "mismatch",  # the session is not the one recorded (team, amount, currency): nothing
    "unknown_session",  # not a session tds created: nothing
    "ignored",  # an event type tds does not act on
]

NOT_SOLD = (
    "This server does not sell credits (no Stripe settings): ask your administrator for credits."
)


def selling(settings: Settings) -> bool:
    return settings.stripe_configured


def on_sale(settings: Settings) -> tuple[Pack, ...]:
    """The packs for sale here: none without Stripe settings. A broken packs file sells
    nothing: InternalError, and the log names the file and the pack."""
    if not selling(settings):
        return ()
    try:
        return packs.load(settings.credit_packs_file)
    except ValueError as error:
        log.error("%s", error)
        raise InternalError(
            "The credit packs on sale cannot be read; nothing was charged. Ask your "
            "administrator (the server log says what is wrong)."
        ) from None


def check_may_buy(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden(
            "Only the team's owners and admins can buy credits; ask one of them to buy a pack."
        )


@dataclass(frozen=True)
class Started:
    purchase_id: str
    checkout_session_id: str
    url: str
    pack: Pack


def _record(
    session: Session, purchase_id: str, checkout: CheckoutSession, principal: Principal, pack: Pack
) -> None:
    session.add(
        CreditPurchase(
            id=purchase_id,
            checkout_session_id=checkout.id,
            account_id=principal.account_id,
            member_id=principal.member_id,
            pack_id=pack.id,
            credits=pack.credits,
            amount=pack.price,
            currency=pack.currency,
        )
    )


def _purchase(session: Session, checkout_session_id: str) -> CreditPurchase | None:
    return session.scalar(
        select(CreditPurchase).where(CreditPurchase.checkout_session_id == checkout_session_id)
    )


def _seen(session: Session, event_id: str) -> bool:
    return session.get(StripeEvent, event_id) is not None


def purchases(session: Session, account_id: str, limit: int = 10) -> list[CreditPurchase]:
    """The team's latest purchases, granted or not, newest first."""
    return list(
        session.scalars(
            select(CreditPurchase)
            .where(CreditPurchase.account_id == account_id)
            .order_by(CreditPurchase.created_at.desc())
            .limit(limit)
        )
    )


def _settle(
    session: Session, purchase_id: str, event: Event | None, verdict: Outcome, note: str
) -> Outcome:
    """Grant the purchase once when `verdict` is "granted", and record the event, in one unit
    of work. IntegrityError (the caller's replay) when the event was recorded meanwhile."""
    outcome = verdict
    if verdict == "granted":
        purchase = session.get_one(CreditPurchase, purchase_id)
        changed = changed_rows(
            session,
            update(CreditPurchase)
            .where(CreditPurchase.id == purchase_id, CreditPurchase.granted_at.is_(None))
            .values(granted_at=utcnow(), event_id=event.id if event else None)
            .execution_options(synchronize_session=False),
        )
        if changed == 1:
            ledger.grant(
                session,
                purchase.account_id,
                purchase.credits,
                note,
                source="purchase",
                member_id=purchase.member_id,
            )
        else:
            outcome = "already_granted"
    if event is not None:
        session.add(
            StripeEvent(
                id=event.id,
                type=event.type,
                checkout_session_id=event.object.get("id"),
                outcome=outcome,
            )
        )
        session.flush()  # a twin's row makes this raise IntegrityError, rolling all back
    return outcome


def _verdict(purchase: CreditPurchase, checkout: CheckoutSession) -> Outcome:
    if (
        checkout.id != purchase.checkout_session_id
        or checkout.client_reference_id != purchase.account_id
        or checkout.amount_total != purchase.amount
        or (checkout.currency or "").lower() != purchase.currency
    ):
        log.error(
            "Stripe Checkout Session %s does not match purchase %s (team, amount or currency): "
            "nothing granted",
            checkout.id,
            purchase.id,
        )
        return "mismatch"
    return "granted" if checkout.payment_status == "paid" else "not_paid"


@dataclass(frozen=True)
class Cashier:
    """What selling credits needs: the database and the settings (Stripe's, the packs')."""

    db: Database
    settings: Settings

    def _require_stripe(self) -> None:
        if not selling(self.settings):
            raise NotFound(NOT_SOLD)

    async def start(self, principal: Principal, pack_id: str, *, base: str) -> Started:
        """Create a Checkout Session for one pack, bought by `principal` for their team, and
        record it; where to send the buyer (Stripe's payment page)."""
        self._require_stripe()
        check_may_buy(principal)
        pack = packs.find(on_sale(self.settings), pack_id)
        purchase_id = new_id("pur")
        metadata = {
            "tds_purchase_id": purchase_id,
            "tds_account_id": principal.account_id,
            "tds_member_id": principal.member_id,
            "tds_pack_id": pack.id,
            "tds_credits": str(pack.credits),
        }
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": pack.currency,
                        "unit_amount": pack.price,
                        "product_data": {
                            "name": pack.name,
                            "description": f"{pack.credits:,} tds credits; they never expire.",
                        },
                    },
                }
            ],
            # Stripe replaces {CHECKOUT_SESSION_ID} with the session's id on the way back.
            "success_url": f"{base}/credits/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base}/credits/cancel",
            "client_reference_id": principal.account_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        checkout = await anyio.to_thread.run_sync(
            lambda: stripe_api.create_checkout(self.settings, params, idempotency_key=purchase_id)
        )
        if not checkout.url:
            raise InternalError(
                "The payment provider answered without a payment page; nothing was charged."
            )
        await self.db.run_write(_record, purchase_id, checkout, principal, pack)
        log.info(
            "checkout %s started for pack %s by %s in %s",
            checkout.id,
            pack.id,
            principal.member_id,
            principal.account_id,
        )
        return Started(purchase_id, checkout.id, checkout.url, pack)

    async def handle(self, payload: bytes, signature: str | None) -> tuple[Event, Outcome]:
        """A webhook delivery: verify it, then act on it (at most once per event)."""
        self._require_stripe()
        event = stripe_api.verified_event(self.settings, payload, signature)
        if event.type not in FULFILLING_EVENTS or event.object.get("object") not in (
            None,
            "checkout.session",
        ):
            return event, "ignored"
        session_id = event.object.get("id")
        if not isinstance(session_id, str) or not session_id:
            return event, "ignored"
        return event, await self.fulfil(session_id, event)

    async def fulfil(
        self, checkout_session_id: str, event: Event | None = None, *, account_id: str = ""
    ) -> Outcome:
        """Grant the purchase behind a Checkout Session if Stripe says it is paid, once
        however often it is called. With `account_id`, only that team's purchase (the success
        page: anyone may type a session id into its address)."""
        self._require_stripe()
        purchase = await self.db.run_read(_purchase, checkout_session_id)
        if purchase is None or (account_id and purchase.account_id != account_id):
            if event is not None:
                log.warning(
                    "Stripe event %s names Checkout Session %s, which tds did not create: ignored",
                    event.id,
                    checkout_session_id,
                )
            return "unknown_session"
        if event is not None and await self.db.run_read(_seen, event.id):
            return "replayed"
        verdict: Outcome = "already_granted"
        if purchase.granted_at is None:
            checkout = await anyio.to_thread.run_sync(
                stripe_api.retrieve_checkout, self.settings, checkout_session_id
            )
            verdict = _verdict(purchase, checkout)
        pack_name = purchase.pack_id
        for pack in on_sale(self.settings):
            if pack.id == purchase.pack_id:
                pack_name = pack.name
        note = f"Bought {pack_name} (Stripe {checkout_session_id})"
        if verdict == "already_granted" and event is None:
            return verdict
        try:
            outcome = await self.db.run_write(_settle, purchase.id, event, verdict, note)
        except IntegrityError:
            return "replayed"  # a twin delivery of the same event committed first
        if outcome == "granted":
            log.info(
                "purchase %s granted: %s credits to %s",
                purchase.id,
                purchase.credits,
                purchase.account_id,
            )
        return outcome
