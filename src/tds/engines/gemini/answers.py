"""Gemini's answers read: the image of a generateContent response, a safety refusal, and an
error answer turned into the EngineError the render fails with.

Response fields as documented (https://ai.google.dev/api/generate-content#generatecontentresponse):
`promptFeedback.blockReason` when the prompt (image or text) was blocked and no candidate was
made; a candidate's `finishReason` (IMAGE_SAFETY, PROHIBITED_CONTENT, … when its output was
blocked) and `content.parts[].inlineData`. Errors are Google's `{"error": {"code", "message",
"status", "details"}}` (https://ai.google.dev/gemini-api/docs/troubleshooting,
https://cloud.google.com/apis/design/errors).
"""

from __future__ import annotations

from typing import Any

from google.genai import errors, types

from tds.engines.base import ContentRefused, EngineError, EngineUnavailable

# Finish reasons that mean the provider's policy stopped the output (the safety filters, the
# prohibited-content list, personal data, recitation of protected material).
REFUSALS = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
NOT_RETRIED = "the render was not retried so that it cannot be charged twice"


def _name(value: Any) -> str:
    """An enum's name as the API spells it (the SDK gives enums, or strings it does not know)."""
    return str(getattr(value, "value", value) or "")


def _short(text: str | None, limit: int = 300) -> str:
    return " ".join((text or "").split())[:limit]


def image_bytes(response: types.GenerateContentResponse) -> bytes:
    """The generated image; ContentRefused when Google's safety system stopped it, EngineError
    when the answer has no image for another reason."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = _name(feedback.block_reason)
        extra = (
            f": {_short(feedback.block_reason_message)}" if feedback.block_reason_message else ""
        )
        raise ContentRefused(f"Gemini blocked the image or prompt ({reason}{extra})")
    candidates = response.candidates or []
    if not candidates:
        raise EngineError("Gemini answered without an image (no candidate)")
    candidate = candidates[0]
    parts = (candidate.content.parts if candidate.content else None) or []
    # The last image that is not a thought: thinking models may show drafts first.
    for part in reversed(parts):
        blob = part.inline_data
        if part.thought or blob is None or not blob.data:
            continue
        if (blob.mime_type or "image/").startswith("image/"):
            return blob.data
    reason = _name(candidate.finish_reason)
    message = _short(candidate.finish_message)
    if reason in REFUSALS:
        because = f"{reason}: {message}" if message else reason
        raise ContentRefused(f"Gemini's safety filters stopped the image ({because})")
    said = _short(" ".join(part.text for part in parts if part.text and not part.thought))
    why = ", ".join(text for text in (reason, message, f"it said: {said}" if said else "") if text)
    raise EngineError(f"Gemini answered without an image ({why or 'no reason given'})")


def error_body(error: errors.APIError) -> dict[str, Any]:
    """The `error` object of Google's error answer ({} when the body was not one)."""
    details = error.details
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if isinstance(details, dict):
        inner = details.get("error", details)
        if isinstance(inner, dict):
            return inner
    return {}


def _details(error: errors.APIError) -> list[dict[str, Any]]:
    found = error_body(error).get("details")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def reasons(error: errors.APIError) -> set[str]:
    """The machine-readable reasons (google.rpc.ErrorInfo) of an error answer."""
    return {
        str(item.get("reason"))
        for item in _details(error)
        if item.get("@type") == ERROR_INFO and item.get("reason")
    }


def retry_delay(error: errors.APIError) -> float | None:
    """How long a 429 asks us to wait: its Retry-After header, else google.rpc.RetryInfo's
    retryDelay (a Duration: "27s", "0.5s")."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    header = headers.get("retry-after") if headers is not None else None
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass  # the HTTP-date form: fall back to RetryInfo
    for item in _details(error):
        if item.get("@type") == RETRY_INFO and isinstance(item.get("retryDelay"), str):
            try:
                return max(0.0, float(item["retryDelay"].strip().removesuffix("s")))
            except ValueError:
                return None
    return None


def detail(error: errors.APIError) -> str:
    """HTTP code, Google's status and message: what an operator needs to see."""
    body = error_body(error)
    status = error.status or body.get("status") or ""
    message = _short(error.message or body.get("message") or "")
    return f"HTTP {error.code}{' ' + status if status else ''}{': ' + message if message else ''}"


def is_key_problem(error: errors.APIError) -> bool:
    """401/403, or Google's 400 for a key that is not valid (ErrorInfo reason API_KEY_INVALID)."""
    return error.code in (401, 403) or any(
        reason.startswith("API_KEY_") for reason in reasons(error)
    )


def failure(error: errors.APIError, model: str, describe: str) -> EngineError:
    """The EngineError for an answer that is neither an image nor a 429 (`describe` is the
    provider's detail with the key taken out, for the user's message)."""
    status = error.status or error_body(error).get("status")
    if error.code == 400 and status == "FAILED_PRECONDITION":
        # The account cannot use the API (billing, region): nothing a retry or the user fixes.
        return EngineUnavailable(
            f"Gemini does not take work from this server's account now ({describe})"
        )
    if error.code == 404:
        return EngineUnavailable(f"Gemini has no model {model!r} for generateContent ({describe})")
    if error.code == 503:
        return EngineUnavailable(f"Gemini is overloaded or down ({describe}); {NOT_RETRIED}")
    if error.code >= 500:
        return EngineError(f"Gemini failed ({describe}); {NOT_RETRIED}")
    return EngineError(f"Gemini refused the request ({describe})")
