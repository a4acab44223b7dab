"""The `comfyui` engine: each render runs the kind's workflow on one of the studio's ComfyUI
servers.

A render: pick the server with the shortest queue (`GET /prompt`'s `queue_remaining`, or what
this process already sent there, whichever is more; a server that does not answer is skipped),
upload the input (and the staging mask, when the workflow has `tds:mask`) with
`POST /upload/image`, set the bound inputs (see `workflows`), queue the prompt with
`POST /prompt` under this process's client id, follow it on the server's websocket (`events`),
falling back to `GET /history/{prompt_id}` whenever the socket is down, and fetch the
`tds:output` node's file with `GET /view`. The file goes through the shared output step like
any provider's answer: decoded as an untrusted image (or video) and brought to the exact size.

A cancel (or the deadline) takes the prompt back: `POST /queue {"delete": [id]}` while it
waits, `POST /interrupt {"prompt_id": id}` once it runs. A node's error, or a server that
stops answering mid-render, fails the render with the node's message (the server refunds it).
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from PIL import Image

from tds.engines.base import EngineError, EngineUnavailable, Job, Kind, Output, Progress
from tds.engines.comfyui import workflows
from tds.engines.comfyui.client import ComfyClient, Gone, Refused, Unreachable
from tds.engines.comfyui.config import ComfyUISettings
from tds.engines.comfyui.events import CONNECTED, LOST, Listener, Mailbox
from tds.engines.comfyui.workflows import Workflow
from tds.engines.common import hosted, masks, media, prompts

log = logging.getLogger(__name__)

TOTAL = 100  # progress: 0–5 upload and submit, 5–90 the workflow, 90–100 the output
SUBMITTED, RAN, FETCHED = 5, 90, 96
TICK_SECONDS = 0.1  # how often a waiting render reports progress (where a cancel lands)
SAFETY_CHECK_SECONDS = 15.0  # /history is read this often even while the socket is up
SOCKET_WAIT_SECONDS = 2.0  # how long a render waits for a socket being opened
GONE_AFTER = 3  # failed /history reads in a row: the server is gone
UPLOAD_FOLDER = "tds"  # the subfolder of ComfyUI's input folder that tds uploads to
MAX_VIDEO_BYTES = 512 * 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
INPUT_QUALITY = 95  # the input goes as a JPEG of this quality, chroma at full resolution
OUTPUT_PREVIEW = "jpeg;95"  # /view's preview: the server re-encodes the output as this
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".gif")


class Overdue(EngineError):
    """The render outlived TDS_COMFYUI_TIMEOUT_SECONDS (it is taken back from the server)."""


class Server:
    """One ComfyUI server: its HTTP client, its websocket and what this process sent it."""

    def __init__(
        self,
        url: str,
        label: str,
        config: ComfyUISettings,
        client_id: str,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.url = url
        self.label = label
        self.client = ComfyClient(url, label, config.request_timeout_seconds, transport)
        self.listener = Listener(url, client_id, min(5.0, config.request_timeout_seconds))
        self.in_flight = 0  # renders this process has on it (picked, not yet finished)


@dataclass
class Flight:
    """What a render knows of its prompt while it waits."""

    prompt_ids: tuple[str, ...]
    nodes: int  # nodes in the workflow
    running: bool = False
    finished: bool = False
    cached: int = 0
    started: int = 0  # nodes begun (an `executing` each)
    step: float = 0.0  # of the node running now, 0–1 (its `progress`)
    reported: int = SUBMITTED

    def owns(self, prompt_id: Any) -> bool:
        return prompt_id in self.prompt_ids

    @property
    def done(self) -> int:
        """Progress units, never going back."""
        if self.started:
            work = max(1, self.nodes - self.cached)
            share = min(1.0, (self.started - 1 + self.step) / work)
            self.reported = max(self.reported, SUBMITTED + round((RAN - SUBMITTED) * share))
        return self.reported


class ComfyUIEngine:
    name = "comfyui"
    generative = True

    def __init__(
        self,
        config: ComfyUISettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else ComfyUISettings.from_env()
        # Read and checked here, as the server starts: a broken workflow stops it, named.
        self.workflows: dict[Kind, Workflow] = workflows.load_folder(self.config.workflows)
        self.kinds: frozenset[Kind] = frozenset(self.workflows)
        self.client_id = f"tds-{uuid.uuid4().hex}"  # one per process: ComfyUI's clientId
        urls = self.config.urls
        self._servers = [
            Server(
                url,
                f"ComfyUI server {index + 1} of {len(urls)}" if len(urls) > 1 else "ComfyUI",
                self.config,
                self.client_id,
                transport,
            )
            for index, url in enumerate(urls)
        ]
        self._clock = clock
        self._lock = threading.Lock()
        self._turn = 0  # where ties between equally busy servers start, round-robin

    @property
    def description(self) -> str:
        files = ", ".join(workflow.name for workflow in self.workflows.values())
        servers = len(self._servers)
        where = "one ComfyUI server" if servers == 1 else f"{servers} ComfyUI servers"
        return (
            f"The studio's own ComfyUI workflows ({files}), run on {where} of its own; "
            "generative models chosen by the studio, bound to tds by tds: node titles."
        )

    def setup(self) -> None:
        for server in self._servers:
            server.listener.start()  # in the background: a server that is down is not waited for

    def close(self) -> None:
        for server in self._servers:
            server.listener.close()
            server.client.close()

    # -- a render ------------------------------------------------------------------------------

    def run(self, job: Job, progress: Progress) -> Output:
        workflow = self.workflows.get(job.kind)
        if workflow is None:
            raise EngineError(f"this server's ComfyUI engine has no workflow for {job.kind!r}")
        deadline = self._clock() + self.config.timeout_seconds
        progress(0, TOTAL)
        image = input_jpeg(job.image)
        mask = hosted.input_png(masks.staging_mask(job.image)) if workflow.uses("mask") else None
        values = bind_values(job)
        skipped: set[int] = set()
        while True:
            server = self._pick(skipped)
            if server is None:
                raise EngineUnavailable(
                    "no ComfyUI server answered"
                    if len(self._servers) == 1
                    else f"none of the {len(self._servers)} ComfyUI servers answered"
                )
            try:
                return self._run_on(server, workflow, job, image, mask, values, progress, deadline)
            except _Moved:
                skipped.add(id(server))  # nothing was queued there: the next server
            finally:
                with self._lock:
                    server.in_flight -= 1

    def _run_on(
        self,
        server: Server,
        workflow: Workflow,
        job: Job,
        image: bytes,
        mask: bytes | None,
        values: dict[str, Any],
        progress: Progress,
        deadline: float,
    ) -> Output:
        client, listener = server.client, server.listener
        token = uuid.uuid4().hex
        try:
            sent = client.upload(f"{token}.jpg", image, UPLOAD_FOLDER, "image/jpeg")
            uploaded = {"image": sent.value}
            if mask is not None:
                sent = client.upload(f"{token}-mask.png", mask, UPLOAD_FOLDER, "image/png")
                uploaded["mask"] = sent.value
        except (Unreachable, Gone) as error:
            log.warning("%s: upload failed (%s); trying another server", server.url, error)
            raise _Moved from None
        graph = workflow.bind(values | uploaded)
        progress(3, TOTAL)  # the last moment a cancel costs the server nothing
        socket_open = listener.ready(SOCKET_WAIT_SECONDS)
        prompt_id = str(uuid.uuid4())
        box = listener.watch(prompt_id)  # before the submit: no message can be missed
        ids = [prompt_id]
        try:
            try:
                answer = client.submit(graph, self.client_id, prompt_id)
            except Unreachable:
                raise _Moved from None
            if isinstance(answer, Refused):
                raise refusal(workflow, answer, server)
            queued = answer.prompt_id
            if queued != prompt_id:  # a server that picks its own ids
                ids.append(queued)
                listener.also(queued, box)
            if answer.drops(workflow.output):
                # Queued for its other outputs, but the one tds fetches will not run.
                self._take_back(server, queued, Flight(prompt_ids=tuple(ids), nodes=len(graph)))
                raise refusal(workflow, Refused({}, answer.node_errors), server)
            log.info(
                "%s: %s queued as %s (#%s) on %s",
                job.kind,
                workflow.name,
                queued,
                answer.number,
                server.url,
            )
            flight = Flight(prompt_ids=tuple(ids), nodes=len(graph))
            try:
                outputs = self._wait(server, workflow, flight, box, socket_open, progress, deadline)
            except BaseException as error:
                if not flight.finished and not isinstance(error, EngineUnavailable):
                    self._take_back(server, queued, flight)  # canceled, overdue or broken
                raise
        finally:
            listener.unwatch(*ids)
        progress(RAN, TOTAL)
        output = self._fetch(server, workflow, job, outputs)
        progress(TOTAL, TOTAL)
        return output

    # -- choosing a server ---------------------------------------------------------------------

    def _pick(self, skipped: set[int]) -> Server | None:
        """The least busy server not yet skipped, counted as taken; None when none answers."""
        candidates = [server for server in self._servers if id(server) not in skipped]
        if not candidates:
            return None
        if len(self._servers) == 1:  # nothing to choose: the render itself finds out
            with self._lock:
                candidates[0].in_flight += 1
            return candidates[0]
        loads: dict[int, int] = {}
        for server in candidates:
            try:
                loads[id(server)] = server.client.queue_remaining()
            except EngineError as error:
                log.warning("%s: skipped (%s)", server.url, error)
                skipped.add(id(server))
        with self._lock:
            alive = [server for server in candidates if id(server) in loads]
            if not alive:
                return None
            start = self._turn % len(self._servers)
            self._turn += 1
            order = {id(s): (i - start) % len(self._servers) for i, s in enumerate(self._servers)}
            # What the server says it holds, or what this process has sent it and not yet seen
            # back, whichever is more (two renders picking at once would both see an idle one).
            chosen = min(
                alive,
                key=lambda s: (max(loads[id(s)], s.in_flight), s.in_flight, order[id(s)]),
            )
            chosen.in_flight += 1
            return chosen

    # -- following a prompt --------------------------------------------------------------------

    def _wait(
        self,
        server: Server,
        workflow: Workflow,
        flight: Flight,
        box: Mailbox,
        socket_open: bool,
        progress: Progress,
        deadline: float,
    ) -> dict[str, Any]:
        """The tds:output node's outputs once the prompt succeeded; EngineError when a node
        failed, the server went away or the deadline passed."""
        output: dict[str, Any] | None = None
        succeeded = False
        check_at = self._clock() + (SAFETY_CHECK_SECONDS if socket_open else 0.0)
        failures = missing = 0
        while True:
            progress(flight.done, TOTAL)  # raises JobCanceled once the render is canceled
            now = self._clock()
            if now >= deadline:
                raise Overdue(
                    f"ComfyUI took longer than {self.config.timeout_seconds:.0f} s; the render "
                    "was taken back from the server"
                )
            event = box.get(max(0.0, min(TICK_SECONDS, check_at - now)))
            if event is None:
                if self._clock() < check_at:
                    continue
                # The socket is down (or quiet too long): ask the server what became of it.
                try:
                    entry = server.client.history(flight.prompt_ids[-1])
                    state = None if entry else server.client.queue()
                except (Unreachable, Gone) as error:
                    failures += 1
                    log.warning("%s: %s (%d in a row)", server.url, error, failures)
                    if failures >= GONE_AFTER:
                        raise EngineUnavailable(
                            f"{server.label} stopped answering during the render"
                        ) from None
                    check_at = self._clock() + self.config.poll_seconds
                    continue
                failures = 0
                if entry:
                    flight.finished = True
                    return finished(workflow, entry, server)
                assert state is not None
                if any(flight.owns(pid) for pid in state.running):
                    flight.running, missing = True, 0
                elif any(flight.owns(pid) for pid in state.pending):
                    missing = 0
                else:
                    missing += 1  # neither queued, running nor done: the server forgot it
                    if missing >= 2:
                        flight.finished = True
                        raise EngineUnavailable(
                            f"{server.label} no longer knows the render (was it restarted?)"
                        )
                wait = self.config.poll_seconds if not socket_open else SAFETY_CHECK_SECONDS
                check_at = self._clock() + wait
                continue
            kind, data = event
            if kind == LOST[0]:
                socket_open, check_at = False, self._clock()
                continue
            if kind == CONNECTED[0]:
                socket_open, check_at = True, self._clock()  # what was missed is in /history
                continue
            if not flight.owns(data.get("prompt_id", flight.prompt_ids[0])):
                continue
            if kind == "execution_start":
                flight.running = True
            elif kind == "execution_cached":
                nodes = data.get("nodes")
                flight.cached = len(nodes) if isinstance(nodes, list) else 0
            elif kind == "executing":
                if data.get("node") is None:  # done; its history entry is written by now
                    check_at = self._clock()
                    if succeeded and output is not None:
                        flight.finished = True
                        return output
                    continue
                flight.running = True
                flight.started += 1
                flight.step = 0.0
            elif kind == "progress":
                value, most = data.get("value"), data.get("max")
                if isinstance(value, int | float) and isinstance(most, int | float) and most > 0:
                    flight.step = min(1.0, max(0.0, value / most))
            elif kind == "executed":
                if workflow.output in (data.get("node"), data.get("display_node")):
                    found = data.get("output")
                    output = found if isinstance(found, dict) else None
            elif kind == "execution_success":
                succeeded = True
                if output is not None:
                    flight.finished = True
                    return output
                check_at = self._clock()  # the entry may lag a moment: asked until it is there
            elif kind == "execution_error":
                flight.finished = True
                raise node_failure(workflow, data, server)
            elif kind == "execution_interrupted":
                flight.finished = True
                raise interrupted(workflow, data, server)

    def _take_back(self, server: Server, prompt_id: str, flight: Flight) -> None:
        """Stop the prompt on the server: out of the queue if it waits, interrupted if it
        runs. Best effort: the render ends either way."""
        client = server.client
        try:
            running = flight.running
            if not running:
                client.delete_queued(prompt_id)
                # It may have started between the last message and the delete.
                running = prompt_id in client.queue().running
            if running:
                # With the prompt id, ComfyUI stops only this prompt (older servers stop what
                # runs, which is this one: tds saw it running).
                client.interrupt(prompt_id)
            log.info(
                "%s: prompt %s taken back (%s)",
                server.url,
                prompt_id,
                "interrupted" if running else "dequeued",
            )
        except EngineError as error:
            log.warning("%s: prompt %s not taken back: %s", server.url, prompt_id, error)

    # -- the output ----------------------------------------------------------------------------

    def _fetch(
        self, server: Server, workflow: Workflow, job: Job, outputs: Mapping[str, Any]
    ) -> Output:
        video = job.kind == "video"
        file = pick_file(outputs, video)
        if file is None:
            raise EngineError(
                f"ComfyUI {workflow.name}: {workflow.title(workflow.output)} saved no file"
            )
        if video:
            data = server.client.view(file, MAX_VIDEO_BYTES)
        else:
            # The render is stored as a JPEG (quality 92): a JPEG of 95 from the server is a
            # quarter of the PNG's bytes and decodes several times faster.
            data = server.client.view(file, hosted.MAX_OUTPUT_BYTES, preview=OUTPUT_PREVIEW)
        size = (job.width, job.height)
        if not video:
            return Output(image=hosted.output_image(data, *size))
        frames, fps = media.decode_frames(data)
        if len(frames) < 2:
            raise EngineError(
                f"ComfyUI {workflow.name}: {workflow.title(workflow.output)} saved a still "
                "image, not a video"
            )
        fitted = [media.fit(frame, size) for frame in frames]
        encoded = media.encode_frames(fitted, fps, size)
        return Output(image=Image.fromarray(np.ascontiguousarray(fitted[0]), "RGB"), video=encoded)


class _Moved(Exception):
    """Nothing was queued on this server (it could not be reached): try the next one."""


def input_jpeg(image: Image.Image) -> bytes:
    """The input as LoadImage gets it: a JPEG at quality 95 without chroma subsampling (thin
    lines keep their colour), a tenth of the time of even a lightly compressed PNG."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=INPUT_QUALITY, subsampling=0)
    return buffer.getvalue()


