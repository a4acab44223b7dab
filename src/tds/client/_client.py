"""`Client`: one method per endpoint of the tds API."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import _config
from ._errors import (
    InvalidApiKey,
    ModelFailed,
    RenderFinished,
    RenderTimeout,
    TdsError,
    from_response,
)
from ._http import Response, Transport
from ._models import Account, Render, RenderList, Styles, Upload, Usage

if TYPE_CHECKING:
    from typing import TypeAlias

# A file path, the image's bytes, a binary file object, an http(s) URL (sent as `image_url`),
# or a finished Render to work from (sent as `render_id`).
ImageInput: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | Render"
)
ProgressCallback: TypeAlias = "Callable[[Render], object]"

# A blocking POST waits this long on the server (Prefer: wait=N) before polling takes over.
_HOLD_SECONDS = 60.0
# With a progress callback the POST returns at once and polling reports progress.
_HOLD_WITH_PROGRESS = 1.0


def _sniff(data: bytes) -> tuple[str, str]:
    """(content type, extension) from the first bytes."""
    if data.startswith(b"\x89PNG"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "application/octet-stream", "bin"


def _read_image(image: Any) -> tuple[bytes, str]:
    """(bytes, file name) of a path, bytes or binary file object."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        return data, f"image.{_sniff(data)[1]}"
    if hasattr(image, "read"):
        data = image.read()
        if not isinstance(data, bytes):
            raise TypeError("open the image file in binary mode ('rb')")
        name = os.path.basename(str(getattr(image, "name", ""))) or f"image.{_sniff(data)[1]}"
        return data, name
    if isinstance(image, (str, os.PathLike)):
        path = Path(image).expanduser()
        return path.read_bytes(), path.name
    raise TypeError(
        f"an image is a path, bytes, a binary file or a Render, not {type(image).__name__}"
    )


def _id_of(render: Render | str) -> str:
    return render.id if isinstance(render, Render) else render


