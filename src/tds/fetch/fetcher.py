"""Fetch a user-supplied `image_url` without letting it reach anything private.

Every failure (bad URL, blocked address, DNS failure, refused connection, timeout, redirect
loop, wrong status or type, body too large) raises the same `ImageUrlUnfetchable`, whose body is
identical for every cause, so the endpoint cannot be used to scan ports or probe the internal
network. The real reason is logged at INFO on the "tds.fetch" logger, with the URL's query,
fragment and userinfo left out.
"""

from __future__ import annotations

import functools
import http.cookiejar
import logging
import ssl
import typing
from collections.abc import Iterable

import anyio
import httpcore
import httpx

from tds.exceptions import ImageUrlUnfetchable
from tds.fetch.ssrf import (
    DEFAULT_PORTS,
    AddressPolicy,
    GuardedNetworkBackend,
    Resolver,
)

log = logging.getLogger("tds.fetch")

MAX_REDIRECTS: typing.Final = 3
MAX_URL_LENGTH: typing.Final = 4096
CONNECT_TIMEOUT: typing.Final = 3.0
_DEFAULT_PORT: typing.Final = {"http": 80, "https": 443}
_HEADERS: typing.Final = {
    "User-Agent": "tds-image-fetcher/1",
    "Accept": "image/png, image/jpeg, image/webp;q=0.9, image/*;q=0.5",
    # Uncompressed only: the size cap then counts bytes on the wire, and no gzip bomb is inflated.
    "Accept-Encoding": "identity",
}


class _Refused(Exception):
    """An internal reason to give up; never leaves this module."""


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The client is shared between users: never keep a cookie from one fetch for the next."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: typing.Any) -> bool:
        return False


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi), built once: loading the CA bundle is slow."""
    return httpx.create_ssl_context()


def _redact(url: object) -> str:
    """scheme://host:port/path for logs: no userinfo, query or fragment, bounded length."""
    try:
        u = httpx.URL(url) if isinstance(url, str | httpx.URL) else None
    except Exception:
        u = None
    if u is None:
        return "<unparseable url>"
    port = u.port if u.port is not None else _DEFAULT_PORT.get(u.scheme, 0)
    host = f"[{u.host}]" if ":" in u.host else u.host
    text = f"{u.scheme}://{host}:{port}{u.path}"
    return text if len(text) <= 200 else text[:200] + "…"


class ImageFetcher:
    """Downloads image bytes from public http(s) URLs; one instance per process, shared.

    `resolver` and `policy` are for tests and special deployments: by default names go through
    the system resolver (getaddrinfo) and only public unicast addresses are allowed.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float = 10.0,
        resolver: Resolver | None = None,
        policy: AddressPolicy | None = None,
        allowed_ports: Iterable[int] = DEFAULT_PORTS,
    ) -> None:
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._allowed_ports = frozenset(allowed_ports)
        self._backend = GuardedNetworkBackend(
            resolver=resolver, policy=policy, allowed_ports=self._allowed_ports
        )
        transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), trust_env=False)
        # httpx 0.28 has no `network_backend` option: swap the transport's connection pool for
        # one that connects through the guard. Pinned httpx/httpcore; fail loudly if it changes.
        if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx internals changed: AsyncHTTPTransport._pool not found")
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=self._backend,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            trust_env=False,  # environment proxies must not route around the guard
            # Redirects are followed by `fetch` hop by hop (at most MAX_REDIRECTS): httpx's own
            # following reads every redirect response's body in full, with no size limit.
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            headers=_HEADERS,
        )

    async def __aenter__(self) -> ImageFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> bytes:
        """The body of `url` (at most `max_bytes`), or `ImageUrlUnfetchable` for any failure."""
        try:
            with anyio.fail_after(self._timeout):  # overall deadline: stops a 1 B/s trickle too
                return await self._fetch(url)
        except _Refused as exc:
            reason = str(exc)
        except TimeoutError:
            reason = f"deadline of {self._timeout:g} s exceeded"
        except httpx.TooManyRedirects:
            reason = "too many redirects"
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            log.warning("image_url %s failed unexpectedly", _redact(url), exc_info=True)
            reason = f"unexpected {type(exc).__name__}"
        log.info("image_url %s refused: %s", _redact(url), reason)
        raise ImageUrlUnfetchable()

    def _check_url(self, url: object) -> httpx.URL:
        if isinstance(url, str):
            if len(url) > MAX_URL_LENGTH:
                raise _Refused(f"URL longer than {MAX_URL_LENGTH} characters")
            parsed = httpx.URL(url)
        elif isinstance(url, httpx.URL):
            parsed = url
        else:
            raise _Refused(f"URL is a {type(url).__name__}, not a string")
        if parsed.scheme not in _DEFAULT_PORT:
            raise _Refused(f"scheme {parsed.scheme!r} is not http(s)")
        if parsed.userinfo:
            raise _Refused("URL carries userinfo")
        if not parsed.host:
            raise _Refused("URL has no host")
        port = parsed.port if parsed.port is not None else _DEFAULT_PORT[parsed.scheme]
        if port not in self._allowed_ports:
            raise _Refused(f"port {port} is not allowed")
        return parsed

    async def _fetch(self, url: str) -> bytes:
        request = self._client.build_request("GET", self._check_url(url))
        for hop in range(MAX_REDIRECTS + 1):
            response = await self._client.send(request, stream=True, follow_redirects=False)
            try:
                if not response.has_redirect_location:
                    return await self._read_body(response)
                if hop == MAX_REDIRECTS:
                    raise _Refused(f"more than {MAX_REDIRECTS} redirects")
                next_request = response.next_request
                if next_request is None:  # pragma: no cover - httpx sets it for redirects
                    raise _Refused("redirect without a next request")
                self._check_url(next_request.url)
                request = next_request
            finally:
                await response.aclose()  # a redirect's body is never read
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_body(self, response: httpx.Response) -> bytes:
        if not 200 <= response.status_code < 300:
            raise _Refused(f"status {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not (content_type.startswith("image/") or content_type == "application/octet-stream"):
            raise _Refused(f"content type {content_type[:60]!r}")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Refused(f"content encoding {encoding[:30]!r}")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            raise _Refused(f"Content-Length {length} over {self._max_bytes}")
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > self._max_bytes:
                raise _Refused(f"body over {self._max_bytes} bytes")
        if not body:
            raise _Refused("empty body")
        return bytes(body)
