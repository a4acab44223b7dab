"""A loopback fake of the two Stripe API endpoints tds uses, and Stripe's webhook signing.

A real HTTP server on 127.0.0.1 (a free port, a thread) that answers, in Stripe's documented
wire format:

- `POST /v1/checkout/sessions`: a form-encoded body (`application/x-www-form-urlencoded`, nested
  parameters in brackets: `line_items[0][price_data][unit_amount]=1900`), authenticated by
  `Authorization: Bearer <secret key>`; answers the Checkout Session object (`id` `cs_test_…`,
  `object` "checkout.session", `mode`, `status` "open", `payment_status` "unpaid", `url`,
  `amount_subtotal`, `amount_total`, `currency`, `client_reference_id`, `metadata`,
  `success_url`, `cancel_url`, `created`, `expires_at` (24 h later), `livemode`,
  `payment_intent` …). An `Idempotency-Key` seen before answers the first answer again (a
  different body with it: 400 `idempotency_error`).
- `GET /v1/checkout/sessions/{id}`: that session as it is now; 404 `resource_missing` for an
  unknown id.

Errors are Stripe's error object, `{"error": {"type", "code", "message", "param", "doc_url"}}`:
401 for a missing or wrong key (type `invalid_request_error`, "Invalid API Key provided: …",
the key masked), 400 `parameter_missing` / `parameter_unknown` / `parameter_invalid_integer`,
404 `resource_missing`. Every answer has a `Request-Id: req_…` header. The fake is stricter
than Stripe in one way: a top-level parameter it does not list is a 400, so tds cannot send one
the fake does not check.

Tests play the buyer with `pay(session_id)` (the session becomes `complete` and `paid`, with a
PaymentIntent) or `complete_unpaid(session_id)` (complete, payment still `unpaid`: a delayed
payment method), then build the event Stripe would send (`event(...)`: `{"id": "evt_…",
"object": "event", "type", "data": {"object": <the session>}, "created", "livemode",
"api_version", "pending_webhooks", "request"}`) and sign it as Stripe does (`sign(...)`).

Documents followed:
- https://docs.stripe.com/api/checkout/sessions/create and /retrieve, and the Checkout
  Session object (https://docs.stripe.com/api/checkout/sessions/object);
- https://docs.stripe.com/api/errors (the error object and HTTP statuses) and
  https://docs.stripe.com/error-codes (parameter_missing, parameter_unknown, resource_missing);
- https://docs.stripe.com/api/authentication (Bearer secret keys) and
  https://docs.stripe.com/api/idempotent_requests;
- https://docs.stripe.com/api/events/object (the event envelope) and
  https://docs.stripe.com/webhooks#verify-manually (the `Stripe-Signature` header:
  `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint secret>`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

KEY = "sk_test_fake51TdsStripeKey0000000000"
WEBHOOK_SECRET = "whsec_fakeTdsWebhookSecret000000000"
API_VERSION = "2026-11-17.clover"
SESSION_PARAMS = frozenset(
    {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "payment_intent_data",
        "customer_email",
        "expand",
    }
)


class Problem(Exception):
    def __init__(self, status: int, code: str | None, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": "invalid_request_error", "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into objects: `a[b][0][c]=v` → {"a": {"b": [{"c": v}]}}."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = re.findall(r"[^\[\]]+", name)
        if not parts:
            continue
        node: Any = root
        for here, after in zip(parts, [*parts[1:], None], strict=True):
            key: Any = int(here) if isinstance(node, list) else here
            if after is None:
                if isinstance(node, list):
                    node.extend([None] * (key + 1 - len(node)))
                node[key] = value
                break
            child: Any = [] if after.isdigit() else {}
            if isinstance(node, list):
                node.extend([None] * (key + 1 - len(node)))
                node[key] = node[key] if node[key] is not None else child
                node = node[key]
            else:
                node = node.setdefault(key, child)
    return root


def _integer(value: Any, param: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise Problem(400, "parameter_invalid_integer", f"Invalid integer: {value}", param)
    return int(value)


def _mask(key: str) -> str:
    return f"{key[:8]}{'*' * 12}{key[-4:]}" if len(key) > 12 else "****"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class FakeStripe:
    key: str = KEY
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._replies: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeStripe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the buyer does on Stripe's page ---

    def pay(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=f"pi_{secrets.token_hex(12)}",
            )
            return json.loads(json.dumps(session))

    def complete_unpaid(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="unpaid")
            return json.loads(json.dumps(session))

    def session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.sessions[session_id]))

    # --- the API ---

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - SESSION_PARAMS)
        if unknown:
            raise Problem(
                400, "parameter_unknown", f"Received unknown parameter: {unknown[0]}", unknown[0]
            )
        mode = params.get("mode")
        if mode is None:
            raise Problem(400, "parameter_missing", "Missing required param: mode.", "mode")
        if mode not in ("payment", "setup", "subscription"):
            raise Problem(
                400,
                "parameter_invalid_string",
                "Invalid mode: must be one of payment, setup, or subscription",
                "mode",
            )
        items = params.get("line_items")
        if mode == "payment" and not items:
            raise Problem(
                400,
                "parameter_missing",
                "Missing required param: line_items.",
                "line_items",
            )
        total, currency = 0, None
        for n, item in enumerate(items or []):
            where = f"line_items[{n}]"
            if not isinstance(item, dict):
                raise Problem(400, "parameter_invalid_object", "Invalid object", where)
            quantity = _integer(item.get("quantity"), f"{where}[quantity]")
            price = item.get("price_data")
            if not isinstance(price, dict):
                raise Problem(
                    400,
                    "parameter_missing",
                    f"Missing required param: {where}[price_data].",
                    f"{where}[price_data]",
                )
            for name in ("currency", "unit_amount"):
                if name not in price:
                    raise Problem(
                        400,
                        "parameter_missing",
                        f"Missing required param: {where}[price_data][{name}].",
                        f"{where}[price_data][{name}]",
                    )
            product = price.get("product_data")
            if not isinstance(product, dict) or not product.get("name"):
                raise Problem(
                    400,
                    "parameter_missing",
                    f"Missing required param: {where}[price_data][product_data][name].",
                    f"{where}[price_data][product_data][name]",
                )
            unit = _integer(price["unit_amount"], f"{where}[price_data][unit_amount]")
            total += unit * quantity
            currency = price["currency"]
        metadata = params.get("metadata") or {}
        if len(metadata) > 50 or any(len(k) > 40 or len(v) > 500 for k, v in metadata.items()):
            raise Problem(400, "parameter_invalid_string", "Invalid metadata", "metadata")
        reference = params.get("client_reference_id")
        if reference is not None and len(reference) > 200:
            raise Problem(
                400,
                "parameter_invalid_string_too_long",
                "Invalid string: client_reference_id must be at most 200 characters",
                "client_reference_id",
            )
        session_id = f"cs_test_{secrets.token_hex(24)}"
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": reference,
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_email": params.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "livemode": False,
            "metadata": metadata,
            "mode": mode,
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"{self.url}/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return session

    def _retrieve(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise Problem(
                404, "resource_missing", f"No such checkout.session: '{session_id}'", "session"
            )
        return session

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401,
                None,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        if not hmac.compare_digest(token, self.key):
            raise Problem(401, None, f"Invalid API Key provided: {_mask(token)}")
        if method == "POST" and path == "/v1/checkout/sessions":
            if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                raise Problem(400, None, "Invalid request: the body must be form-encoded.")
            params = _nest(parse_qsl(body.decode(), keep_blank_values=True))
            self.calls.append(Call(method, path, headers, params))
            key = headers.get("idempotency-key")
            if key and key in self._replies:
                was_body, status, answer = self._replies[key]
                if was_body != body.decode():
                    raise Problem(
                        400,
                        None,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    )
                return status, answer
            answer = self._create(params)
            if key:
                self._replies[key] = (body.decode(), 200, answer)
            return 200, answer
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path)
        if method == "GET" and match:
            self.calls.append(Call(method, path, headers, {}))
            return 200, self._retrieve(match.group(1))
        raise Problem(404, None, f"Unrecognized request URL ({method}: {path}).")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = self.path.split("?", 1)[0]
                try:
                    with fake.lock:
                        status, answer = fake._handle(method, path, headers, body)
                except Problem as problem:
                    status, answer = problem.status, problem.body()
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
                self.send_header("Stripe-Version", headers.get("stripe-version", API_VERSION))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="Stripe"')
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._answer("POST")

            def do_GET(self) -> None:
                self._answer("GET")

        return Handler


def event(
    session: dict[str, Any], type: str = "checkout.session.completed", event_id: str = ""
) -> dict[str, Any]:
    """The event Stripe sends for `session` (a Checkout Session as the fake holds it)."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload`, made as Stripe documents it."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + payload
    v1 = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"
