"""The two Stripe calls tds makes, through Stripe's own library (`stripe`):

- `POST /v1/checkout/sessions` (create a Checkout Session: docs.stripe.com/api/checkout/
  sessions/create), and
- `GET /v1/checkout/sessions/{id}` (retrieve one: docs.stripe.com/api/checkout/sessions/
  retrieve), which fulfilment asks before it grants (docs.stripe.com/checkout/fulfillment),

plus the webhook signature check (`Stripe-Signature`, docs.stripe.com/webhooks#verify-events),
done by the library's `construct_event`. The API's base URL is TDS_STRIPE_API_BASE, so the
same code talks to Stripe and to the tests' loopback fake. Both calls are blocking: callers run
them in a worker thread.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import stripe

from tds.config import Settings
from tds.exceptions import InvalidRequest, PaymentProviderFailed

log = logging.getLogger("tds.billing")

_clients: dict[tuple[str, str], stripe.StripeClient] = {}
_lock = threading.Lock()


def client(settings: Settings) -> stripe.StripeClient:
    """One StripeClient per (API base, key), kept: it holds a connection pool."""
    assert settings.stripe_secret_key is not None
    key = settings.stripe_secret_key.get_secret_value()
    with _lock:
        found = _clients.get((settings.stripe_api_base, key))
        if found is None:
            found = _clients[(settings.stripe_api_base, key)] = stripe.StripeClient(
                key,
                base_addresses={"api": settings.stripe_api_base.rstrip("/")},
                # The library retries connection errors and 409/429/5xx with its own
                # Idempotency-Key, so a retried create makes one session.
                max_network_retries=2,
            )
        return found


@dataclass(frozen=True)
class CheckoutSession:
    """What tds reads of a Checkout Session."""

    id: str
    url: str | None
    status: str | None  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    amount_total: int | None
    currency: str | None
    client_reference_id: str | None
    metadata: dict[str, str]

    @classmethod
    def of(cls, stripe_object: Any) -> CheckoutSession:
        session: dict[str, Any] = stripe_object.to_dict()
        return cls(
            id=session["id"],
            url=session.get("url"),
            status=session.get("status"),
            payment_status=session.get("payment_status") or "unpaid",
            amount_total=session.get("amount_total"),
            currency=session.get("currency"),
            client_reference_id=session.get("client_reference_id"),
            metadata={str(k): str(v) for k, v in (session.get("metadata") or {}).items()},
        )


def _failed(error: stripe.StripeError, doing: str) -> PaymentProviderFailed:
    # The operator's problem (a wrong key, Stripe down), never the buyer's: logged in full,
    # answered plainly. The library's message names no secret (it masks keys).
    log.error("Stripe refused %s: %s (HTTP %s)", doing, error.user_message, error.http_status)
    return PaymentProviderFailed(
        f"The payment provider could not {doing} just now; nothing was charged. Try again in "
        "a minute, or ask your administrator."
    )


def create_checkout(
    settings: Settings, params: dict[str, Any], *, idempotency_key: str
) -> CheckoutSession:
    try:
        session = client(settings).v1.checkout.sessions.create(
            params,  # type: ignore[arg-type]  # the TypedDict of every Stripe parameter
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise _failed(error, "start a checkout") from None
    return CheckoutSession.of(session)


def retrieve_checkout(settings: Settings, session_id: str) -> CheckoutSession:
    try:
        session = client(settings).v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as error:
        raise _failed(error, "confirm a payment") from None
    return CheckoutSession.of(session)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object: dict[str, Any]


def verified_event(settings: Settings, payload: bytes, signature: str | None) -> Event:
    """The event in `payload` once its `Stripe-Signature` matches TDS_STRIPE_WEBHOOK_SECRET and
    its timestamp is within the library's tolerance (300 s); InvalidRequest (400) otherwise."""
    assert settings.stripe_webhook_secret is not None
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret.get_secret_value()
        )
    except stripe.SignatureVerificationError as error:
        raise InvalidRequest(
            f"The Stripe-Signature header does not verify this payload ({error.user_message}).",
            param="Stripe-Signature",
        ) from None
    except (ValueError, KeyError, TypeError):  # signed, but not an event's JSON
        raise InvalidRequest("The webhook payload is not a Stripe event.") from None
    found: dict[str, Any] = event.to_dict()
    data = found.get("data") or {}
    obj = data.get("object") or {}
    return Event(id=str(found["id"]), type=str(found["type"]), object=dict(obj))
