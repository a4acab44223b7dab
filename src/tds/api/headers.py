"""Security headers on every answer; a strict Content-Security-Policy on dashboard pages."""

from __future__ import annotations

# The dashboard serves its own scripts and styles only; images come from this server (and blob:
# previews of a file the user picked). No page may be framed.
DASHBOARD_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
_CSP = DASHBOARD_CSP.encode()
# FastAPI's interactive docs load Swagger UI and ReDoc from a CDN: no CSP there.
_NO_CSP = ("/docs", "/redoc")


def add_security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """Add the common security headers an answer lacks, and on dashboard pages (HTML) the
    Content-Security-Policy and the ban on framing."""
    present = {name.lower() for name, _ in headers}
    headers += [(name, value) for name, value in COMMON if name not in present]
    is_html = any(
        name.lower() == b"content-type" and value.startswith(b"text/html")
        for name, value in headers
    )
    if is_html and not path.startswith(_NO_CSP):
        headers.append((b"content-security-policy", _CSP))
        headers.append((b"x-frame-options", b"DENY"))
