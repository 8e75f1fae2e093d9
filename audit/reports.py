"""The periodic audit report of an agency: searches, purposes, flags, chain verification."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from audit.chain import utc_stamp
from audit.checkpoint import verify_log
from audit.models import Action, AuditReport, FlagKind
from audit.selectors import period_summary
from audit.services import record_event
from tenants.models import Agency


def _markdown(agency: Agency, start, end, summary: dict, verification: dict) -> str:
    tz = agency.tz
    kinds = dict(FlagKind.choices)
    actions = dict(Action.choices)
    lines = [
        f"# Access-log audit report — {agency.name}",
        "",
        f"Period: {start.astimezone(tz):%Y-%m-%d %H:%M} to {end.astimezone(tz):%Y-%m-%d %H:%M} "
        f"({agency.timezone}); UTC {utc_stamp(start)} to {utc_stamp(end)}.",
        "",
        "## Chain verification",
        "",
    ]
    if verification["ok"]:
        lines.append(
            f"Intact: {verification['checked']} entries checked; head entry "
            f"#{verification['head_id']} with hash `{verification['head_hash']}`. Keep this "
            f"hash outside the database: `verify_audit_log --agency {agency.slug} --expect "
            f"{verification['head_id']}:{verification['head_hash']}` fails if entries up to it "
            "are ever removed or changed."
        )
    else:
        lines.append(
            f"**BROKEN** at entry #{verification['broken_id']}: {verification['problem']}. "
            "Tell the agency's custodian and the platform operator now."
        )
    lines += [
        "",
        "## Searches",
        "",
        f"- Searches: {summary['searches']} ({summary['searches_refused']} refused, "
        f"{summary['searches_without_case']} without a case number)",
        f"- All recorded events: {summary['events']}",
        "",
        "| purpose category | searches |",
        "| --- | ---: |",
    ]
    lines += [f"| {p} | {n} |" for p, n in summary["purposes"]] or ["| (none) | 0 |"]
    lines += ["", "| user | searches | refused |", "| --- | ---: | ---: |"]
    lines += [f"| {u} | {n} | {r} |" for u, n, r in summary["users"]] or ["| (none) | 0 | 0 |"]
    lines += [
        "",
        "## Flags",
        "",
        f"{summary['flags']} flags on events of the period, {summary['flags_open']} not yet "
        "reviewed.",
        "",
        "| reason | flags |",
        "| --- | ---: |",
    ]
    lines += [f"| {kinds.get(k, k)} | {n} |" for k, n in sorted(summary["flags_by_kind"].items())]
    lines += ["", "## Other events", "", "| action | events |", "| --- | ---: |"]
    lines += [f"| {actions.get(a, a)} | {n} |" for a, n in sorted(summary["by_action"].items())]
    return "\n".join(lines) + "\n"


def report_export(*, report: AuditReport, request: HttpRequest) -> str:
    """Log the download of ``report`` (an ``export``) and give its Markdown."""
    record_event(
        action=Action.EXPORT,
        request=request,
        reason="Audit report downloaded.",
        objects=[("audit_report", report.id)],
        details={"format": "md", "what": "audit_report"},
    )
    return report.body


def report_create(
    *,
    agency: Agency,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
    actor: User | None = None,
) -> AuditReport:
    """Build, store and log the report for the current schema's agency."""
    verification = verify_log().as_details()
    summary = period_summary(start=period_start, end=period_end)
    summary["verification"] = verification
    body = _markdown(agency, period_start, period_end, summary, verification)
    with transaction.atomic():
        report = AuditReport.objects.create(
            period_start=period_start,
            period_end=period_end,
            chain_ok=verification["ok"],
            summary=summary,
            body=body,
        )
        record_event(
            action=Action.REPORT,
            actor=actor,
            username="" if actor else "system",
            reason=f"Audit report for {period_start:%Y-%m-%d} to {period_end:%Y-%m-%d}.",
            objects=[("audit_report", report.id)],
            details={
                "searches": summary["searches"],
                "flags": summary["flags"],
                "chain_ok": verification["ok"],
                "head_hash": verification["head_hash"],
            },
        )
    return report