def bind_values(job: Job) -> dict[str, Any]:
    """What each binding sets, for one job (docs/comfyui.md has the table)."""
    composed = prompts.compose(job)
    return {
        "prompt": composed.prompt,
        "negative_prompt": composed.negative,
        "instruction": prompts.instruction(job),
        "seed": int(job.seed),
        "width": int(job.width),
        "height": int(job.height),
        "fidelity": round(float(job.geometry_fidelity), 4),
        "strength": round(float(job.strength), 4),
    }


def files_of(outputs: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The files a node saved: `{"images": [{filename, subfolder, type}], …}`; video nodes use
    `images` with `animated`, `gifs` (VideoHelperSuite) or `video(s)`."""
    for value in outputs.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    yield item


def pick_file(outputs: Mapping[str, Any], video: bool) -> dict[str, Any] | None:
    files = list(files_of(outputs))
    wanted = VIDEO_SUFFIXES if video else IMAGE_SUFFIXES
    for file in files:
        if str(file["filename"]).lower().endswith(wanted):
            return file
        if video and str(file.get("format", "")).startswith("video/"):
            return file
    return files[0] if files else None


def _short(text: Any, limit: int = 300) -> str:
    return " ".join(str(text or "").split())[:limit]


def node_failure(workflow: Workflow, data: Mapping[str, Any], server: Server) -> EngineError:
    """An execution_error as the render's message: which node, and what it said."""
    node = str(data.get("node_id") or "?")
    message = _short(data.get("exception_message")) or "no message"
    kind = str(data.get("exception_type") or "").rsplit(".", 1)[-1]
    log.warning(
        "%s: %s %s failed: %s: %s\n%s",
        server.url,
        workflow.name,
        workflow.title(node),
        data.get("exception_type"),
        data.get("exception_message"),
        "".join(str(line) for line in data.get("traceback") or [])[-4000:],
    )
    suffix = f" ({kind})" if kind and kind not in message else ""
    return EngineError(f"ComfyUI {workflow.name}: {workflow.title(node)} failed: {message}{suffix}")


def interrupted(workflow: Workflow, data: Mapping[str, Any], server: Server) -> EngineError:
    node = str(data.get("node_id") or "?")
    log.warning("%s: %s interrupted at %s", server.url, workflow.name, workflow.title(node))
    return EngineError(
        f"ComfyUI {workflow.name} was interrupted on the server at {workflow.title(node)}"
    )


def refusal(workflow: Workflow, refused: Refused, server: Server) -> EngineError:
    """POST /prompt's 400 as a message: each failing node's errors, else the general error."""
    reasons: list[str] = []
    for node, found in refused.node_errors.items():
        errors = found.get("errors") if isinstance(found, dict) else None
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict):
                said = _short(error.get("message"), 120)
                details = _short(error.get("details"), 160)
                reasons.append(
                    f"{workflow.title(str(node))}: {said}{': ' + details if details else ''}"
                )
    if not reasons:
        said = _short(refused.error.get("message"), 160) or "the workflow is invalid"
        details = _short(refused.error.get("details"), 200)
        reasons.append(f"{said}{': ' + details if details else ''}")
    log.error("%s refused %s: %s", server.url, workflow.name, "; ".join(reasons))
    return EngineError(f"ComfyUI refused {workflow.name}: " + "; ".join(reasons[:3]))


def finished(workflow: Workflow, entry: Mapping[str, Any], server: Server) -> dict[str, Any]:
    """A history entry as the output node's outputs, or the failure it records."""
    status = entry.get("status")
    if isinstance(status, dict) and status.get("status_str") == "error":
        messages = status.get("messages")
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, list | tuple) and len(message) == 2:
                kind, data = message
                if kind == "execution_error" and isinstance(data, dict):
                    raise node_failure(workflow, data, server)
                if kind == "execution_interrupted" and isinstance(data, dict):
                    raise interrupted(workflow, data, server)
        raise EngineError(f"ComfyUI {workflow.name} failed on {server.label}")
    outputs = entry.get("outputs")
    found = outputs.get(workflow.output) if isinstance(outputs, dict) else None
    if not isinstance(found, dict):
        raise EngineError(
            f"ComfyUI {workflow.name} finished without output from "
            f"{workflow.title(workflow.output)}"
        )
    return found
