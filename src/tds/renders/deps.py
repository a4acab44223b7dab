"""The renders domain's request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tds.api.deps import RuntimeDep
from tds.renders.submission import Submitter


def submitter(rt: RuntimeDep) -> Submitter:
    return Submitter(
        db=rt.db,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
        fetcher=rt.fetcher,
        images=rt.images,
        engines=rt.engines,
        settings=rt.settings,
    )


SubmitterDep = Annotated[Submitter, Depends(submitter)]
