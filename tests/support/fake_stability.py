"""A loopback fake of Stability AI's Stable Image API (v2beta), for the stability engine's tests.

A real HTTP server on 127.0.0.1 (a free port, a thread) that speaks the documented wire format
of the five endpoints the engine uses:

- `POST /v2beta/stable-image/control/structure` and `/control/sketch`: `image`, `prompt`, and
  optionally `control_strength` (0–1), `negative_prompt`, `seed`, `output_format`,
  `style_preset`; the answer has the input's resolution;
- `POST /v2beta/stable-image/edit/inpaint`: `image`, `prompt`, optionally `mask`,
  `negative_prompt`, `grow_mask`, `seed`, `output_format`, `style_preset`; 4 megapixels out;
- `POST /v2beta/stable-image/upscale/conservative`: `image`, `prompt`, optionally
  `negative_prompt`, `seed`, `output_format`, `creativity` (0.2–0.5); 4 megapixels out;
- `POST /v2beta/stable-image/upscale/fast`: `image`, optionally `output_format`; 4× the input.

Requests are `multipart/form-data` with `authorization: Bearer <key>` and `accept: image/*`
(the image's bytes, `finish-reason` and `seed` as headers) or `application/json` (`image` in
base64, `finish_reason`, `seed`). Images are checked against each endpoint's validation rules
(every side ≥ 64 px, 4,096 to 9,437,184 px, aspect ratio within 1:2.5 and 2.5:1 where the
reference says so; the fast upscaler: sides 32 to 1,536 px, 1,024 to 1,048,576 px), bodies over
10 MiB are 413 `payload_too_large`, and every error is `{"id", "name", "errors": [...]}`: 400
`bad_request`, 403 `content_moderation`, 422 `public_figure`, 429 `rate_limit_exceeded`, 500
`internal_error`, with the documented example messages. A 200 may carry `finish-reason:
CONTENT_FILTERED` (the output came back blurred). The fake is stricter than the service in one
way: a field the reference does not list for an endpoint is a 400, so the engine cannot send
one. The reference documents no 401 for these paths; the fake answers a wrong key with 401
`unauthorized` (the name the API's v1 reference gives it) in the v2beta error shape, with a
message of its own, and 403 `permission_denied` (v1's name and example) when told to. Nor
does it document a Retry-After header on 429 (its example says the key "has been timed out for
60 seconds"); the fake sends one unless told not to.

Documents followed:
- https://platform.stability.ai/docs/api-reference (tags Control, Edit, Upscale; its OpenAPI
  document, https://api.stability.ai/v2beta/openapi.json, as mirrored in
  github.com/tryAGI/StabilityAI src/libs/StabilityAI/openapi.yaml: request schemas, response
  headers, ContentModerationResponse, the 400/403/413/422/429/500 bodies and examples);
- https://platform.stability.ai/docs/getting-started/authentication (Bearer keys);
- a real 400 body quoted in github.com/jezs00/pycasso/issues/86
  (`{"errors": ["content-type: must be multipart/form-data"], "id": …, "name": "bad_request"}`).

Tests steer it with `fake.script(*outcomes)` (one per coming request, then successes),
`fake.stall()` / `fake.release()` (hold answers until released: a slow provider), and read
what the engine sent in `fake.requests`.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from PIL import Image, ImageFilter, UnidentifiedImageError

KEY = "sk-fake-stability-7c1e5b0a9d"
MAX_BODY = 10 * 1024 * 1024
FOUR_MP = 4 * 1024 * 1024

Outcome = Literal[
    "ok",
    "rate_limited",  # 429
    "server_error",  # 500
    "moderation",  # 403 content_moderation
    "permission",  # 403 permission_denied
    "public_figure",  # 422
    "bad_request",  # 400
    "filtered",  # 200, finish-reason CONTENT_FILTERED, blurred
    "not_image",  # 200 whose body is no image
]


@dataclass(frozen=True)
class Rules:
    """An endpoint's documented image rules."""

    min_side: int = 64
    max_side: int | None = None
    min_pixels: int = 4_096
    max_pixels: int = 9_437_184
    max_aspect: float | None = 2.5


@dataclass(frozen=True)
class Endpoint:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    rules: Rules
    output: Literal["same", "4mp", "x4"]
    numbers: dict[str, tuple[float, float]] = field(default_factory=dict)


