"""A loopback server posing as the Hugging Face Hub, for `tds models pull` (HF_ENDPOINT).

It answers the calls huggingface_hub's `snapshot_download` makes, in the Hub's wire format:

- `GET /api/models/{repo}/revision/{rev}`: the repo's info, `sha` the commit the revision is at
  and `siblings` its files (404 with `X-Error-Code: RepoNotFound` / `RevisionNotFound`).
- `GET /api/models/{repo}/tree/{rev}?recursive=true`: every file and folder, files with `oid`
  (the git blob sha1), `size` and, for LFS files, `lfs: {oid: sha256, size, pointerSize}`.
- `HEAD|GET /{repo}/resolve/{rev}/{path}`: a regular file answers itself with `ETag` (its git
  blob sha1), `X-Repo-Commit` and `Content-Length`; an LFS file (weights) answers 302 to the
  CDN with `X-Linked-Etag` (its sha256), `X-Linked-Size` and `X-Repo-Commit`, as the Hub
  does. The CDN is a second server (another origin, so huggingface_hub stops its HEAD at the
  redirect and reads the file's metadata there).
- CDN `GET /blobs/{sha256}`: the bytes, honouring `Range: bytes=N-` with 206 and
  `Content-Range`.

Faults for the tests: `cut_once[path]` sends that many bytes of the first CDN GET of the file
at `path` (repo/file) and drops the connection; `failing` answers 500 to every CDN GET of
those paths. Every request is recorded in `requests`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".msgpack", ".onnx", ".pb", ".ckpt", ".pth")


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()
    )


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str = ""

    def __post_init__(self) -> None:
        listing = json.dumps({p: git_oid(d) for p, d in sorted(self.files.items())})
        self.commit = hashlib.sha1(listing.encode()).hexdigest()

    @staticmethod
    def is_lfs(path: str) -> bool:
        return path.endswith(LFS_SUFFIXES)


@dataclass(frozen=True)
class Request:
    server: str  # "hub" or "cdn"
    method: str
    path: str  # the URL path, unquoted
    range: str | None


@dataclass
class FakeHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    cut_once: dict[str, int] = field(default_factory=dict)  # "repo/file" → bytes sent
    failing: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[str, bytes]] = {}  # sha256 → (repo/file, data)
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        self._threads = []
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.url = f"http://127.0.0.1:{self._hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    # -- content ----------------------------------------------------------------------------

    def add(self, repo_id: str, files: dict[str, bytes]) -> Repo:
        repo = Repo(dict(files))
        with self._lock:
            self.repos[repo_id] = repo
            for path, data in files.items():
                if Repo.is_lfs(path):
                    self._blobs[hashlib.sha256(data).hexdigest()] = (f"{repo_id}/{path}", data)
        return repo

    def add_folder(self, repo_id: str, folder: Path, extra: dict[str, bytes] | None = None) -> Repo:
        """A repo holding every file under `folder` (as save_pretrained wrote it), and more."""
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        return self.add(repo_id, files | (extra or {}))

    def fetched(self, server: str = "cdn") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.server == server and r.method == "GET"]

    def blob_path(self, sha256: str) -> str:
        return self._blobs[sha256][0]

    def downloads_of(self, repo_file: str) -> list[Request]:
        """The GETs that fetched one file's bytes (the CDN for LFS files, resolve otherwise)."""
        owner, name, path = repo_file.split("/", 2)
        repo_id = f"{owner}/{name}"
        data = self.repos[repo_id].files[path]
        if Repo.is_lfs(path):
            sha = hashlib.sha256(data).hexdigest()
            return [r for r in self.fetched("cdn") if r.path == f"/blobs/{sha}"]
        return [r for r in self.fetched("hub") if "/resolve/" in r.path and r.path.endswith(path)]

    # -- answering --------------------------------------------------------------------------

    def _handler(self, server: str) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                with hub._lock:
                    hub.requests.append(
                        Request(server, self.command, path, self.headers.get("Range"))
                    )
                if server == "cdn":
                    hub._cdn_answer(self, path, head)
                else:
                    hub._hub_answer(self, path, head)

        return Handler

    def _hub_answer(self, h: BaseHTTPRequestHandler, path: str, head: bool) -> None:
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)(/.*)?", path)
        if api:
            repo_id, what, revision, _sub = api.groups()
            repo = self._repo(h, repo_id, revision)
            if repo is None:
                return
            body = self._info(repo_id, repo) if what == "revision" else self._tree(repo)
            _send(h, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)
            return
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not resolve:
            _send(h, 404, b"not found", {}, head)
            return
        repo_id, revision, file = resolve.groups()
        repo = self._repo(h, repo_id, revision)
        if repo is None:
            return
        data = repo.files.get(file)
        if data is None:
            headers = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.commit}
            _send(h, 404, b"Entry not found", headers, head)
            return
        if Repo.is_lfs(file):
            sha = hashlib.sha256(data).hexdigest()
            headers = {
                "Location": f"{self.cdn_url}/blobs/{sha}",
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(data)),
                "X-Repo-Commit": repo.commit,
                "ETag": f'"{git_oid(lfs_pointer(data))}"',
            }
            _send(h, 302, b"", headers, head)
            return
        headers = {"ETag": f'"{git_oid(data)}"', "X-Repo-Commit": repo.commit}
        _send_range(h, data, headers, head)

    def _cdn_answer(self, h: BaseHTTPRequestHandler, path: str, head: bool) -> None:
        match = re.fullmatch(r"/blobs/([0-9a-f]{64})", path)
        found = self._blobs.get(match.group(1)) if match else None
        if found is None:
            _send(h, 404, b"no such blob", {}, head)
            return
        repo_file, data = found
        if repo_file in self.failing and not head:
            _send(h, 500, b"the CDN is down", {}, head)
            return
        with self._lock:
            cut = self.cut_once.pop(repo_file, None) if not head else None
        if cut is not None:
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:cut])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)  # the peer sees the body end early
            return
        _send_range(h, data, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'}, head)

    def _repo(self, h: BaseHTTPRequestHandler, repo_id: str, revision: str) -> Repo | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            _send(h, 404, b"Repository not found", {"X-Error-Code": "RepoNotFound"}, False)
            return None
        if revision not in ("main", repo.commit):
            _send(h, 404, b"Invalid rev id", {"X-Error-Code": "RevisionNotFound"}, False)
            return None
        return repo

    @staticmethod
    def _info(repo_id: str, repo: Repo) -> dict[str, Any]:
        return {
            "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": repo.commit,
            "lastModified": "2025-01-01T00:00:00.000Z",
            "private": False,
            "disabled": False,
            "gated": False,
            "library_name": "diffusers",
            "tags": ["diffusers"],
            "siblings": [{"rfilename": path} for path in sorted(repo.files)],
        }

    @staticmethod
    def _tree(repo: Repo) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        folders = sorted({p.rsplit("/", 1)[0] for p in repo.files if "/" in p})
        for folder in folders:
            oid = hashlib.sha1(folder.encode()).hexdigest()
            entries.append({"type": "directory", "oid": oid, "size": 0, "path": folder})
        for path, data in sorted(repo.files.items()):
            if Repo.is_lfs(path):
                pointer = lfs_pointer(data)
                entries.append(
                    {
                        "type": "file",
                        "oid": git_oid(pointer),
                        "size": len(data),
                        "path": path,
                        "lfs": {
                            "oid": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                            "pointerSize": len(pointer),
                        },
                    }
                )
            else:
                entries.append(
                    {"type": "file", "oid": git_oid(data), "size": len(data), "path": path}
                )
        return entries


def _send(
    h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str], head: bool
) -> None:
    h.send_response(status)
    for name, value in headers.items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if not head:
        h.wfile.write(body)


def _send_range(
    h: BaseHTTPRequestHandler, data: bytes, headers: dict[str, str], head: bool
) -> None:
    wanted = h.headers.get("Range")
    match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
    if match and not head:
        start = int(match.group(1))
        part = data[start:]
        headers = headers | {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        _send(h, 206, part, headers | {"Accept-Ranges": "bytes"}, head)
        return
    h.send_response(200)
    for name, value in (headers | {"Accept-Ranges": "bytes"}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    if not head:
        h.wfile.write(data)
