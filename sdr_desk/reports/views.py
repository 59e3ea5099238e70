"""The report pages: speed to lead, the funnel, marketing's handoff report, coaching, and the leads behind a figure.

Each page is its tables (``tables.Table``) and charts built from the selectors over the viewer's scope and the
URL's filters; ``?format=csv&table=<key>`` exports one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from sdr_desk.reports import selectors as s
from sdr_desk.reports.forms import ReportFilterForm, default_range
from sdr_desk.reports.models import LeadFact
from sdr_desk.reports.rollups import facts_fresh_enough
from sdr_desk.reports.snapshots import Inputs, Served, figure_rows, report_session
from sdr_desk.reports.tables import Column, Table

PAGES = [("reports-speed", "Speed to lead"), ("reports-funnel", "Funnel"), ("reports-handoff", "Handoff"),
         ("reports-coaching", "Coaching")]
FILTER_PARAMS = ("since", "until", "team", "source")
RANGE_PRESETS = [("7 days", 7), ("30 days", 30), ("90 days", 90), ("12 months", 365)]


@dataclass
class Report:
    """What every report page starts from: the viewer's facts, filtered, and how to say so."""

    facts: QuerySet[LeadFact]
    scope: s.Scope
    form: ReportFilterForm
    window: s.Window
    base: dict[str, str]
    inputs: Inputs
    served: Served
    status: int

    @property
    def refreshed_at(self) -> Any:
        """When the facts behind the oldest figure shown were made."""
        return self.served.as_of or self.served.version.refreshed_at

    @property
    def behind(self) -> bool:
        """Some figure shown is a snapshot of older facts (a task is computing it again)."""
        newest = self.served.version.refreshed_at
        return bool(self.served.as_of and newest and self.served.as_of < newest)

    @property
    def presets(self) -> list[tuple[str, str, bool]]:
        """Quick ranges ending today: (label, query, whether it is the range shown)."""
        today = timezone.localdate()
        found = []
        for label, days in RANGE_PRESETS:
            since = today - timedelta(days=days - 1)
            query = urlencode({**self.base, "since": since.isoformat(), "until": today.isoformat()})
            found.append((label, query, (self.window.since, self.window.until) == (since, today)))
        return found

    def figure(self, name: str, **kwargs: Any) -> Callable[[], list[dict[str, Any]]]:
        """Figure ``name`` of these facts, as a table's lazy source (live, or from its snapshot)."""
        return lambda: figure_rows(name, kwargs, self.inputs, served=self.served, facts=self.facts)


