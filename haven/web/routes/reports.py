"""The report page for coordinators: totals over a chosen period, charts, and the CSV and DHIS2 files.

The page, the CSV and the DHIS2 file all come from the one report use case (``app.reports.report``,
one ``report.view`` audit entry each), with the same suppression as ``haven report``; the files are the
same bytes the command line writes for the same options, sent without being written anywhere. At the
root's site, whose coordinators hold the network counts key, the page also offers the whole network's
totals (``haven report --network``); elsewhere it offers only the site's own, and refuses a request for
the network's with the use case's one-line refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from haven.core import strictjson
from haven.errors import InputError
from haven.reports.charts import ChartWords, table_svg
from haven.reports.csv import to_csv
from haven.reports.dhis2 import Mapping as Dhis2Mapping
from haven.reports.dhis2 import dhis2_json
from haven.reports.periods import BY, periods
from haven.reports.tables import DEFAULT_THRESHOLD, MAX_THRESHOLD, Report, Table
from haven.site.staff import StaffMember
from haven.web.deps import ReportStaff, State
from haven.web.i18n import N_, PUNCTUATION
from haven.web.render import gettext_for, render, request_locale
from haven.web.state import AppState
from haven.web.vocab import product_name, word

router = APIRouter(include_in_schema=False)

MAPPING_MAX_BYTES = 1024 * 1024  # a mapping file names a few hundred cells
SECTION_TITLES = {
    "vaccinations": N_("Vaccinations"),
    "tests": N_("Tests"),
    "care": N_("Care"),
    "aefi": N_("Adverse events following immunization"),
}
ROW_NAMES = {
    "vaccinations": (N_("Product"), N_("Dose")),
    "tests": (N_("Test"), N_("Result")),
    "care": (N_("Kind"), N_("Severity")),
    "aefi": (N_("Vaccine"), N_("Category")),
}
BY_NAMES = {"week": N_("By week"), "month": N_("By month")}
SCOPE_NAMES = {"site": N_("This site"), "network": N_("The whole network")}
PROBLEMS = {
    "date": N_("Enter a date as YYYY-MM-DD."),
    "order": N_("The last day is before the first day."),
    "span": N_("A report spans ten years at most."),
    "by": N_("Choose by week or by month."),
    "threshold": N_("Hide counts below a whole number from 1 to %(n)s."),
    "mapping": N_("This is not a DHIS2 mapping file Haven can read: see the example in the documentation."),
    "no-mapping": N_("Choose the DHIS2 mapping file first."),
    "scope": N_("Choose this site or the whole network."),
}
HIDDEN = "x"


@dataclass(frozen=True)
class Choice:
    """The options of one report, as ``haven report --from --to --by --suppress-below [--network]`` takes them."""

    start: dt.date
    end: dt.date
    by: str
    threshold: int
    network: bool = False

    def file_name(self, ending: str) -> str:
        scope = "network-" if self.network else ""
        return f"haven-report-{scope}{self.start.isoformat()}-{self.end.isoformat()}-{self.by}.{ending}"


def default_form(today: dt.date) -> dict[str, str]:
    """The last three months by month: enough for a small clinic's counts to say something."""
    first = (today.replace(day=1) - dt.timedelta(days=62)).replace(day=1)
    return {"from": first.isoformat(), "to": today.isoformat(), "by": "month", "suppress_below": "5", "scope": "site"}


def parse_choice(form: Mapping[str, str]) -> tuple[Choice | None, dict[str, str]]:
    """The report's options from the form, or the problem with each field (a key of PROBLEMS)."""
    problems: dict[str, str] = {}
    days: dict[str, dt.date] = {}
    for name in ("from", "to"):
        try:
            days[name] = dt.date.fromisoformat(form.get(name, "").strip())
        except ValueError:
            problems[name] = "date"
    by = form.get("by", "month")
    if by not in BY:
        problems["by"] = "by"
    text = form.get("suppress_below", str(DEFAULT_THRESHOLD)).strip()
    threshold = int(text) if text.isdigit() and len(text) < 5 else 0
    if not 1 <= threshold <= MAX_THRESHOLD:
        problems["suppress_below"] = "threshold"
    scope = form.get("scope") or "site"
    if scope not in SCOPE_NAMES:
        problems["scope"] = "scope"
    if problems:
        return None, problems
    if days["to"] < days["from"]:
        return None, {"to": "order"}
    try:
        periods(days["from"], days["to"], by)
    except InputError:
        return None, {"to": "span"}
    return Choice(days["from"], days["to"], by, threshold, scope == "network"), {}


def chart_words(_: Callable[..., str], locale: str) -> ChartWords:
    punct = PUNCTUATION[locale]

    def heading(table: Table) -> tuple[str, str]:
        period = table.period
        dates = _("(%(start)s to %(end)s)", start=period.start.isoformat(), end=period.end.isoformat())
        first = f"{_(SECTION_TITLES[table.section])}{punct.comma}{period.label}"
        return first, dates if locale == "zh_Hans" else " " + dates

    return ChartWords(
        heading=heading,
        row=lambda section, row: row_label(_, locale, section, row, short=True),
        axis=_("Count in the period (all age bands)"),
        legend=_("Total of the row"),
        hidden=_("x: hidden"),
        hidden_note=_("x: hidden (a small count, or one hidden to protect it)"),
    )


