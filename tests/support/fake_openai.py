"""A loopback fake of OpenAI's Images API edit endpoint, for the openai engine's tests.

A real HTTP server on 127.0.0.1 (a free port, a thread) that speaks the documented wire format
of `POST /v1/images/edits`, so the engine's real `openai` SDK client talks to it unchanged:

- the request: `Authorization: Bearer <key>`; `multipart/form-data` with `image[]` (or
  `image`) files (PNG, JPEG or WebP, up to 16, under 50 MB each), `prompt` (up to 32,000
  characters), `model`, `size`, `quality`, `n`, `output_format`, `input_fidelity`, `mask`,
  `background`, `output_compression`, `user`, `safety_identifier`; any other field is refused
  as OpenAI does (400 "Unknown parameter").
- what each model takes, checked like the API: the standard sizes `1024x1024`, `1536x1024`,
  `1024x1536` (and `auto`) everywhere, any `WIDTHxHEIGHT` (multiples of 16, aspect within
  1:3–3:1, at most 3840 px a side, 655,360–8,294,400 px) on `gpt-image-2` and the
  `gpt-image-2.5` models; `input_fidelity` on `gpt-image-1` and `gpt-image-1.5` only
  (`gpt-image-1-mini`: `low` only; others answer 400 `invalid_input_fidelity_model`);
  `xhigh`/`max` quality on the 2.5 models only; a retired model answers 404
  `model_not_found`.
- the success body: `{"created", "background", "data": [{"b64_json"}], "output_format",
  "quality", "size", "usage": {...}}`, with an `x-request-id` header.
- errors as OpenAI's error object `{"error": {"message", "type", "param", "code"}}`: 400 (bad
  request; `moderation_blocked` from the safety system), 401 (`invalid_api_key`), 403, 404,
  429 (`rate_limit_exceeded` with `retry-after` / `retry-after-ms`, and `insufficient_quota`),
  500 and 503 (`server_error`); and replies that are slow, or not what the schema says.

Documents followed:
- API reference, Images › Create image edit:
  https://developers.openai.com/api/reference/resources/images/methods/edit (as generated
  into the `openai` SDK 3.60's `resources/images.py` and `types/image_edit_params.py`,
  `types/images_response.py`, read in the installed package)
- Image generation guide: https://developers.openai.com/api/docs/guides/image-generation
- Error codes: https://platform.openai.com/docs/guides/error-codes (401 invalid_api_key, 429
  rate_limit_exceeded / insufficient_quota, 500 server_error, 503 overloaded)
- The error bodies of the safety system (`moderation_blocked`, type
  `image_generation_user_error`) and of `input_fidelity` on gpt-image-2
  (`invalid_input_fidelity_model`) as quoted from the API in
  https://github.com/vulca-org/vulca-visual-control-sdk/issues/12 and
  https://github.com/openai/codex/issues/38582.

One deliberate strictness: a wrong key is echoed in full in the 401 message (OpenAI masks long
keys, not necessarily short ones), so the tests prove the engine keeps it out of its messages.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

KEY = "sk-test-fake-openai-0123456789abcdef"
STANDARD_SIZES = {"1024x1024", "1536x1024", "1024x1536", "auto"}
FLEXIBLE = re.compile(r"gpt-image-2(\.5-(sunburst|flare))?(-\d{4}-\d{2}-\d{2})?")
FIDELITY = re.compile(r"gpt-image-1(\.5)?(-\d{4}-\d{2}-\d{2})?")
QUALITIES = {"low", "medium", "high", "auto"}
MODELS = {
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "chatgpt-image-latest",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
}
RETIRED = {"gpt-image-1", "dall-e-2", "dall-e-3"}
FIELDS = {
    "prompt",
    "model",
    "size",
    "quality",
    "n",
    "output_format",
    "input_fidelity",
    "background",
    "output_compression",
    "user",
    "safety_identifier",
}
FILES = {"image", "image[]", "mask"}


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    @property
    def images(self) -> list[Upload]:
        return self.files.get("image[]", []) + self.files.get("image", [])


@dataclass
class Reply:
    """What the fake answers to one request (by default: an image of the size asked for)."""

    status: int = 200
    error: dict[str, Any] | None = None  # OpenAI's error object, sent as {"error": error}
    body: bytes | None = None  # a raw body instead (answers the schema does not allow)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    image: bytes | None = None  # decoded b64_json instead of a generated PNG
    size: tuple[int, int] | None = None  # answer this size instead of the one asked for


def error(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"message": message, "type": kind, "param": param, "code": code}
    return Reply(status=status, error=body, headers=headers or {})


def rate_limited(retry_after: str | None = "1", *, retry_after_ms: str | None = None) -> Reply:
    headers = {"x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "0"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    message = (
        "Rate limit reached for gpt-image-2.5-sunburst in organization org-fake on images per "
        "minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 12s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    return error(429, message, "requests", "rate_limit_exceeded", headers=headers)


def out_of_quota() -> Reply:
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors."
    )
    return error(429, message, "insufficient_quota", "insufficient_quota")


def refused() -> Reply:
    message = (
        "Your request was rejected by the safety system. If you believe this is an error, "
        "contact us at help.openai.com and include the request ID req_fake0001. "
        "safety_violations=[violence]."
    )
    return error(400, message, "image_generation_user_error", "moderation_blocked")


def server_error(status: int = 500) -> Reply:
    if status == 503:
        return error(
            503, "The engine is currently overloaded, please try again later", "server_error"
        )
    message = "The server had an error while processing your request. Sorry about that!"
    return error(status, message, "server_error")


def forbidden() -> Reply:
    message = "Project `proj_fake` does not have access to model `gpt-image-2.5-sunburst`"
    return error(403, message, "invalid_request_error", "model_not_found")


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> Reply:
    return error(400, message, "invalid_request_error", code, param)


def slow(seconds: float) -> Reply:
    return Reply(delay=seconds)


def raw(body: bytes, content_type: str = "application/json") -> Reply:
    return Reply(body=body, content_type=content_type)


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


class FakeOpenAI:
    """The fake on a free loopback port: `url` is its base URL (…/v1), `requests` what it got.

    `queue(*replies)` scripts the next answers; when none is queued it answers `default`
    (None: a success). `serve_retired` serves retired models too (as an OpenAI-compatible
    proxy still might)."""

    def __init__(
        self,
        key: str = KEY,
        colour: tuple[int, int, int] = (180, 120, 60),
        serve_retired: bool = False,
    ) -> None:
        self.key = key
        self.colour = colour
        self.serve_retired = serve_retired
        self.default: Reply | None = None
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._count = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def edits(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/images/edits"]

    # -- answering ------------------------------------------------------------------------

    def _next(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            self._count += 1

    def answer(self, request: Request) -> tuple[Reply, dict[str, Any] | None]:
        """The reply to `request` and, for a success, its JSON body."""
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return error(401, message, "invalid_request_error"), None
        if authorization[7:] != self.key:
            message = (
                f"Incorrect API key provided: {authorization[7:]}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            return error(401, message, "invalid_request_error", "invalid_api_key"), None
        if (request.method, request.path) != ("POST", "/v1/images/edits"):
            message = f"Invalid URL ({request.method} {request.path})"
            return error(404, message, "invalid_request_error"), None
        problem = self._invalid(request)
        if problem is not None:
            return problem, None
        reply = self._next() or Reply()
        if reply.status != 200 or reply.body is not None:
            return reply, None
        fields = request.fields
        size = fields.get("size", "auto")
        width, height = reply.size or ((1024, 1024) if size == "auto" else _parse_size(size))
        image = reply.image if reply.image is not None else png((width, height), self.colour)
        quality = fields.get("quality", "auto")
        body = {
            "created": int(time.time()),
            "background": "opaque",
            "data": [{"b64_json": base64.b64encode(image).decode("ascii")}],
            "output_format": fields.get("output_format", "png"),
            "quality": "high" if quality == "auto" else quality,
            "size": f"{width}x{height}",
            "usage": {
                "input_tokens": 1200,
                "input_tokens_details": {"image_tokens": 1100, "text_tokens": 100},
                "output_tokens": 4160,
                "total_tokens": 5360,
            },
        }
        return reply, body

    def _invalid(self, request: Request) -> Reply | None:
        """OpenAI's 400/404 for a request it would refuse, or None."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return bad_request("Invalid Content-Type header, expected multipart/form-data.")
        for name in [*request.fields, *request.files]:
            if name not in FIELDS | FILES:
                return bad_request(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        fields = request.fields
        images = request.images
        if not images:
            return bad_request(
                "Missing required parameter: 'image'.", "image", "missing_required_parameter"
            )
        if len(images) > 16:
            return bad_request("Too many images: up to 16.", "image")
        for upload in images:
            if not _is_image(upload.data) or len(upload.data) >= 50 * 1024 * 1024:
                return bad_request(
                    "Invalid image file or mode for image 1, please check your image file.",
                    "image",
                    "invalid_image_file",
                )
        prompt = fields.get("prompt", "")
        if not prompt.strip():
            return bad_request(
                "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
            )
        if len(prompt) > 32_000:
            return bad_request(
                "Invalid 'prompt': string too long.", "prompt", "string_above_max_length"
            )
        model = fields.get("model", "")
        if model in RETIRED and not self.serve_retired:
            return error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if model not in MODELS | RETIRED:
            return error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        size = fields.get("size", "auto")
        if FLEXIBLE.fullmatch(model):
            if size != "auto" and not _flexible_ok(size):
                return bad_request(f"Invalid size '{size}' for model '{model}'.", "size")
        elif size not in STANDARD_SIZES:
            return bad_request(
                f"Invalid value: '{size}'. Supported values are: '1024x1024', '1024x1536', "
                "'1536x1024', and 'auto'.",
                "size",
            )
        fidelity = fields.get("input_fidelity")
        if fidelity is not None:
            takes = {"high", "low"} if FIDELITY.fullmatch(model) else set()
            if model.startswith("gpt-image-1-mini"):
                takes = {"low"}
            if not takes:
                return error(
                    400,
                    f"The model '{model}' does not support the 'input_fidelity' parameter.",
                    "image_generation_user_error",
                    "invalid_input_fidelity_model",
                    "input_fidelity",
                )
            if fidelity not in takes:
                return bad_request(
                    f"Invalid value for 'input_fidelity': '{fidelity}'.", "input_fidelity"
                )
        quality = fields.get("quality", "auto")
        qualities = QUALITIES | ({"xhigh", "max"} if model.startswith("gpt-image-2.5") else set())
        if quality not in qualities:
            return bad_request(
                f"The model '{model}' does not support quality '{quality}'", "quality"
            )
        n = fields.get("n", "1")
        if not n.isdigit() or not 1 <= int(n) <= 10:
            return bad_request(f"Invalid 'n': {n!r}; expected 1 to 10.", "n")
        if fields.get("output_format", "png") not in {"png", "jpeg", "webp"}:
            return bad_request("Invalid 'output_format'.", "output_format")
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _read(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(self.command, self.path, headers)
                if headers.get("content-type", "").startswith("multipart/form-data"):
                    _parse_multipart(headers["content-type"], body, request)
                fake._record(request)
                return request

            def _send(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str]
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("x-request-id", f"req_fake{fake._count:04d}")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a read timeout): nothing to answer

            def _serve(self) -> None:
                request = self._read()
                reply, body = fake.answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if body is not None:
                    data = json.dumps(body).encode()
                elif reply.body is not None:
                    data = reply.body
                else:
                    data = json.dumps({"error": reply.error}).encode()
                self._send(reply.status, data, reply.content_type, reply.headers)

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

        return Handler


def _parse_multipart(content_type: str, body: bytes, request: Request) -> None:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    assert isinstance(message, EmailMessage)
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            request.fields[name] = data.decode("utf-8")
        else:
            upload = Upload(filename, part.get_content_type(), data)
            request.files.setdefault(name, []).append(upload)


def _parse_size(size: str) -> tuple[int, int]:
    width, _, height = size.partition("x")
    return int(width), int(height)


def _flexible_ok(size: str) -> bool:
    match = re.fullmatch(r"(\d+)x(\d+)", size)
    if match is None:
        return False
    width, height = int(match.group(1)), int(match.group(2))
    return (
        width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 3840
        and max(width, height) <= 3 * min(width, height)
        and 655_360 <= width * height <= 8_294_400
    )


def _is_image(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )
