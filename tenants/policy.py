"""An agency's published usage and privacy policy: the default text and how it is rendered.

The text is plain, with a tiny markup that cannot inject HTML: a line starting with ``## `` is a
heading, a line starting with ``- `` is a list item, a blank line ends a paragraph. Placeholders
in square brackets (``[retention_days]``...) are filled in from the agency's current settings when
the page is shown, so the published retention period can never disagree with the enforced one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tenants.models import MAX_RETENTION_DAYS, Agency

DEFAULT_POLICY = """\
## Why this policy exists
[agency_name] operates automated license plate reader (ALPR) cameras. This document says what the \
system records, who may use it and for what, how that use is checked, and when the records are \
destroyed. It is published so that anyone can hold the agency to it.

## What is recorded
Each camera read stores a picture of the plate, a wider picture of the vehicle, the plate characters \
and issuing state as read by software, the date and time, and the camera's location. Nothing else \
about the driver, the passengers or the vehicle's owner is collected by this system.

## Authorized purposes
Records may be searched only for a specific law-enforcement reason, such as:
- locating a vehicle tied to a reported crime, a wanted person or an open case;
- finding a missing or endangered person, including AMBER and Silver alerts;
- recovering a stolen vehicle or stolen plates;
- following up a lead in an active criminal investigation.
Every search must state its purpose[case_number_rule]. Searches for personal reasons, or to \
watch lawful activity such as protests or religious gatherings, are forbidden.

## Who has access, and their training
Access is limited to named members of [agency_name]; nobody from another agency or the public can \
sign in. Each account holds one or more of these job titles:
- Administrator: the custodian's designees who manage accounts, cameras and these settings;
- Officer: sworn staff and analysts who search records and confirm the software's reads;
- Auditor: staff who review how the system is used.
Before receiving access, every user completes training on this policy, on the law that governs \
plate data and on the system itself, and repeats it every year. An account whose training has \
lapsed cannot search or view records until the refresher is recorded. Every sign-in requires a \
password and a second factor.

## How use is monitored and audited
The system keeps an access log of every sign-in, every search (with who searched, when, the stated \
purpose and the plate or other terms searched) and every record or image viewed. The log cannot be \
edited from the application and is checked for tampering. Auditors review it regularly, follow up \
searches that look unusual, and report misuse to the custodian. Misuse leads to loss of access and \
discipline, and may be a crime.

## Sale, sharing and release of data
Plate records are never sold. They are not published and not given to anyone outside \
[agency_name] except where the law requires it or the custodian authorizes a specific release for \
an authorized purpose; each such release is recorded in the access log. The system offers no bulk \
export of plate records. The agencies with which records are shared, and the law that governs \
sharing, are listed at the end of this policy.

## The custodian
The custodian responsible for this system and this policy is [custodian]. Questions, requests \
and complaints go to [contact].

## Accuracy and correcting errors
Plate-reading software makes mistakes, especially with similar characters (O and 0, B and 8) and \
with the issuing state. A read is marked unconfirmed until a trained person compares it with the \
plate image and confirms or corrects it; no one may act on an unconfirmed read. The camera's own \
reading and the software's reading are kept beside any correction so errors can be traced. Anyone \
who believes a record about their vehicle is wrong may ask the custodian to check and correct it.

## Retention and purge
Records are kept for [retention_days] days (never more than [max_retention_days]) and are not \
shown to anyone once that period has passed. Every night at about [purge_hour] ([timezone]) the \
system deletes expired records together with their images, and destroys the encryption key of each \
fully expired day, so even a backup copy of those images can no longer be read. Each purge is \
recorded in the access log, and the transparency page shows when the last one ran.
"""

PLACEHOLDERS = (
    "agency_name",
    "retention_days",
    "max_retention_days",
    "purge_hour",
    "timezone",
    "custodian",
    "contact",
    "case_number_rule",
)
_PLACEHOLDER = re.compile(r"\[(" + "|".join(PLACEHOLDERS) + r")\]")


def policy_values(agency: Agency) -> dict[str, str]:
    contact = agency.contact_email or "the agency's records office"
    return {
        "agency_name": agency.name,
        "retention_days": str(agency.retention_days),
        "max_retention_days": str(MAX_RETENTION_DAYS),
        "purge_hour": f"{agency.purge_hour:02d}:00",
        "timezone": agency.timezone,
        "custodian": agency.contact_name or f"the head of {agency.name}",
        "contact": contact,
        "case_number_rule": " and name the case or incident number"
        if agency.require_case_number
        else "",
    }


def policy_source(agency: Agency) -> str:
    """The agency's policy text before placeholders are filled: its own, or the default."""
    return agency.policy_text.strip() or DEFAULT_POLICY


def policy_plain_text(agency: Agency) -> str:
    values = policy_values(agency)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], policy_source(agency))


@dataclass(frozen=True)
class Block:
    kind: str  # "h2", "p" or "ul"
    lines: tuple[str, ...]


def policy_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("p", (" ".join(paragraph),)))
            paragraph.clear()
        if items:
            blocks.append(Block("ul", tuple(items)))
            items.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(Block("h2", (line[3:].strip(),)))
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def policy_html(agency: Agency) -> SafeString:
    """The policy as HTML; every piece of text is escaped, only our own tags are emitted."""
    parts: list[str] = []
    for block in policy_blocks(policy_plain_text(agency)):
        if block.kind == "h2":
            parts.append(f"<h2>{escape(block.lines[0])}</h2>")
        elif block.kind == "p":
            parts.append(f"<p>{escape(block.lines[0])}</p>")
        else:
            parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.lines) + "</ul>")
    return mark_safe("\n".join(parts))  # noqa: S308 - built from escaped text only