STYLE = ("style_preset",)
SEED = {"seed": (0.0, 4_294_967_294.0)}
ENDPOINTS: dict[str, Endpoint] = {
    "/v2beta/stable-image/control/structure": Endpoint(
        ("image", "prompt"),
        ("control_strength", "negative_prompt", "seed", "output_format", *STYLE),
        Rules(),
        "same",
        {"control_strength": (0.0, 1.0), **SEED},
    ),
    "/v2beta/stable-image/control/sketch": Endpoint(
        ("image", "prompt"),
        ("control_strength", "negative_prompt", "seed", "output_format", *STYLE),
        Rules(),
        "same",
        {"control_strength": (0.0, 1.0), **SEED},
    ),
    "/v2beta/stable-image/edit/inpaint": Endpoint(
        ("image", "prompt"),
        ("mask", "negative_prompt", "grow_mask", "seed", "output_format", *STYLE),
        Rules(max_aspect=None),
        "4mp",
        {"grow_mask": (0.0, float("inf")), **SEED},
    ),
    "/v2beta/stable-image/upscale/conservative": Endpoint(
        ("image", "prompt"),
        ("negative_prompt", "seed", "output_format", "creativity"),
        Rules(),
        "4mp",
        {"creativity": (0.2, 0.5), **SEED},
    ),
    "/v2beta/stable-image/upscale/fast": Endpoint(
        ("image",),
        ("output_format",),
        Rules(min_side=32, max_side=1536, min_pixels=1_024, max_pixels=1_048_576, max_aspect=None),
        "x4",
    ),
}
FILES = ("image", "mask")

MESSAGES = {
    "content_moderation": "Your request was flagged by our content moderation system, as a "
    "result your request was denied and you were not charged.",
    "public_figure": "Our system detected the likeness of a public figure in your image. To "
    "comply with our guidelines, this request cannot be processed. Please upload a different "
    "image.",
    "rate_limit_exceeded": "You have exceeded the rate limit of 150 requests within a 10 second "
    "period, and have been timed out for 60 seconds.",
    "internal_error": "An unexpected server error has occurred, please try again later.",
    "payload_too_large": "body: payloads cannot be larger than 10MiB in size",
    "unauthorized": "authorization: invalid or missing API key",
    "permission_denied": "You do not have permission to access this resource",
}


@dataclass
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name, type, data

    def image(self, name: str = "image") -> Image.Image:
        opened = Image.open(io.BytesIO(self.files[name][2]))
        opened.load()
        return opened


