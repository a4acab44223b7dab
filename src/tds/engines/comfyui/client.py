"""ComfyUI's HTTP routes on one server (server.py in comfyanonymous/ComfyUI; the routes are
documented at docs.comfy.org/development/comfyui-server/comms_routes).

- `GET /prompt` → `{"exec_info": {"queue_remaining": n}}` (running and pending prompts);
- `POST /upload/image` (multipart `image`, `type`, `subfolder`, `overwrite`) →
  `{"name", "subfolder", "type"}`;
- `POST /prompt` `{"prompt", "client_id", "prompt_id"}` → `{"prompt_id", "number",
  "node_errors"}`, or 400 `{"error": {"type", "message", "details", "extra_info"},
  "node_errors": {id: {"errors": [...], "class_type", "dependent_outputs"}}}`;
- `GET /history/{prompt_id}` → `{prompt_id: {"prompt", "outputs", "status"}}` once it ran, `{}`
  before;
- `GET /queue` → `{"queue_running": [[number, prompt_id, …]], "queue_pending": [...]}`;
- `POST /queue` `{"delete": [prompt_id]}` drops a pending prompt; `POST /interrupt`
  `{"prompt_id"}` stops the running one (servers before the prompt_id field stop whatever
  runs, which is why tds interrupts only a prompt it saw running);
- `GET /view?filename&subfolder&type` → the file (with `preview=jpeg;95`, re-encoded as a JPEG
  of that quality by the server).

Nothing here costs money, but a prompt sent twice runs twice on the studio's GPU: the submit is
sent once, and only a connection that could not be opened (nothing was sent) moves the render
to another server. Everything else is a read or idempotent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tds.engines.base import EngineError, EngineUnavailable

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0


class Unreachable(EngineUnavailable):
    """No connection could be opened: nothing reached the server."""


class Gone(EngineUnavailable):
    """The server stopped answering mid-call (after the request may have been sent)."""


@dataclass(frozen=True)
class Uploaded:
    name: str
    subfolder: str
    type: str

    @property
    def value(self) -> str:
        """What a LoadImage node's `image` input takes: `sub/name.png`, `[type]` when not
        the input folder (folder_paths.annotated_filepath)."""
        path = f"{self.subfolder}/{self.name}" if self.subfolder else self.name
        return path if self.type in ("", "input") else f"{path} [{self.type}]"


@dataclass(frozen=True)
class Refused:
    """A 400 from POST /prompt: the workflow failed ComfyUI's validation."""

    error: dict[str, Any]
    node_errors: dict[str, Any]


@dataclass(frozen=True)
class Queued:
    """A 200 from POST /prompt. ComfyUI queues the outputs that passed validation and lists
    the nodes of those that did not in `node_errors`."""

    prompt_id: str
    number: int | None
    node_errors: dict[str, Any]

    def drops(self, output: str) -> bool:
        """Whether the validation dropped this output node (it will not run)."""
        for node, found in self.node_errors.items():
            dependent = found.get("dependent_outputs") if isinstance(found, dict) else None
            if node == output or (isinstance(dependent, list) and output in dependent):
                return True
        return False


@dataclass(frozen=True)
class Queue:
    running: frozenset[str]
    pending: frozenset[str]


