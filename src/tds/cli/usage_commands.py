"""`tds usage`: credits spent and renders per project code or per member, as a table, JSON or
CSV. Like every client command it goes through tds.client only; an API error exits 1."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated

import typer

from tds.cli.connection import ApiKey, BaseUrl, api
from tds.cli.output import Json, dump, out, table
from tds.client import Usage

GROUP_BYS = ("project", "member")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """`value`, with a quote in front when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def usage_csv(report: Usage) -> str:
    """One line per group: the project code (or "(no project)") or the member's email, then
    `member_id` for members, credits spent and renders; no total line, so a column's sum is
    the total."""
    member = report.group_by == "member"
    head = [report.group_by, *(["member_id"] if member else []), "credits_spent", "renders"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(head)
    for row in report.data:
        cells: Sequence[str] = [
            row.label,
            *([row.group or ""] if member else []),
            str(row.credits_spent),
            str(row.renders),
        ]
        writer.writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def month_window(month: str) -> tuple[str, str]:
    """(first day, first day of the next month) of a YYYY-MM month."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise typer.BadParameter("write the month as YYYY-MM, e.g. 2026-12", param_hint="--month")
    year, number = int(match[1]), int(match[2])
    first = date(year, number, 1)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return first.isoformat(), following.isoformat()


def _when(report: Usage) -> str:
    start = report.start.strftime("%Y-%m-%d %H:%M") if report.start else "?"
    end = report.end.strftime("%Y-%m-%d %H:%M") if report.end else "?"
    return f"{start} to {end} UTC"


def usage(
    group_by: Annotated[
        str, typer.Option("--group-by", help="project (one row per project code) or member.")
    ] = "project",
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First day (YYYY-MM-DD, midnight UTC) or date-time, included. Default: the "
            "start of this month (UTC).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Day or date-time the report stops before (excluded). Default: now.",
            show_default=False,
        ),
    ] = None,
    month: Annotated[
        str | None,
        typer.Option(
            help="A whole month, YYYY-MM (instead of --from and --to).", show_default=False
        ),
    ] = None,
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv", help="Print CSV on stdout (one line per group, no total line), for sheets."
        ),
    ] = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Credits spent and renders per project code or per member, over a window.

    Only finished renders spend credits (refunded ones are left out), counted when they
    finished; the rows add up to the total, which is what the ledger says was spent.

    Examples:

      tds usage --month 2026-11

      tds usage --group-by member --from 2026-12-01 --to 2026-12-08

      tds usage --month 2026-11 --csv > harbour-lofts-november.csv
    """
    if group_by not in GROUP_BYS:
        raise typer.BadParameter(f"choose one of {', '.join(GROUP_BYS)}", param_hint="--group-by")
    if as_csv and as_json:
        raise typer.BadParameter("choose one of --csv and --json", param_hint="--csv")
    if month is not None:
        if start is not None or end is not None:
            raise typer.BadParameter("give --month, or --from and --to, not both")
        start, end = month_window(month)
    with api(api_key, base_url, as_json) as client:
        report = client.usage(group_by, start=start, end=end)
    if as_json:
        dump(report.raw)
        return
    if as_csv:
        typer.echo(usage_csv(report), nl=False)
        return
    out(f"Usage by {report.group_by}, {_when(report)}")
    out()
    title = "PROJECT" if report.group_by == "project" else "MEMBER"
    rows = [[row.label, str(row.credits_spent), str(row.renders)] for row in report.data]
    total = report.total
    rows.append(["TOTAL", str(total.credits_spent), str(total.renders)])
    out(table([title, "CREDITS", "RENDERS"], rows))


def register(app: typer.Typer) -> None:
    """Add usage to the `tds` app."""
    app.command("usage")(usage)