def roomy(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run a report in one ``report_session``: one transaction with room to sort in memory and no JIT."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with report_session():
            return view(request, *args, **kwargs)

    return wrapped


def _report(request: HttpRequest) -> Report:
    scope = s.facts_scope(request.user)
    teams = s.scope_teams(request.user, scope)
    form = ReportFilterForm(request.GET or None, teams=teams)
    since, until = default_range()
    team_id = source_id = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            since, until = form.cleaned_data["since"], form.cleaned_data["until"]
            team_id = form.cleaned_data["team"].pk if form.cleaned_data["team"] else None
            source_id = form.cleaned_data["source"].pk if form.cleaned_data["source"] else None
        else:
            status = 400
    zone = timezone.get_current_timezone()
    window = s.Window(since=since, until=until, zone=zone)
    base = {"since": since.isoformat(), "until": until.isoformat()}
    if team_id:
        base["team"] = str(team_id)
    if source_id:
        base["source"] = str(source_id)
    facts = s.facts_filter(scope.facts, window=window, team_id=team_id, source_id=source_id)
    version = facts_fresh_enough()
    inputs = Inputs(scope=scope.descriptor, since=since, until=until, zone=str(zone), team_id=team_id,
                    source_id=source_id)
    return Report(facts=facts, scope=scope, form=form, window=window, base=base, inputs=inputs,
                  served=Served(version=version), status=status)


def _page(request: HttpRequest, report: Report, *, name: str, title: str, tables: list[Table],
          charts: dict[str, Any] | None = None, **extra: Any) -> HttpResponse:
    for table in tables:
        table.base = report.base
    if _exporting(request):
        wanted = request.GET.get("table", tables[0].key if tables else "")
        table = next((t for t in tables if t.key == wanted), None)
        if table is None:
            raise Http404("No such table on this report.")
        return table.csv_response(f"{name}-{table.key}-{report.window.since}-{report.window.until}.csv")
    for table in tables:  # every figure before the page says how old the oldest is
        table.rows  # noqa: B018
    query = urlencode({k: v for k, v in request.GET.items() if k not in ("format", "table")})
    return render(request, "reports/report.html", {
        "title": title, "page": name, "pages": PAGES, "report": report, "tables": tables, "charts": charts or {},
        "query": query, "leads_href": reverse("reports-leads") + "?" + urlencode(report.base), **extra,
    }, status=report.status)


def _dimension(request: HttpRequest, choices: dict[str, Any], default: str) -> str:
    wanted = request.GET.get("by", default)
    return wanted if wanted in choices else default


SPEED_COLUMNS = [
    Column("leads", "Leads"), Column("touched", "Touched", flag="touched"), Column("never", "Never", flag="never"),
    Column("response_seconds_p50", "p50", "duration"), Column("response_seconds_p90", "p90", "duration"),
    Column("response_seconds_p95", "p95", "duration"), Column("response_mean", "Mean", "duration"),
    Column("response_business_seconds_p50", "Business p50", "duration"),
    Column("response_business_seconds_p90", "Business p90", "duration"),
    Column("system_seconds_p50", "System p50", "duration"), Column("human_seconds_p50", "Human p50", "duration"),
    Column("sla_rate", "SLA met", "rate"), Column("escalated", "Escalated", flag="escalated"),
    Column("arrived_after_hours", "After hours", flag="after_hours"),
]


@require_GET
@permission_required("reports.view_leadfact", raise_exception=True)
@roomy
def speed(request: HttpRequest) -> HttpResponse:
    """Arrival to first touch (not assignment to first touch): wall clock and business time, by dimension."""
    report = _report(request)
    by = _dimension(request, s.SPEED_DIMENSIONS, "rep")
    tables = [
        Table("summary", "Response time from arrival", [Column("label", "Leads", "label"), *SPEED_COLUMNS],
              report.figure("speed_summary"),
              note="From the moment the lead arrived (or turned hot again) to the owner's first touch. "
                   "System: arrival to offer or assignment; human: offer to first touch. "
                   "Business time counts the team's hours only."),
        Table("buckets", "Outcome by response time", [
            Column("label", "Responded", "label"), Column("leads", "Leads"), Column("share", "Share", "rate"),
            Column("connected", "Connected", flag="connected"), Column("connect_rate", "Connect rate", "rate"),
            Column("qualified", "Qualified", flag="qualified"), Column("qualified_rate", "Qualified rate", "rate"),
            Column("handed_off", "Handed off", flag="handed_off"), Column("accepted", "AE-accepted", flag="accepted"),
            Column("accept_rate", "AE acceptance", "rate")], report.figure("bucket_outcomes")),
        Table(f"by-{by}", f"By {s.SPEED_DIMENSIONS[by][0].lower()}",
              [Column("label", s.SPEED_DIMENSIONS[by][0], "label"), *SPEED_COLUMNS],
              report.figure("speed_by", dimension=by)),
    ]
    if _exporting(request):
        return _page(request, report, name="speed", title="Speed to lead", tables=tables)
    buckets = tables[1].rows
    series = _every_day(report.figure("response_series")(), report.window)
    charts = {
        "series": {"type": "line", "labels": [row["day"].isoformat() for row in series],
                   "datasets": [{"label": "p50 (min)", "data": [_minutes(row["p50"]) for row in series]},
                                {"label": "p90 (min)", "data": [_minutes(row["p90"]) for row in series]}],
                   "title": "Response time by day of arrival (minutes)"},
        "buckets": {"type": "bar", "labels": [row["label"] for row in buckets],
                    "datasets": [{"label": "Leads", "data": [row["leads"] for row in buckets]}],
                    "links": [tables[1].drill_href({**row, "drill": {**report.base, **row["drill"]}},
                                                   tables[1].columns[1]) for row in buckets],
                    "title": "Leads by time to first touch"},
    }
    return _page(request, report, name="speed", title="Speed to lead", tables=tables, charts=charts,
                 dimensions=[(k, v[0]) for k, v in s.SPEED_DIMENSIONS.items()], by=by,
                 claim=s.speed_claim(buckets), summary=tables[0].rows[0], fast_share=buckets[0]["share"])


def _exporting(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _every_day(series: list[dict[str, Any]], window: s.Window) -> list[dict[str, Any]]:
    """The series with a gap (no point) on each day without a lead, so the chart's days are evenly spaced."""
    found = {row["day"]: row for row in series}
    days = (window.until - window.since).days + 1
    return [found.get(day, {"day": day, "leads": 0, "p50": None, "p90": None})
            for day in (window.since + timedelta(days=n) for n in range(days))]


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


FUNNEL_COLUMNS = [
    Column("leads", "Leads"), Column("contacted", "Contacted", flag="contacted"),
    Column("qualified", "Qualified", flag="qualified"), Column("qualified_rate", "Qualified rate", "rate"),
    Column("handed_off", "Handed off", flag="handed_off"), Column("accepted", "AE-accepted", flag="accepted"),
    Column("accept_rate", "AE acceptance", "rate"), Column("held", "Meeting held", flag="held"),
]


@require_GET
@permission_required("reports.view_leadfact", raise_exception=True)
@roomy
def funnel(request: HttpRequest) -> HttpResponse:
    """Leads to meetings held, by source, channel, campaign or UTM; the reasons behind the losses."""
    report = _report(request)
    by = _dimension(request, s.FUNNEL_DIMENSIONS, "source")
    label = s.FUNNEL_DIMENSIONS[by][0]
    tables = [
        Table(f"by-{by}", f"Funnel by {label.lower()}", [Column("label", label, "label"), *FUNNEL_COLUMNS],
              report.figure("funnel_by", dimension=by)),
        Table("reasons", "Dispositions and their reasons", [
            Column("label", "Disposition", "label"), Column("disposition_reason", "Reason", "text"),
            Column("leads", "Leads")], report.figure("reasons")),
        Table("rejections", "AE rejections", [Column("label", "Reason", "label"), Column("leads", "Leads")],
              report.figure("rejection_reasons")),
    ]
    if _exporting(request):
        return _page(request, report, name="funnel", title="Funnel", tables=tables)
    total = report.figure("funnel_total")()[0]
    base_href = reverse("reports-leads") + "?" + urlencode(report.base)
    charts = {"funnel": {"type": "bar", "labels": [stage[1] for stage in s.FUNNEL_STAGES],
                         "datasets": [{"label": "Leads", "data": [total[stage[0]] for stage in s.FUNNEL_STAGES]}],
                         "links": [base_href + (f"&flag={stage[2]}" if stage[2] else "") for stage in s.FUNNEL_STAGES],
                         "title": "Funnel", "horizontal": True}}
    return _page(request, report, name="funnel", title="Funnel", tables=tables, charts=charts,
                 dimensions=[(k, v[0]) for k, v in s.FUNNEL_DIMENSIONS.items()], by=by)


@require_GET
@permission_required("reports.view_leadfact", raise_exception=True)
@roomy
def handoff(request: HttpRequest) -> HttpResponse:
    """Marketing's report: what became of each source's and campaign's leads at the AE, and why."""
    report = _report(request)
    handoff_columns = [Column("leads", "Leads"), Column("qualified", "Qualified", flag="qualified"),
                       Column("qualified_rate", "Qualified rate", "rate"),
                       Column("handed_off", "Handed off", flag="handed_off"),
                       Column("accepted", "AE-accepted", flag="accepted"),
                       Column("rejected", "AE-rejected", flag="rejected"),
                       Column("accept_rate", "AE acceptance", "rate"),
                       Column("disqualified", "Bad fit", flag="disqualified")]
    attribution_columns = [Column("qualified", "Qualified", flag="qualified"),
                           Column("accepted", "AE-accepted", flag="accepted"), Column("held", "Meeting held", flag="held")]
    tables = [
        Table("sources", "By source", [Column("label", "Source", "label"), *handoff_columns],
              report.figure("funnel_by", dimension="source")),
        Table("campaigns", "By campaign", [Column("label", "Campaign", "label"), *handoff_columns],
              report.figure("funnel_by", dimension="campaign")),
        Table("rejections", "Why AEs rejected", [Column("source_label", "Source", "text"),
                                                 Column("label", "Reason", "label"), Column("leads", "Leads")],
              report.figure("rejection_reasons", by_source=True)),
        Table("bad-fit", "Bad-fit reasons", [Column("source_label", "Source", "text"),
                                             Column("label", "Reason", "label"), Column("leads", "Leads")],
              report.figure("bad_fit_reasons")),
        Table("first-touch", "Qualified leads by first conversion (first-touch attribution)",
              [Column("label", "First source", "label"), *attribution_columns],
              report.figure("attribution", dimension="source", prefix="first_")),
        Table("last-touch", "Qualified leads by last conversion (last-touch attribution)",
              [Column("label", "Last source", "label"), *attribution_columns],
              report.figure("attribution", dimension="source", prefix="last_")),
        Table("first-campaign", "Qualified leads by first campaign",
              [Column("label", "First campaign", "label"), *attribution_columns],
              report.figure("attribution", dimension="campaign", prefix="first_")),
        Table("last-campaign", "Qualified leads by last campaign",
              [Column("label", "Last campaign", "label"), *attribution_columns],
              report.figure("attribution", dimension="campaign", prefix="last_")),
    ]
    return _page(request, report, name="handoff", title="Handoff", tables=tables)


@require_GET
@permission_required("reports.view_leadfact", raise_exception=True)
@roomy
def coaching(request: HttpRequest) -> HttpResponse:
    """Per rep: how hard and how well they work their leads."""
    report = _report(request)
    tables = [Table("reps", "By rep", [
        Column("label", "Rep", "label"), Column("leads", "Leads"), Column("contacted", "Contacted", flag="contacted"),
        Column("touches_per_lead", "Touches per contacted lead", "number"),
        Column("connected", "Connected", flag="connected"), Column("connect_rate", "Connect rate", "rate"),
        Column("attempts_mean", "Attempts to connect", "number"),
        Column("enrolled", "In a sequence", flag="enrolled"), Column("completed", "Sequence done", flag="completed"),
        Column("completion_rate", "Completion", "rate"), Column("handed_off", "Handed off", flag="handed_off"),
        Column("held", "Meetings held", flag="held"), Column("no_show", "No-shows", flag="no_show"),
        Column("no_show_rate", "No-show rate", "rate"), Column("escalated", "Escalated", flag="escalated")],
        report.figure("coaching"),
        note="Attempts to connect: touches up to and including the first connected call, over connected leads.")]
    return _page(request, report, name="coaching", title="Coaching", tables=tables)


LEADS_PER_PAGE = 50


@require_GET
@permission_required("reports.view_leadfact", raise_exception=True)
@roomy
def leads(request: HttpRequest) -> HttpResponse:
    """The leads behind a figure: the same scope and filters, narrowed by the figure's parameters."""
    report = _report(request)
    drill = {k: v for k, v in request.GET.items() if k not in FILTER_PARAMS and k not in ("page", "format")}
    try:
        facts = s.facts_drill(report.facts, drill)
        error = ""
    except s.DrillInvalid as invalid:
        facts, error = report.facts.none(), str(invalid)
    facts = facts.select_related("lead", "rep", "team", "source", "disposition_code").order_by("-arrived_at",
                                                                                                "-lead_id")
    page = Paginator(facts, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in request.GET.items() if k != "page"})
    return render(request, "reports/leads.html", {
        "title": "Leads behind the figure", "pages": PAGES, "report": report, "page_obj": page, "drill": drill,
        "error": error, "query": query,
    }, status=400 if error or report.status == 400 else 200)