class ComfyClient:
    def __init__(
        self,
        base_url: str,
        label: str,
        request_timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.label = label  # "ComfyUI server 2 of 3": what users read; URLs go to the log
        self._http = httpx.Client(
            base_url=self.base,
            timeout=httpx.Timeout(request_timeout, connect=min(CONNECT_SECONDS, request_timeout)),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "tds-comfyui-engine"},
        )

    def close(self) -> None:
        self._http.close()

    # -- the calls -----------------------------------------------------------------------------

    def queue_remaining(self) -> int:
        response = self._call("GET", "/prompt")
        self._ok(response, "GET /prompt")
        body = self._json(response, "GET /prompt")
        try:
            return int(body["exec_info"]["queue_remaining"])
        except (KeyError, TypeError, ValueError):
            raise EngineError(f"{self.label} answered GET /prompt without a queue") from None

    def upload(self, filename: str, data: bytes, subfolder: str, content_type: str) -> Uploaded:
        files = {"image": (filename, data, content_type)}
        fields = {"type": "input", "subfolder": subfolder, "overwrite": "true"}
        response = self._call("POST", "/upload/image", files=files, data=fields)
        self._ok(response, "POST /upload/image")
        body = self._json(response, "POST /upload/image")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise EngineError(f"{self.label} did not store the input image")
        return Uploaded(name, str(body.get("subfolder") or ""), str(body.get("type") or "input"))

    def submit(self, graph: Mapping[str, Any], client_id: str, prompt_id: str) -> Queued | Refused:
        """Queue the prompt, or what the validation refused."""
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        # Sent once: a prompt that reached the server and lost its answer would run twice.
        response = self._call("POST", "/prompt", json=body, retry_safe=False)
        answer = self._json(response, "POST /prompt")
        if response.status_code == 400 and "error" in answer:
            error = answer.get("error")
            node_errors = answer.get("node_errors")
            return Refused(
                error if isinstance(error, dict) else {"message": str(error)},
                node_errors if isinstance(node_errors, dict) else {},
            )
        self._ok(response, "POST /prompt")
        queued = answer.get("prompt_id")
        if not isinstance(queued, str) or not queued:
            raise EngineError(f"{self.label} queued the workflow without a prompt id")
        number = answer.get("number")
        node_errors = answer.get("node_errors")
        return Queued(
            queued,
            int(number) if isinstance(number, int | float) else None,
            node_errors if isinstance(node_errors, dict) else {},
        )

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's history entry once it ran (succeeded, failed or was interrupted)."""
        response = self._call("GET", f"/history/{prompt_id}")
        self._ok(response, "GET /history")
        entry = self._json(response, "GET /history").get(prompt_id)
        return entry if isinstance(entry, dict) else None

    def queue(self) -> Queue:
        response = self._call("GET", "/queue")
        self._ok(response, "GET /queue")
        body = self._json(response, "GET /queue")
        return Queue(_ids(body.get("queue_running")), _ids(body.get("queue_pending")))

    def delete_queued(self, prompt_id: str) -> None:
        self._ok(self._call("POST", "/queue", json={"delete": [prompt_id]}), "POST /queue")

    def interrupt(self, prompt_id: str) -> None:
        self._ok(self._call("POST", "/interrupt", json={"prompt_id": prompt_id}), "POST /interrupt")

    def view(self, file: Mapping[str, Any], limit: int, preview: str | None = None) -> bytes:
        """A saved file; `preview` ("jpeg;95") asks the server to re-encode an image first."""
        params = {
            "filename": str(file.get("filename") or ""),
            "subfolder": str(file.get("subfolder") or ""),
            "type": str(file.get("type") or "output"),
        }
        if preview:
            params["preview"] = preview
        try:
            with self._http.stream("GET", "/view", params=params) as response:
                if response.status_code != 200:
                    raise EngineError(
                        f"{self.label} could not send the output {params['filename']!r} "
                        f"(HTTP {response.status_code})"
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise EngineError(f"the output of {self.label} is too large")
                    chunks.append(chunk)
                return b"".join(chunks)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise Unreachable(f"{self.label} could not be reached") from None
        except httpx.TransportError as error:
            log.warning("%s GET /view: %s", self.base, type(error).__name__)
            raise Gone(f"{self.label} stopped answering while sending the output") from None

    # -- helpers -------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, retry_safe: bool = True, **kwargs: Any
    ) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            log.info("%s %s %s: no connection (%s)", self.base, method, path, error)
            raise Unreachable(f"{self.label} could not be reached") from None
        except httpx.TimeoutException:
            log.warning("%s %s %s: no answer in time", self.base, method, path)
            what = "" if retry_safe else "; the workflow was not sent again so it cannot run twice"
            raise Gone(f"{self.label} did not answer {method} {path} in time{what}") from None
        except httpx.TransportError as error:
            log.warning("%s %s %s: %s", self.base, method, path, type(error).__name__)
            what = "" if retry_safe else "; the workflow was not sent again so it cannot run twice"
            raise Gone(f"{self.label} stopped answering ({method} {path}){what}") from None

    def _ok(self, response: httpx.Response, what: str) -> None:
        if response.status_code == 200:
            return
        detail = " ".join(response.text[:300].split())
        log.warning("%s %s: HTTP %d %s", self.base, what, response.status_code, detail)
        verb = "failed" if response.status_code >= 500 else "refused"
        raise EngineError(f"{self.label} {verb} {what} (HTTP {response.status_code})")

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._ok(response, what)  # a failed call says so first
            raise EngineError(f"{self.label} answered {what} with something other than JSON")
        return body


def _ids(items: Any) -> frozenset[str]:
    """The prompt ids of a queue list: each item is [number, prompt_id, prompt, …]."""
    if not isinstance(items, list):
        return frozenset()
    return frozenset(
        str(item[1]) for item in items if isinstance(item, list | tuple) and len(item) > 1
    )