class Problem(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


class FakeStability:
    """The API on one loopback server; `url` is its base URL (TDS_STABILITY_BASE_URL)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.outcomes: deque[Outcome] = deque()
        self.retry_after: str | None = "2"
        self.answered = threading.Semaphore(0)
        self._hold = threading.Event()
        self._hold.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    # -- steering ----------------------------------------------------------------------------

    def script(self, *outcomes: Outcome) -> None:
        """The answers to the next requests, in order; successes after them."""
        with self.lock:
            self.outcomes.extend(outcomes)

    def stall(self) -> None:
        """Hold every answer (after the request is recorded) until `release`."""
        self._hold.clear()

    def release(self) -> None:
        self._hold.set()

    def calls(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    # -- the API -----------------------------------------------------------------------------

    def _next_outcome(self) -> Outcome:
        with self.lock:
            return self.outcomes.popleft() if self.outcomes else "ok"

    def _handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        path = handler.path.split("?", 1)[0]
        request = Request(handler.command, path, headers)
        with self.lock:
            self.requests.append(request)
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise Problem(413, "payload_too_large", MESSAGES["payload_too_large"])
        body = handler.rfile.read(length) if length else b""
        self._hold.wait(60)
        endpoint = ENDPOINTS.get(path)
        if endpoint is None or handler.command != "POST":
            raise Problem(404, "not_found", f"{handler.command} {path}: no such route")
        if headers.get("authorization") != f"Bearer {KEY}":
            raise Problem(401, "unauthorized", MESSAGES["unauthorized"])
        content_type = headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise Problem(400, "bad_request", "content-type: must be multipart/form-data")
        accept = headers.get("accept", "image/*")
        if accept not in ("image/*", "application/json"):
            raise Problem(400, "bad_request", "accept: must be image/* or application/json")
        request.fields, request.files = _parse(content_type, body)
        image = _validate(request, endpoint)
        outcome = self._next_outcome()
        if outcome == "rate_limited":
            raise Problem(429, "rate_limit_exceeded", MESSAGES["rate_limit_exceeded"])
        if outcome == "server_error":
            raise Problem(500, "internal_error", MESSAGES["internal_error"])
        if outcome == "moderation":
            raise Problem(403, "content_moderation", MESSAGES["content_moderation"])
        if outcome == "permission":
            raise Problem(403, "permission_denied", MESSAGES["permission_denied"])
        if outcome == "public_figure":
            raise Problem(422, "public_figure", MESSAGES["public_figure"])
        if outcome == "bad_request":
            raise Problem(400, "bad_request", "prompt: must not contain the word zorblax")
        return _generated(request, endpoint, image, accept, outcome)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so no client keeps a socket open after a
            # test (an unclosed one would be a ResourceWarning, an error under pytest here).
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("x-request-id", uuid.uuid4().hex)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def _answer(self) -> None:
                try:
                    status, headers, body = fake._handle(self)
                except Problem as problem:
                    error = {
                        "id": uuid.uuid4().hex,
                        "name": problem.name,
                        "errors": [problem.message],
                    }
                    headers = {"Content-Type": "application/json"}
                    if problem.status == 429 and fake.retry_after is not None:
                        headers["Retry-After"] = fake.retry_after
                    status, body = problem.status, json.dumps(error).encode()
                self._send(status, headers, body)
                fake.answered.release()

            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

        return Handler


def _parse(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise Problem(400, "bad_request", "body: must be multipart/form-data")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise Problem(400, "bad_request", "body: a part without a name")
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _number(fields: dict[str, str], name: str, low: float, high: float) -> None:
    if name not in fields:
        return
    try:
        value = float(fields[name])
    except ValueError:
        raise Problem(400, "bad_request", f"{name}: must be a number") from None
    if not (low <= value <= high) or math.isnan(value):
        raise Problem(400, "bad_request", f"{name}: must be between {low:g} and {high:g}")


def _validate(request: Request, endpoint: Endpoint) -> Image.Image:
    sent = set(request.fields) | set(request.files)
    for name in endpoint.required:
        if name not in sent:
            raise Problem(400, "bad_request", f"{name}: is required")
    unknown = sorted(sent - set(endpoint.required) - set(endpoint.optional))
    if unknown:
        raise Problem(400, "bad_request", f"{unknown[0]}: is not a parameter of this endpoint")
    for name in sent & set(FILES):
        if name not in request.files:
            raise Problem(400, "bad_request", f"{name}: must be a file")
    prompt = request.fields.get("prompt")
    if prompt is not None and not 1 <= len(prompt) <= 10_000:
        raise Problem(400, "bad_request", "prompt: must be 1 to 10000 characters")
    if len(request.fields.get("negative_prompt", "")) > 10_000:
        raise Problem(400, "bad_request", "negative_prompt: must be at most 10000 characters")
    if request.fields.get("output_format", "png") not in ("jpeg", "png", "webp"):
        raise Problem(400, "bad_request", "output_format: must be one of jpeg, png, webp")
    for name, (low, high) in endpoint.numbers.items():
        _number(request.fields, name, low, high)
    try:
        image = request.image()
    except (UnidentifiedImageError, OSError):
        raise Problem(400, "bad_request", "image: is not a jpeg, png or webp image") from None
    if image.format not in ("JPEG", "PNG", "WEBP"):
        raise Problem(400, "bad_request", "image: must be jpeg, png or webp")
    rules, (width, height) = endpoint.rules, image.size
    if min(width, height) < rules.min_side:
        raise Problem(400, "bad_request", f"image: every side must be at least {rules.min_side}")
    if rules.max_side is not None and max(width, height) > rules.max_side:
        raise Problem(400, "bad_request", f"image: sides must be at most {rules.max_side}")
    if not rules.min_pixels <= width * height <= rules.max_pixels:
        raise Problem(
            400,
            "bad_request",
            f"image: total pixel count must be between {rules.min_pixels:,} and "
            f"{rules.max_pixels:,}",
        )
    if rules.max_aspect is not None and max(width, height) > rules.max_aspect * min(width, height):
        raise Problem(400, "bad_request", "image: aspect ratio must be between 1:2.5 and 2.5:1")
    if "mask" in request.files:
        try:
            request.image("mask")
        except (UnidentifiedImageError, OSError):
            raise Problem(400, "bad_request", "mask: is not an image") from None
    return image


def _generated(
    request: Request, endpoint: Endpoint, image: Image.Image, accept: str, outcome: Outcome
) -> tuple[int, dict[str, str], bytes]:
    """The input itself at the endpoint's output size (so tests can follow the pixels back)."""
    width, height = image.size
    if endpoint.output == "4mp":
        scale = math.sqrt(FOUR_MP / (width * height))
        size = (round(width * scale), round(height * scale))
    elif endpoint.output == "x4":
        scale = min(4.0, math.sqrt(16 * 1024 * 1024 / (width * height)))
        size = (round(width * scale), round(height * scale))
    else:
        size = (width, height)
    picture = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    finish = "SUCCESS"
    if outcome == "filtered":
        picture, finish = picture.filter(ImageFilter.GaussianBlur(12)), "CONTENT_FILTERED"
    fmt = request.fields.get("output_format", "png")
    buffer = io.BytesIO()
    picture.save(buffer, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt])
    data = buffer.getvalue()
    if outcome == "not_image":
        data = b"<html><body>502 Bad Gateway</body></html>"
    seed = request.fields.get("seed", "0")
    seed = seed if seed not in ("", "0") else "343940597"
    if accept == "application/json":
        body: dict[str, Any] = {"image": base64.b64encode(data).decode()}
        body |= {"finish_reason": finish, "seed": int(float(seed))}
        headers = {"Content-Type": f"application/json; type=image/{fmt}"}
        return 200, headers, json.dumps(body).encode()
    headers = {"Content-Type": f"image/{fmt}", "finish-reason": finish, "seed": seed}
    return 200, headers, data
