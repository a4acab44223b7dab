"""A loopback fake of Google's Gemini API (generateContent), for the gemini engine's tests.

It speaks the wire format as Google documents it:

- the endpoint and the key: `POST /v1beta/models/{model}:generateContent`, the API key in the
  `x-goog-api-key` header (or `?key=`), JSON in and out
  (https://ai.google.dev/api, https://ai.google.dev/api/generate-content);
- the request: `contents[].parts[]` holding `inlineData {mimeType, data}` or `text`, bytes as
  base64, standard or URL-safe (https://protobuf.dev/programming-guides/json/),
  `generationConfig.responseModalities`, `seed` and `imageConfig {aspectRatio, imageSize}`
  (https://ai.google.dev/api/generate-content#generationconfig,
  https://ai.google.dev/gemini-api/docs/image-generation); the REST API reads proto JSON, so
  both lowerCamelCase and snake_case field names are accepted, as the SDK mixes them
  (`inlineData` holding `mime_type`);
- the answer: `candidates[0].content.parts[].inlineData {mimeType, data}`, `finishReason`,
  `usageMetadata`, `modelVersion`, `responseId`; a blocked prompt is `promptFeedback.blockReason`
  with no candidate; a blocked output a candidate whose `finishReason` is IMAGE_SAFETY (or
  SAFETY, PROHIBITED_CONTENT, …) and no image (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse,
  https://ai.google.dev/gemini-api/docs/safety-settings); thought parts carry `thought: true`
  (https://ai.google.dev/gemini-api/docs/thinking);
- the image sizes: 1K by aspect ratio as in the image-generation guide's table (1:1 1024×1024,
  16:9 1344×768, 4:3 1184×864, …), 2K and 4K twice and four times that;
- errors: Google's `{"error": {"code", "message", "status", "details"}}` with the statuses of
  https://ai.google.dev/gemini-api/docs/troubleshooting (400 INVALID_ARGUMENT and
  FAILED_PRECONDITION, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500
  INTERNAL, 503 UNAVAILABLE); a key that is not valid is 400 INVALID_ARGUMENT with a
  `google.rpc.ErrorInfo` of reason API_KEY_INVALID, a 429 carries `google.rpc.RetryInfo`
  (`retryDelay`) and, when told, a Retry-After header (https://cloud.google.com/apis/design/errors).

Tests script the answers (`fake.answer(...)` queues them, `fake.default` answers the rest),
make one slow (`delay`), and read every request back from `fake.requests`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

API_KEY = "AIzaSyFAKE-gemini-test-key-7f3a9c"
MODELS = frozenset({"gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-2.5-flash-image"})
# 1K sizes by aspect ratio (the image-generation guide's table); 2K and 4K are ×2 and ×4.
SIZES_1K: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
SCALES = {"1K": 1, "2K": 2, "4K": 4}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
TOP_LEVEL = {
    "contents",
    "generationConfig",
    "safetySettings",
    "systemInstruction",
    "tools",
    "toolConfig",
    "cachedContent",
}
GENERATION_CONFIG = {
    "responseModalities",
    "seed",
    "imageConfig",
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseMimeType",
    "thinkingConfig",
}
IMAGE_CONFIG = {"aspectRatio", "imageSize"}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _field(obj: dict[str, Any], name: str) -> Any:
    """A field by its lowerCamelCase name or its snake_case one (proto JSON takes both)."""
    if name in obj:
        return obj[name]
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
    return obj.get(snake)


def decode_bytes(text: str) -> bytes:
    """A proto JSON `bytes` value: standard or URL-safe base64, padded or not (the SDK sends
    URL-safe); binascii.Error when it is neither."""
    if not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", text):
        raise binascii.Error("not base64")
    padded = text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


def _unknown(obj: dict[str, Any], known: set[str]) -> list[str]:
    return [key for key in obj if _camel(key) not in known]


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a JSON body (None: the generated image), or raw bytes."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow model
    colour: tuple[int, int, int] = (180, 120, 60)
    thoughts: int = 0  # draft images marked `thought: true` before the final one
    image_data: bytes | None = None  # the inline data instead of a PNG of `colour`


def image(
    colour: tuple[int, int, int] = (180, 120, 60), *, delay: float = 0.0, thoughts: int = 0
) -> Answer:
    return Answer(colour=colour, delay=delay, thoughts=thoughts)


def google_error(
    code: int,
    status: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return Answer(status=code, body={"error": error}, headers=headers or {})


def rate_limited(retry_after: str | None = None, retry_delay: str | None = "0.01s") -> Answer:
    details = [{"@type": RETRY_INFO, "retryDelay": retry_delay}] if retry_delay else []
    return google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        details,
        {"Retry-After": retry_after} if retry_after is not None else None,
    )


def bad_request(message: str = "Request contains an invalid argument.") -> Answer:
    return google_error(400, "INVALID_ARGUMENT", message)


def key_not_valid(message: str = "API key not valid. Please pass a valid API key.") -> Answer:
    return google_error(
        400,
        "INVALID_ARGUMENT",
        message,
        [
            {
                "@type": ERROR_INFO,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    )


def permission_denied() -> Answer:
    return google_error(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


def unauthenticated() -> Answer:
    return google_error(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.",
    )


def failed_precondition() -> Answer:
    return google_error(
        400,
        "FAILED_PRECONDITION",
        "User location is not supported for the API use.",
    )


def server_error() -> Answer:
    return google_error(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    )


def unavailable() -> Answer:
    return google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


def blocked(reason: str = "PROHIBITED_CONTENT") -> Answer:
    """The prompt (image or text) blocked: promptFeedback, no candidate."""
    return Answer(body={"promptFeedback": {"blockReason": reason}, "modelVersion": "{model}"})


def stopped(reason: str = "IMAGE_SAFETY", text: str | None = None) -> Answer:
    """A candidate that ended without an image: blocked output (IMAGE_SAFETY …), NO_IMAGE, or a
    model that only wrote (STOP with text)."""
    candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
    if text is not None:
        candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    return Answer(body={"candidates": [candidate], "modelVersion": "{model}"})


def not_json() -> Answer:
    return Answer(raw=b"<html><body>502 Bad Gateway</body></html>")


def not_an_image() -> Answer:
    return Answer(image_data=b"<html>this is not a picture</html>")


# -- what was asked -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON (None when it was not JSON)

    @property
    def parts(self) -> list[dict[str, Any]]:
        contents = _field(self.body, "contents") or []
        return [part for content in contents for part in (_field(content, "parts") or [])]

    @property
    def text(self) -> str:
        return " ".join(str(part["text"]) for part in self.parts if "text" in part)

    @property
    def inline(self) -> dict[str, Any]:
        found = [_field(part, "inlineData") for part in self.parts]
        blobs = [blob for blob in found if blob]
        assert len(blobs) == 1, blobs
        return {"mimeType": _field(blobs[0], "mimeType"), "data": _field(blobs[0], "data")}

    def image(self) -> Image.Image:
        with Image.open(io.BytesIO(decode_bytes(self.inline["data"]))) as opened:
            opened.load()
            return opened.convert("RGB")

    @property
    def generation_config(self) -> dict[str, Any]:
        config = _field(self.body, "generationConfig") or {}
        return {_camel(key): value for key, value in config.items()}

    @property
    def image_config(self) -> dict[str, Any]:
        config = self.generation_config.get("imageConfig") or {}
        return {_camel(key): value for key, value in config.items()}


class Rejected(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


# -- the server ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a read timeout under test) closes the socket mid-answer.
        pass


class FakeGemini:
    """Google's Gemini API generateContent on a loopback port."""

    def __init__(self, key: str = API_KEY, models: frozenset[str] = MODELS) -> None:
        self.key = key
        self.models = models
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.queued: list[Answer] = []
        self.default: Answer = image()
        self._pngs: dict[tuple[tuple[int, int], tuple[int, int, int]], bytes] = {}
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests so, in order (then `default`)."""
        with self.lock:
            self.queued.extend(answers)

    @property
    def calls(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def _next(self) -> Answer:
        with self.lock:
            return self.queued.pop(0) if self.queued else self.default

    def png(self, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
        with self.lock:
            cached = self._pngs.get((size, colour))
        if cached is None:
            buffer = io.BytesIO()
            Image.new("RGB", size, colour).save(buffer, "PNG")
            cached = buffer.getvalue()
            with self.lock:
                self._pngs[(size, colour)] = cached
        return cached

    # -- checking a request as Google would ------------------------------------------------

    def _check(self, request: Request) -> str:
        """The model asked for; Rejected with Google's answer when the request is not valid."""
        match = re.fullmatch(r"/v1beta/models/([^/:]+):generateContent", request.path)
        if request.method != "POST" or not match:
            raise Rejected(
                google_error(404, "NOT_FOUND", f"The requested URL {request.path} was not found.")
            )
        key = request.headers.get("x-goog-api-key") or (request.query.get("key") or [""])[0]
        if not key:
            raise Rejected(permission_denied())
        if key != self.key:
            raise Rejected(key_not_valid())
        model = match.group(1)
        if model not in self.models:
            raise Rejected(
                google_error(
                    404,
                    "NOT_FOUND",
                    f"models/{model} is not found for API version v1beta, or is not supported "
                    "for generateContent. Call ListModels to see the list of available models "
                    "and their supported methods.",
                )
            )
        body = request.body
        if not isinstance(body, dict):
            raise Rejected(bad_request("Invalid JSON payload received."))
        self._check_fields(body, TOP_LEVEL, "")
        contents = _field(body, "contents")
        if not isinstance(contents, list) or not contents:
            raise Rejected(
                bad_request("* GenerateContentRequest.contents: contents is not specified")
            )
        for content in contents:
            parts = _field(content, "parts") if isinstance(content, dict) else None
            if not isinstance(parts, list) or not parts:
                raise Rejected(
                    bad_request(
                        "* GenerateContentRequest.contents[0].parts: "
                        "contents.parts must not be empty."
                    )
                )
            for part in parts:
                self._check_part(part)
        config = _field(body, "generationConfig") or {}
        self._check_fields(config, GENERATION_CONFIG, "generation_config")
        image_config = _field(config, "imageConfig") or {}
        self._check_fields(image_config, IMAGE_CONFIG, "generation_config.image_config")
        ratio = _field(image_config, "aspectRatio")
        if ratio is not None and ratio not in SIZES_1K:
            raise Rejected(bad_request(f"Unsupported aspect ratio: {ratio}."))
        size = _field(image_config, "imageSize")
        if size is not None and size not in SCALES:
            raise Rejected(bad_request(f"Unsupported image size: {size}."))
        return model

    def _check_fields(self, obj: Any, known: set[str], where: str) -> None:
        if not isinstance(obj, dict):
            raise Rejected(bad_request(f"Invalid value at '{where}'."))
        for name in _unknown(obj, known):
            at = f" at '{where}'" if where else ""
            raise Rejected(
                bad_request(
                    f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
                )
            )

    def _check_part(self, part: Any) -> None:
        if not isinstance(part, dict):
            raise Rejected(bad_request("Invalid value at 'contents[0].parts[0]'."))
        blob = _field(part, "inlineData")
        if blob is None:
            if not isinstance(part.get("text"), str):
                raise Rejected(
                    bad_request(
                        "* GenerateContentRequest.contents[0].parts[0].data: "
                        "required oneof field 'data' must have one initialized field"
                    )
                )
            return
        mime = _field(blob, "mimeType")
        if mime not in IMAGE_TYPES:
            raise Rejected(bad_request(f"Unsupported MIME type: {mime}"))
        try:
            decode_bytes(str(_field(blob, "data") or ""))
        except (binascii.Error, ValueError):
            raise Rejected(
                bad_request(
                    "Invalid value at 'contents[0].parts[0].inline_data.data' "
                    "(TYPE_BYTES), Base64 decoding failed."
                )
            ) from None

    # -- answering --------------------------------------------------------------------------

    def _success(self, request: Request, model: str, answer: Answer) -> dict[str, Any]:
        image_config = request.image_config
        ratio = image_config.get("aspectRatio") or "1:1"
        scale = SCALES.get(image_config.get("imageSize") or "1K", 1)
        width, height = SIZES_1K[ratio]
        size = (width * scale, height * scale)
        modalities = [
            str(m).upper()
            for m in request.generation_config.get("responseModalities") or ["TEXT", "IMAGE"]
        ]
        parts: list[dict[str, Any]] = []
        for _ in range(answer.thoughts):
            draft = self.png(size, (0, 0, 255))
            parts.append({"text": "Sketching the composition first.", "thought": True})
            parts.append(
                {
                    "inlineData": {
                        "mimeType": "image/png",
                        "data": base64.b64encode(draft).decode(),
                    },
                    "thought": True,
                }
            )
        if "IMAGE" not in modalities:
            parts.append({"text": "Here is a description of the render you asked for."})
        else:
            data = (
                answer.image_data
                if answer.image_data is not None
                else self.png(size, answer.colour)
            )
            parts.append(
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}
            )
        return {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": 1290,
                "candidatesTokenCount": 1290 * scale * scale,
                "totalTokenCount": 1290 + 1290 * scale * scale,
            },
            "modelVersion": model,
            "responseId": f"fake-{len(self.requests)}",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                with fake.lock:
                    fake.requests.append(request)
                try:
                    model = fake._check(request)
                except Rejected as rejected:
                    answer, model = rejected.answer, ""
                else:
                    answer = fake._next()
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.raw is not None:
                    self._send(answer.status, answer.raw, answer.headers)
                    return
                payload = (
                    answer.body
                    if answer.body is not None
                    else fake._success(request, model, answer)
                )
                data = json.dumps(payload).replace('"{model}"', json.dumps(model)).encode()
                self._send(answer.status, data, answer.headers)

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

        return Handler


@contextmanager
def running(key: str = API_KEY) -> Iterator[FakeGemini]:
    fake = FakeGemini(key)
    try:
        yield fake
    finally:
        fake.close()