def row_label(_: Callable[..., str], locale: str, section: str, row: tuple[str, str], short: bool = False) -> str:
    """A row's name in the page's language: "Td, dose 2", "Rapid antigen test: Negative", "Treatment, Mild"
    (``short``: a product's name without what its brackets add, to fit a chart's line on a phone)."""
    punct = PUNCTUATION[locale]
    item, detail = row
    if section in ("vaccinations", "aefi"):
        name = _(product_name(item))
        if short:
            cut = min((i for i in (name.find("("), name.find("（")) if i > 0), default=len(name))
            name = name[:cut].rstrip()
        if section == "aefi":  # the vaccine it followed, and the WHO cause category
            return f"{name}{punct.comma}{_(word(detail))}"
        return f"{name}{punct.comma}{_('dose %(n)s', n=detail)}"
    if section == "tests":
        return f"{_(word(item))}{punct.colon}{_(word(detail))}"
    return f"{_(word(item))}{punct.comma}{_(word(detail))}"


def _report_page(
    request: Request,
    form: dict[str, str],
    report: Report | None,
    problems: dict[str, str],
    status: int = 200,
    export_problem: str = "",
    network_offered: bool = False,
) -> Response:
    locale = request_locale(request)
    _ = gettext_for(locale)
    words = chart_words(_, locale)
    errors = {
        name: _(PROBLEMS[p], n=MAX_THRESHOLD) if p == "threshold" else _(PROBLEMS[p]) for name, p in problems.items()
    }
    return render(
        request,
        "report.html",
        status=status,
        form=form,
        errors=errors,
        export_error=_(PROBLEMS[export_problem]) if export_problem else "",
        report=report,
        by_names=BY_NAMES,
        scope_names=SCOPE_NAMES,
        network_offered=network_offered,
        network=form.get("scope") == "network" and report is not None,
        fields=FIELDS,
        section_titles=SECTION_TITLES,
        row_names=ROW_NAMES,
        row_label=lambda section, row: row_label(_, locale, section, row),
        chart=lambda table: Markup(table_svg(table, words)),  # table_svg escapes every label
        shown=lambda value: HIDDEN if value is None else str(value),
    )


FIELDS = ("from", "to", "by", "suppress_below", "scope")


def _form_of(params: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k in FIELDS and isinstance(v, str)}


def _report(staff: StaffMember, state: AppState, choice: Choice) -> tuple[Report, bool]:
    """The report (the one ``report.view`` entry; network totals refused where this site cannot read
    them), and whether the page offers the network's totals here."""
    app = state.site.app(staff)
    report = app.reports.report(choice.start, choice.end, choice.by, choice.threshold, network=choice.network)
    return report, app.reports.network_readable()


@router.get("/reports")
async def report_page(request: Request, state: State, staff: ReportStaff) -> Response:
    form = _form_of(request.query_params) or default_form(state.site.date_today())
    choice, problems = parse_choice(form)
    if choice is None:
        offered = await run_in_threadpool(state.site.app(staff).reports.network_readable)
        return _report_page(request, form, None, problems, 400, network_offered=offered)
    report, offered = await run_in_threadpool(_report, staff, state, choice)
    return _report_page(request, form, report, {}, network_offered=offered)


@router.post("/reports/export")
async def export_report(request: Request, state: State, staff: ReportStaff) -> Response:
    """The report as CSV or DHIS2 ``dataValueSets`` JSON, downloaded: never kept on the server."""
    submitted = await request.form()
    form = _form_of(submitted)
    fmt = submitted.get("format")
    choice, problems = parse_choice(form)
    if choice is None:
        return _report_page(request, form, None, problems, 400)
    mapping: Dhis2Mapping | None = None
    if fmt == "dhis2":
        upload = submitted.get("mapping")
        data = b""
        if isinstance(upload, UploadFile):
            data = await upload.read(MAPPING_MAX_BYTES + 1)
            await upload.close()
        problem = "no-mapping" if not data else ""
        try:
            if data and len(data) <= MAPPING_MAX_BYTES:
                mapping = Dhis2Mapping.parse(strictjson.loads(data, "DHIS2 mapping document"))
            elif data:
                problem = "mapping"
        except InputError:
            problem = "mapping"
        if mapping is None:  # the page again, its download section saying what is wrong with the file
            shown, offered = await run_in_threadpool(_report, staff, state, choice)
            return _report_page(
                request, form, shown, {}, 400, export_problem=problem or "mapping", network_offered=offered
            )
    elif fmt != "csv":
        return _report_page(request, form, None, {"by": "by"}, 400)
    report, _offered = await run_in_threadpool(_report, staff, state, choice)
    if mapping is None:
        body, media, name = to_csv(report).encode("utf-8"), "text/csv; charset=utf-8", choice.file_name("csv")
        unmapped = 0
    else:
        text, missing = dhis2_json(report, mapping)
        body, media, name = text.encode("utf-8"), "application/json", choice.file_name("dhis2.json")
        unmapped = len(missing)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Haven-Unmapped-Cells": str(unmapped),
    }
    return Response(body, media_type=media, headers=headers)
