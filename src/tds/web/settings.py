"""Settings → API keys, and the account page with its credit history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tds.api.deps import RuntimeDep
from tds.catalogue import PLANS
from tds.credits import ledger
from tds.keys import service as keys
from tds.web.deps import CheckedUser, User, WebUser
from tds.web.templating import page

router = APIRouter()

LEDGER_PAGE = 25
LEDGER_LABELS = {
    "grant": "Credits added",
    "hold": "Held for a render",
    "capture": "Spent on a render",
    "release": "Refunded",
}


def _keys_page(request: Request, rt: RuntimeDep, user: WebUser, **context: Any) -> Response:
    rows = rt.db.read(keys.list_for_account, user.account_id)
    return page(request, "keys.html", user, keys=rows, **context)


@router.get("/settings/keys")
def keys_page(request: Request, rt: RuntimeDep, user: User) -> Response:
    return _keys_page(request, rt, user)


@router.post("/settings/keys")
def create_key(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    key, token = rt.db.write(keys.create, user.account_id, name, rt.key_secret)
    # Shown in this answer only; never stored, never shown again.
    response = _keys_page(request, rt, user, new_key=token, new_key_name=key.name)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(key_id: str, rt: RuntimeDep, user: CheckedUser) -> Response:
    rt.db.write(keys.revoke, key_id, account_id=user.account_id)
    rt.principals.forget(key_id)
    return RedirectResponse("/settings/keys", status_code=303)


@router.get("/account")
def account_page(
    request: Request,
    rt: RuntimeDep,
    user: User,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    entries, has_more = rt.db.read(
        ledger.history, user.account_id, limit=LEDGER_PAGE, offset=(page_number - 1) * LEDGER_PAGE
    )
    return page(
        request,
        "account.html",
        user,
        plan=PLANS[user.plan],
        entries=entries,
        labels=LEDGER_LABELS,
        page=page_number,
        has_more=has_more,
    )
