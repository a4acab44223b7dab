from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from tds.exceptions import NotFound
from tds.server.deps import RuntimeDep
from tds.server.errors import ErrorBody
from tds.storage.base import content_type

router = APIRouter(tags=["files"])

# Keys are random and never reused, so a file at a URL never changes.
HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


@router.get(
    "/files/{key:path}",
    summary="A stored image or video (capability URL, no auth)",
    response_class=FileResponse,
    responses={404: {"model": ErrorBody, "description": "not_found: no file at this URL."}},
)
def get_file(key: str, rt: RuntimeDep) -> FileResponse:
    try:
        path = rt.storage.path(key)
    except FileNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise NotFound("No file at this URL.")
    return FileResponse(path, media_type=content_type(key), headers=HEADERS)
