"""The Usage page: the team's credits spent and renders per project code or per member, over
a month or a range of days, and the same report as a CSV file (/usage.csv, same query).

Both read tds.usage.service.report, as GET /api/v1/usage does, for the signed-in user's team.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tds.api.deps import RuntimeDep
from tds.exceptions import InvalidRequest
from tds.kit.db import utcnow
from tds.usage import schemas, service
from tds.usage.service import Window
from tds.web.deps import User
from tds.web.templating import page

router = APIRouter()

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Query:
    """What the page's form asks for; `to` is the last day included, as people write ranges."""

    group_by: schemas.GroupBy
    month: str  # YYYY-MM; used when neither day is given
    start: date | None
    to: date | None

    @property
    def window(self) -> Window:
        if self.by_month:
            first = _month_start(self.month)
            following = (first + timedelta(days=32)).replace(day=1)
            return Window(_midnight(first), _midnight(following))
        now = utcnow()
        begin = _midnight(self.start) if self.start else now.replace(day=1, hour=0, minute=0)
        begin = begin.replace(second=0, microsecond=0)
        end = _midnight(self.to + timedelta(days=1)) if self.to else now
        if begin >= end:
            raise InvalidRequest("The first day must not be after the last day.", param="from")
        return Window(begin, end)

    @property
    def by_month(self) -> bool:
        return self.start is None and self.to is None

    def params(self) -> str:
        """The query string that asks for this report again (the CSV link)."""
        if self.by_month:
            return urlencode({"group_by": self.group_by, "month": self.month})
        days = {"from": self.start, "to": self.to}
        chosen = {k: v.isoformat() for k, v in days.items() if v}
        return urlencode({"group_by": self.group_by} | chosen)

    def month_link(self, step: int) -> str:
        """The query string of the month before (-1) or after (+1) this one."""
        first = _month_start(self.month)
        if step < 0:
            other = (first - timedelta(days=1)).replace(day=1)
        else:
            other = (first + timedelta(days=32)).replace(day=1)
        return urlencode({"group_by": self.group_by, "month": other.strftime("%Y-%m")})


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_start(month: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match[2]) <= 12:
        raise InvalidRequest(f"month must be written YYYY-MM; got {month!r}.", param="month")
    return date(int(match[1]), int(match[2]), 1)


def _day(value: str | None, param: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(
            f"{param} must be a day written YYYY-MM-DD; got {value!r}.", param=param
        ) from None


def parse(request: Request) -> Query:
    """The report asked for by the query string; InvalidRequest for one that makes no sense."""
    asked = request.query_params
    group_by = service.check_group_by(asked.get("group_by") or "project")
    month = (asked.get("month") or "").strip() or utcnow().strftime("%Y-%m")
    _month_start(month)
    return Query(group_by, month, _day(asked.get("from"), "from"), _day(asked.get("to"), "to"))


def safe_cell(value: str) -> str:
    """`value`, with a quote in front when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def usage_csv(report: schemas.Usage) -> str:
    """One line per group (the project code or "(no project)", or the member's email and id),
    then its credits spent and renders; no total line, so each column sums to the total."""
    member = report.group_by == "member"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [report.group_by, *(["member_id"] if member else []), "credits_spent", "renders"]
    )
    for row in report.data:
        cells = [row.label, *([row.group or ""] if member else [])]
        writer.writerow([*(safe_cell(c) for c in cells), str(row.credits_spent), str(row.renders)])
    return buffer.getvalue()


def filename(report: schemas.Usage) -> str:
    """tds-usage-<by>-<first day>-to-<last day>.csv, the last day being the one included."""
    last = report.end - timedelta(microseconds=1)
    return f"tds-usage-{report.group_by}-{report.start:%Y-%m-%d}-to-{last:%Y-%m-%d}.csv"


@router.get("/usage")
async def usage_page(request: Request, rt: RuntimeDep, user: User) -> Response:
    try:
        query = parse(request)
        window = query.window
    except InvalidRequest as error:
        # The form again, saying what to fix.
        return page(request, "usage.html", user, status_code=400, error=error.message, query=None)
    report = await rt.db.run_read(service.report, user.account_id, query.group_by, window)
    return page(
        request,
        "usage.html",
        user,
        query=query,
        report=report,
        csv_url="/usage.csv?" + query.params(),
        last_moment=report.end - timedelta(microseconds=1),
    )


@router.get("/usage.csv")
async def usage_download(request: Request, rt: RuntimeDep, user: User) -> Response:
    query = parse(request)
    report = await rt.db.run_read(service.report, user.account_id, query.group_by, query.window)
    return Response(
        usage_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(report)}"',
            "Cache-Control": "no-store",
        },
    )