def _moment(value: str | date | datetime | None) -> str | None:
    """A usage window's bound as the API reads it: ISO 8601 (the server reads a naive
    date-time, and a date's midnight, as UTC)."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


class Client:
    """A client for one tds server. Thread-safe: share one across a pool of workers.

    The key and base URL come from the arguments, else `TDS_API_KEY` / `TDS_BASE_URL`, else
    the config file that `tds login` writes (`$TDS_CONFIG`, else ~/.config/tds/config.json);
    the base URL defaults to http://localhost:8000.

    `timeout` is the socket timeout of one request in seconds (a blocking render adds the time
    it asks the server to wait); `max_attempts` counts the first try; `backoff` is the first
    wait between tries, doubled each time, with jitter; `max_retry_after` caps how long a
    `Retry-After` is honoured; `source` is sent with every render (who sent it).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
        source: str = "sdk",
        config_path: str | os.PathLike[str] | None = None,
    ) -> None:
        key, url = _config.resolve(api_key, base_url, config_path)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {url!r}")
        self.source = source
        self._transport = Transport(
            url,
            key,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff=backoff,
            max_retry_after=max_retry_after,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def api_key(self) -> str | None:
        return self._transport.api_key

    def __repr__(self) -> str:
        key = self.api_key
        shown = f"{key[:9]}…{key[-4:]}" if key else None
        return f"Client(base_url={self.base_url!r}, api_key={shown!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (every request has its own connection); for `with` blocks."""

    # -- plumbing ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **options: Any) -> Response:
        if not self.api_key:
            # What the server would answer, without asking it.
            raise InvalidApiKey(
                "No API key: pass Client(api_key=…), set TDS_API_KEY, or run `tds login`."
            )
        return self._transport.request(method, path, **options)

    def _json(self, method: str, path: str, **options: Any) -> Any:
        response = self._request(method, path, **options)
        if response.status >= 400:
            raise _error(response)
        return response.json()

    # -- endpoints ---------------------------------------------------------------------------

    def me(self) -> Account:
        """The account, its plan, `credits` available and `credits_held` by renders in flight."""
        return Account.from_json(self._json("GET", "/api/v1/me"))

    def styles(self) -> Styles:
        """Scene types, styles, lighting, resolutions, kinds (and which this server serves),
        costs and plans."""
        return Styles.from_json(self._json("GET", "/api/v1/styles"))

    def upload(self, image: ImageInput) -> Upload:
        """Store an image (path, bytes or binary file); its `url` can be a render's image_url."""
        from ._multipart import encode

        data, name = _read_image(image)
        body, content_type = encode(files=[("file", name, _sniff(data)[0], data)])
        answer = self._json(
            "POST",
            "/api/v1/uploads",
            data=body,
            content_type=content_type,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        return Upload.from_json(answer)

    def render(
        self,
        image: ImageInput | None = None,
        *,
        kind: str = "render",
        scene_type: str | None = None,
        architectural_style: str | None = None,
        lighting: str | None = None,
        resolution: str | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        seed: int | None = None,
        geometry_fidelity: float | None = None,
        strength: float | None = None,
        input_type: str | None = None,
        source: str | None = None,
        project: str | None = None,
        render_id: str | None = None,
        image_url: str | None = None,
        wait: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Render:
        """Render `image` (or `image_url`, or the finished render `render_id` for refine,
        enhance, staging and video) and return the finished render.

        Options left as None take the server's defaults (see `styles()`). `project` bills the
        render to a project code (1–100 printable characters; `usage()` adds them up); left
        out, the render has none. Paths, bytes and
        files are sent inline as `image_base64`: one request, one Idempotency-Key, so a retry
        after a dropped connection or a 5xx is replayed by the server and never charged twice.

        With `wait` (the default) this blocks until the render is done, calling
        `on_progress(render)` with each state seen while polling, the final one included;
        `timeout` (seconds, default: no limit) raises RenderTimeout with the render still
        running. A failed render raises ModelFailed (its credits were refunded); a canceled
        one is returned with status "canceled". With `wait=False` the render is returned at
        once, queued: follow it with `wait()` or `get_render()`.
        """
        body = self._render_body(
            image,
            kind=kind,
            render_id=render_id,
            image_url=image_url,
            options={
                "scene_type": scene_type,
                "architectural_style": architectural_style,
                "lighting": lighting,
                "resolution": resolution,
                "prompt": prompt,
                "negative_prompt": negative_prompt,
                "seed": seed,
                "geometry_fidelity": geometry_fidelity,
                "strength": strength,
                "input_type": input_type,
                "source": source or self.source,
                "project": project,
            },
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        request_timeout = self._transport.timeout
        if wait:
            hold = _HOLD_WITH_PROGRESS if on_progress else _HOLD_SECONDS
            if timeout is not None:
                hold = max(0.0, min(hold, timeout))
            headers["Prefer"] = f"wait={hold:g}"
            request_timeout += hold
        else:
            headers["Prefer"] = "respond-async"
        answer = self._json(
            "POST", "/api/v1/renders", json_body=body, headers=headers, timeout=request_timeout
        )
        render = Render.from_envelope(answer)
        if not wait:
            return render
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.wait(render, on_progress=on_progress, timeout=remaining)

    def _render_body(
        self,
        image: ImageInput | None,
        *,
        kind: str,
        render_id: str | None,
        image_url: str | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind}
        if isinstance(image, Render):
            render_id, image = render_id or image.id, None
        elif isinstance(image, str) and image.startswith(("http://", "https://")):
            image_url, image = image_url or image, None
        sources = [s for s in (image, image_url, render_id) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of image, image_url or render_id")
        if image is not None:
            data, _name = _read_image(image)
            body["image_base64"] = base64.b64encode(data).decode("ascii")
        elif image_url is not None:
            body["image_url"] = image_url
        else:
            body["render_id"] = render_id
        body.update({k: v for k, v in options.items() if v is not None})
        return body

    def wait(
        self,
        render: Render | str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        poll_interval: float = 0.25,
    ) -> Render:
        """Poll a render until it is done, failed or canceled; as `render(wait=True)` ends."""
        current = render if isinstance(render, Render) else self.get_render(render)
        deadline = None if timeout is None else time.monotonic() + timeout
        longest = 2.0 if on_progress else 5.0
        interval = poll_interval
        while True:
            if on_progress is not None:
                on_progress(current)
            if current.finished:
                break
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RenderTimeout(
                        f"Render {current.id} is still {current.status} after the timeout; it "
                        "goes on on the server (wait for it again, or cancel it).",
                        render=current,
                    )
                interval = min(interval, left)
            time.sleep(interval)
            interval = min(longest, interval * 1.5)
            current = self.get_render(current.id)
        if current.status == "failed":
            error = current.error
            raise ModelFailed(
                (error.message if error else "") or "The render failed; its credits were refunded.",
                code=(error.code if error else None) or "model_failed",
                render=current,
            )
        return current

    def get_render(self, render: Render | str) -> Render:
        """A render of yours, as it is now (NotFound for anyone else's)."""
        return Render.from_envelope(self._json("GET", f"/api/v1/renders/{_id_of(render)}"))

    def list_renders(
        self,
        *,
        limit: int = 10,
        starting_after: str | None = None,
        project: str | None = None,
    ) -> RenderList:
        """One page of your renders, newest first (`limit` 1–100; only those billed to
        `project` when given)."""
        query = {"limit": limit, "starting_after": starting_after, "project": project}
        return RenderList.from_json(self._json("GET", "/api/v1/renders", query=query))

    def iter_renders(self, *, page_size: int = 100, project: str | None = None) -> Iterator[Render]:
        """Every render of yours (or `project`'s), newest first, a page at a time."""
        after: str | None = None
        while True:
            page = self.list_renders(limit=page_size, starting_after=after, project=project)
            yield from page
            if not page.has_more or not page.data:
                return
            after = page.data[-1].id

    def usage(
        self,
        group_by: str = "project",
        *,
        start: str | date | datetime | None = None,
        end: str | date | datetime | None = None,
    ) -> Usage:
        """Credits spent and renders within [start, end), one row per project code (`group`
        None: renders sent without one) or per member (`group_by="member"`), most credits
        first, adding up to `total`.

        `start` and `end` are dates (midnight UTC) or date-times (naive ones are UTC), or ISO
        8601 strings; by default, from the start of this month (UTC) to now. Only finished
        renders spend credits; refunded ones are not counted.
        """
        query = {"group_by": group_by, "from": _moment(start), "to": _moment(end)}
        return Usage.from_json(self._json("GET", "/api/v1/usage", query=query))

    def cancel(self, render: Render | str) -> Render:
        """Stop a render in flight and release its credits; RenderFinished if it had ended."""
        render_id = _id_of(render)
        response = self._request("POST", f"/api/v1/renders/{render_id}/cancel")
        if response.status >= 400:
            error = _error(response)
            if isinstance(error, RenderFinished) and response.attempts > 1:
                # An earlier try canceled it and its answer was lost on the way.
                current = self.get_render(render_id)
                if current.status == "canceled":
                    return current
            raise error
        return Render.from_envelope(response.json())

    def download(
        self,
        render: Render | str,
        path: str | os.PathLike[str] | None = None,
        *,
        video: bool = False,
    ) -> Path:
        """Save a render's output image (or its MP4 with `video=True`) and return the path.

        `render` is a Render or a file URL; `path` a file or an existing folder (default: the
        current folder), named after the URL when a folder. File URLs need no key, and none is
        sent.
        """
        if isinstance(render, Render):
            url = render.output_video_url if video else render.output_image_url
            if not url:
                what = "video" if video else "image"
                raise TdsError(
                    f"Render {render.id} is {render.status} and has no output {what}.",
                    code="no_output",
                )
        else:
            url = render
        target = Path(path).expanduser() if path is not None else Path.cwd()
        if target.is_dir():
            target = target / url.rsplit("/", 1)[-1].split("?", 1)[0]
        response = self._transport.request("GET", url)
        if response.status >= 400:
            raise _error(response)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.part")
        try:
            partial.write_bytes(response.body)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target


def _error(response: Response) -> TdsError:
    return from_response(response.status, response.json(), response.headers)
