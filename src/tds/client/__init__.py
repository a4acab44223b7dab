"""The tds API from Python: standard library only, so this folder also runs inside Rhino 8's
and pyRevit's Python (3.9+).

    from tds.client import Client

    client = Client()  # the key from TDS_API_KEY or `tds login`
    render = client.render("viewport.png", architectural_style="Modern", lighting="Golden Hour")
    client.download(render, "render.jpg")
    client.render("viewport.png", project="2026-017 Harbour Lofts")  # billed to a project code
    for row in client.usage(group_by="project", start="2026-12-01"):  # credits per project
        print(row.label, row.credits_spent)

Every error is a TdsError carrying `code`, `message` and HTTP `status`:

    TdsError
    ├── TdsConnectionError      no answer after every retry (status None)
    ├── RenderTimeout           render(timeout=…) passed; the render goes on (status None)
    ├── InvalidRequest          400 invalid_request
    │   ├── InvalidImage        400 invalid_image
    │   ├── ImageUrlUnfetchable 400 image_url_unfetchable
    │   └── KindUnavailable     400 kind_unavailable
    ├── InvalidApiKey           401 invalid_api_key (also raised when no key is configured)
    ├── InsufficientCredits     402 insufficient_credits
    │   └── MonthlyCapReached   402 monthly_cap_reached (your cap in the team; `cap`, `cap_left`)
    ├── PlanLimit               403 plan_limit
    ├── NotFound                404 not_found
    ├── IdempotencyConflict     409 idempotency_conflict
    ├── RenderFinished          409 render_finished
    ├── PayloadTooLarge         413 payload_too_large
    ├── RateLimited             429 rate_limited (retried first; `retry_after`)
    ├── InternalError           500 internal_error (retried first; also unknown 5xx)
    ├── ModelFailed             502 model_failed (credits refunded; `render_id`, `render`)
    └── ModelUnavailable        503 model_unavailable (retried first; `retry_after`)

Codes this client does not know map by status (405 → InvalidRequest, other 5xx →
InternalError). Requests are retried after network errors, 429, 500, 503 and 504; every POST
carries one Idempotency-Key for all its tries, so a retried render is never charged twice.
"""

from ._client import Client, ImageInput, ProgressCallback
from ._config import DEFAULT_BASE_URL, config_path, load_config, save_config
from ._errors import (
    IdempotencyConflict,
    ImageUrlUnfetchable,
    InsufficientCredits,
    InternalError,
    InvalidApiKey,
    InvalidImage,
    InvalidRequest,
    KindUnavailable,
    ModelFailed,
    ModelUnavailable,
    MonthlyCapReached,
    NotFound,
    PayloadTooLarge,
    PlanLimit,
    RateLimited,
    RenderFinished,
    RenderTimeout,
    TdsConnectionError,
    TdsError,
)
from ._http import VERSION as __version__
from ._models import (
    Account,
    EngineInfo,
    KindInfo,
    MonthlyCap,
    Option,
    Plan,
    Progress,
    Render,
    RenderError,
    RenderList,
    Resolution,
    Styles,
    TeamRef,
    Upload,
    Usage,
    UsageGroup,
    UsageTotals,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "Account",
    "Client",
    "EngineInfo",
    "IdempotencyConflict",
    "ImageInput",
    "ImageUrlUnfetchable",
    "InsufficientCredits",
    "InternalError",
    "InvalidApiKey",
    "InvalidImage",
    "InvalidRequest",
    "KindInfo",
    "KindUnavailable",
    "ModelFailed",
    "ModelUnavailable",
    "MonthlyCap",
    "MonthlyCapReached",
    "NotFound",
    "Option",
    "PayloadTooLarge",
    "Plan",
    "PlanLimit",
    "Progress",
    "ProgressCallback",
    "RateLimited",
    "Render",
    "RenderError",
    "RenderFinished",
    "RenderList",
    "RenderTimeout",
    "Resolution",
    "Styles",
    "TdsConnectionError",
    "TdsError",
    "TeamRef",
    "Upload",
    "Usage",
    "UsageGroup",
    "UsageTotals",
    "__version__",
    "config_path",
    "load_config",
    "save_config",
]
