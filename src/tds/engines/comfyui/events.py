"""ComfyUI's websocket, one per server for the whole tds process.

ComfyUI sends a prompt's execution messages to the websocket of the client that queued it
(`/ws?clientId=<client_id>`, the `client_id` of POST /prompt), and a client id has one socket:
a second connection with it replaces the first. So each tds process has one client id and one
socket per server, read by one thread here, which hands every message to the render waiting
for its prompt (by `data.prompt_id`; older servers send `progress` without one, and a server
runs one prompt at a time, so such a message belongs to the prompt that is executing).

Messages (docs.comfy.org/development/comfyui-server/comms_messages): `status`
`{status: {exec_info: {queue_remaining}}, sid}`, `execution_start {prompt_id}`,
`execution_cached {nodes, prompt_id}`, `executing {node | null, prompt_id}` (null: done, sent
after the history entry is written), `progress {value, max, node, prompt_id}`,
`executed {node, output, prompt_id}`, `execution_error {prompt_id, node_id, node_type,
exception_message, exception_type, traceback, …}`, `execution_interrupted`,
`execution_success {prompt_id}`; binary frames are previews, ignored.

The socket is an accelerator, never the source of truth: a render whose socket drops hears
`LOST` and reads `GET /history/{prompt_id}` until the socket is back (`CONNECTED`). The thread
reconnects while any render waits, and ends when the socket drops with none waiting.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]  # (type, data), as ComfyUI sends them
LOST: Event = ("tds.lost", {})  # the socket dropped: messages may be missed from here on
CONNECTED: Event = ("tds.connected", {})  # it is back: what was missed is in /history

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
EARLY_PROMPTS = 64  # prompts whose messages are kept before their render listens
EARLY_MESSAGES = 256
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


def socket_url(base_url: str, client_id: str) -> str:
    """ws(s)://host:port/…/ws?clientId=… for an http(s) base URL."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    return urlunsplit((scheme, parts.netloc, path, f"clientId={quote(client_id)}", ""))


class Mailbox:
    """What one render hears about its prompt."""

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def get(self, timeout: float) -> Event | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


class Listener:
    """The socket to one server and the thread that reads it."""

    def __init__(self, base_url: str, client_id: str, open_timeout: float) -> None:
        self.url = socket_url(base_url, client_id)
        self.open_timeout = open_timeout
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)  # notified after each connect attempt
        self._connecting = False
        self._boxes: dict[str, Mailbox] = {}
        self._early: OrderedDict[str, list[Event]] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._socket: ClientConnection | None = None
        self._closed = False
        self._stopped = threading.Event()
        self._current: str | None = None  # the prompt executing now, as last heard

    # -- renders -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (nothing waits for it)."""
        with self._lock:
            self._start_locked()

    def ready(self, timeout: float) -> bool:
        """Whether the socket is open; while a connection is being opened, waits up to
        `timeout` for it (a server whose socket failed is not waited for again)."""
        with self._lock:
            self._start_locked()
            self._settled.wait_for(lambda: not self._connecting, timeout)
        return self.connected.is_set()

    def watch(self, prompt_id: str) -> Mailbox:
        """The mailbox of a prompt, with what was already heard of it."""
        with self._lock:
            box = self._boxes.get(prompt_id)
            if box is None:
                box = self._boxes[prompt_id] = Mailbox()
                for event in self._early.pop(prompt_id, []):
                    box.events.put(event)
            self._start_locked()
            return box

    def also(self, prompt_id: str, box: Mailbox) -> None:
        """Deliver a second prompt id to the same mailbox (a server that chose its own id)."""
        with self._lock:
            self._boxes[prompt_id] = box
            for event in self._early.pop(prompt_id, []):
                box.events.put(event)

    def unwatch(self, *prompt_ids: str) -> None:
        with self._lock:
            for prompt_id in prompt_ids:
                self._boxes.pop(prompt_id, None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stopped.set()
            socket, thread = self._socket, self._thread
        if socket is not None:
            socket.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    # -- the thread ----------------------------------------------------------------------------

    def _start_locked(self) -> None:
        if self._closed or (self._thread is not None and self._thread.is_alive()):
            return
        self._connecting = True
        self._thread = threading.Thread(target=self._run, name="tds-comfyui-ws", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            try:
                with connect(
                    self.url,
                    open_timeout=self.open_timeout,
                    close_timeout=2,
                    max_size=MAX_MESSAGE_BYTES,
                    proxy=None,  # the studio's own servers: never through a proxy
                    user_agent_header="tds-comfyui-engine",
                ) as socket:
                    if not self._opened(socket):
                        return
                    failures = 0
                    self._broadcast(CONNECTED)
                    self._read(socket)
                    self.connected.clear()
                self._broadcast(LOST)
            except (OSError, WebSocketException, TimeoutError) as error:
                log.info("%s: websocket not open (%s)", self.url, error)
                with self._lock:
                    self._connecting = False
                    self._settled.notify_all()
            with self._lock:
                self._socket = None
                if self._closed or not self._boxes:
                    # Decided under the lock that `watch` takes: a render that starts
                    # listening from here on starts a new thread.
                    self._thread = None
                    return
            self._stopped.wait(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
            failures += 1
            with self._lock:
                self._connecting = True

    def _opened(self, socket: ClientConnection) -> bool:
        """Note the open socket; False when the listener was closed meanwhile."""
        with self._lock:
            self._connecting = False
            self._settled.notify_all()
            if self._closed:
                self._thread = None
                return False
            self._socket = socket
            self.connected.set()
            return True

    def _read(self, socket: ClientConnection) -> None:
        try:
            for message in socket:
                if isinstance(message, str):
                    self._route(message)
        except ConnectionClosed as error:
            log.info("%s: websocket closed (%s)", self.url, error)
        except OSError as error:
            log.info("%s: websocket broke (%s)", self.url, error)

    def _route(self, text: str) -> None:
        try:
            message = json.loads(text)
            kind, data = message["type"], message.get("data") or {}
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(kind, str) or not isinstance(data, dict) or kind == "status":
            return
        prompt_id = data.get("prompt_id")
        with self._lock:
            if kind == "execution_start" and isinstance(prompt_id, str):
                self._current = prompt_id
            if not isinstance(prompt_id, str):
                prompt_id = self._current
            if kind == "executing" and data.get("node") is None:
                self._current = None
            if prompt_id is None:
                return
            box = self._boxes.get(prompt_id)
            if box is not None:
                box.events.put((kind, data))
                return
            # Heard before its render listens (or after it stopped): kept a little while.
            early = self._early.setdefault(prompt_id, [])
            self._early.move_to_end(prompt_id)
            if len(early) < EARLY_MESSAGES:
                early.append((kind, data))
            while len(self._early) > EARLY_PROMPTS:
                self._early.popitem(last=False)

    def _broadcast(self, event: Event) -> None:
        with self._lock:
            boxes = list({id(box): box for box in self._boxes.values()}.values())
        for box in boxes:
            box.events.put(event)
