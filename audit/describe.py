"""Access-log entries in words, for the auditor pages: what was searched for and what was seen.

An auditor asks "who looked at this plate, and what did they see?": the list and the entry
page answer with plates and sentences, not JSON and capture ids (the stored entry, as hashed,
stays one click away on the entry page).
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from audit.models import AccessEvent, Action

IMAGE_NAMES = {"plate": "plate image", "vehicle": "vehicle photo"}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _local(value: Any, tz: zoneinfo.ZoneInfo) -> str:
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _plate(plate: Any, state: Any = "") -> str:
    text = str(plate or "").strip() or "(no plate read)"
    return f"{text} ({state})" if state else text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def searched_for(query: dict[str, Any], tz: zoneinfo.ZoneInfo) -> str:
    """A search's query in words, times in the agency's zone."""
    parts = [f"plate {query['plate']}" if query.get("plate") else "any plate"]
    if query.get("similar"):
        parts[0] += " or similar plates"
    if query.get("state"):
        parts.append(f"from {query['state']}")
    cameras = query.get("cameras") or []
    if isinstance(cameras, list) and cameras:
        parts.append(f"at {_count(len(cameras), 'chosen camera')}")
    if query.get("from") and query.get("to"):
        parts.append(f"captured {_local(query['from'], tz)} to {_local(query['to'], tz)}")
    if query.get("include_unconfirmed") is False:
        parts.append("confirmed reads only")
    return ", ".join(parts)


def _reads(details: dict[str, Any]) -> list[dict[str, Any]]:
    reads = details.get("reads")
    return [r for r in reads if isinstance(r, dict)] if isinstance(reads, list) else []


def _images(read: dict[str, Any]) -> str:
    images = [IMAGE_NAMES.get(str(i), str(i)) for i in read.get("images") or []]
    return " and ".join(images)


def _search(event: AccessEvent, details: dict[str, Any], tz: zoneinfo.ZoneInfo) -> list[str]:
    said = f"Searched for {searched_for(_mapping(event.query), tz)}"
    if event.outcome != "allowed":
        return [f"{said}: refused, nothing was searched."]
    found = details.get("result_count")
    return [f"{said}: {_count(int(found), 'read')} found." if found is not None else f"{said}."]


def _capture_viewed(details: dict[str, Any]) -> list[str]:
    reads = _reads(details)
    first = reads[0] if reads else {}
    images = _images(first)
    source = {"search": "from a search", "review": "in the review queue"}.get(
        str(details.get("source")), "directly, without a search"
    )
    lines = [
        f"Viewed the read of {_plate(details.get('plate'), details.get('state'))} {source}"
        + (f", with its {images}." if images else ".")
    ]
    others = reads[1:]
    if others:
        plates = ", ".join(_plate(r.get("plate"), r.get("state")) for r in others)
        lines.append(f"Also listed {_count(len(others), 'other read')} of the plate: {plates}.")
    return lines


def _results_viewed(details: dict[str, Any]) -> list[str]:
    reads = _reads(details)
    plates = ", ".join(_plate(r.get("plate"), r.get("state")) for r in reads)
    with_images = sum(1 for r in reads if r.get("images"))
    line = f"Viewed page {details.get('page', 1)} of the search's results: {plates}"
    return [line + (f" ({_count(with_images, 'plate image')} shown)." if with_images else ".")]


def _export(event: AccessEvent, details: dict[str, Any]) -> list[str]:
    if details.get("format") == "print":
        case = f" for case {event.case_number}" if event.case_number else ""
        to = details.get("recipient_organisation")
        leaves = f", leaving the agency for {to}" if to else ""
        read = _plate(details.get("plate"), details.get("state"))
        return [f"Printed the read of {read}{case}{leaves}."]
    what = str(details.get("what") or "data").replace("_", " ")
    fmt = str(details.get("format") or "").upper()
    filters = _mapping(details.get("filters")) or _mapping(event.query)
    shown = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(filters.items()))
    return [
        f"Exported the {what}{f' as {fmt}' if fmt else ''}" + (f" ({shown})." if shown else ".")
    ]


def _review(details: dict[str, Any]) -> list[str]:
    decision = str(details.get("decision") or "reviewed")
    was = _plate(details.get("plate_before"), details.get("state_before"))
    now = _plate(details.get("plate_after"), details.get("state_after"))
    verb = {"confirm": "Confirmed", "correct": "Corrected", "unreadable": "Marked unreadable"}
    said = verb.get(decision, decision.capitalize())
    if decision == "correct":
        return [f"{said} the read {was} to {now}."]
    return [f"{said} the read {was}."]


def _value(value: Any) -> str:
    if value in (None, ""):
        return "(empty)"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _settings(details: dict[str, Any]) -> list[str]:
    changes = details.get("changes")
    if isinstance(changes, dict) and changes:
        lines = []
        for name, change in sorted(changes.items()):
            label = name.replace("_", " ")
            if isinstance(change, dict) and {"from", "to"} <= set(change):
                lines.append(
                    f"Changed {label} from {_value(change['from'])} to {_value(change['to'])}."
                )
            else:
                lines.append(f"Changed {label}.")
        return lines
    if details.get("setting"):
        change = str(details.get("change") or "changed").capitalize()
        value = f": {details['value']}" if details.get("value") else ""
        return [f"{change} {details['setting']}{value}."]
    return []


def what_happened(event: AccessEvent, tz: zoneinfo.ZoneInfo) -> list[str]:
    """Sentences saying what the entry records: what was searched for, and what was seen."""
    details = _mapping(event.details)
    action = event.action
    if action == Action.SEARCH:
        return _search(event, details, tz)
    if action == Action.CAPTURE_VIEWED:
        return _capture_viewed(details)
    if action == Action.RESULTS_VIEWED:
        return _results_viewed(details)
    if action == Action.IMAGE_VIEWED:
        return [f"Viewed the {IMAGE_NAMES.get(str(details.get('image')), 'image')} of a read."]
    if action == Action.EXPORT:
        return _export(event, details)
    if action == Action.REVIEW:
        return _review(details)
    if action == Action.SETTINGS_CHANGED:
        return _settings(details)
    return []


def plates_of(event: AccessEvent) -> list[str]:
    """The plates an entry searched for or showed, in order, once each (for the list)."""
    details = _mapping(event.details)
    plates: list[str] = []
    for plate in (
        _mapping(event.query).get("plate"),
        details.get("plate"),
        *(r.get("plate") for r in _reads(details)),
    ):
        if isinstance(plate, str) and plate and plate not in plates:
            plates.append(plate)
    return plates


# --- the change history (django-auditlog) in words --------------------------------------------

# Fields whose values read better with a name and a unit: (label, unit).
FIELD_WORDS = {
    "retention_days": ("retention", " days"),
    "purge_hour": ("purge hour", ":00"),
    "timezone": ("time zone", ""),
    "require_case_number": ("case numbers required", ""),
}
MODEL_FIELD_WORDS = {("logpolicy", "retention_days"): ("access-log retention", " days")}
EMPTY_VALUES = {"", "None", "null"}


def _field_label(model: Any, field: str) -> tuple[str, str]:
    model_name = getattr(getattr(model, "_meta", None), "model_name", "")
    if (model_name, field) in MODEL_FIELD_WORDS:
        return MODEL_FIELD_WORDS[(model_name, field)]
    if field in FIELD_WORDS:
        return FIELD_WORDS[field]
    try:
        return str(model._meta.get_field(field).verbose_name), ""
    except Exception:  # a field since removed from the model: its stored name
        return field.replace("_", " "), ""


def _shown(value: Any, unit: str) -> str:
    text = str(value)
    if text in EMPTY_VALUES:
        return "(empty)"
    if text in {"True", "False"}:
        return "yes" if text == "True" else "no"
    text = text if len(text) <= 80 else text[:77] + "…"
    return f"{text}{unit}"


def _who(entry: Any) -> str:
    actor = getattr(entry, "actor", None)
    if actor is not None:
        return str(actor.get_username())
    return str(getattr(entry, "actor_email", "") or "the system")


def _field_change(label: str, unit: str, change: Any, who: str) -> str:
    if isinstance(change, dict):  # many-to-many: {"type": "m2m", "operation", "objects"}
        operation = {"add": "added", "delete": "removed"}.get(str(change.get("operation")), "")
        objects = ", ".join(str(o) for o in change.get("objects") or [])
        return f"{label.capitalize()}: {objects} {operation or 'changed'} by {who}."
    old, new = (list(change) + ["", ""])[:2] if isinstance(change, list | tuple) else ("", change)
    return f"{label.capitalize()} changed from {_shown(old, unit)} to {_shown(new, unit)} by {who}."


def change_lines(entry: Any) -> list[str]:
    """A django-auditlog entry as sentences: "retention changed from 30 days to 14 days by
    admin" (one per field), or what was created or deleted and by whom."""
    who = _who(entry)
    what = str(entry.content_type.name)
    name = f"{what} “{entry.object_repr}”"
    action = int(entry.action)
    if action == 0:  # create
        return [f"{name[:1].upper()}{name[1:]} created by {who}."]
    if action == 2:  # delete
        return [f"{name[:1].upper()}{name[1:]} deleted by {who}."]
    model = entry.content_type.model_class()
    changes = entry.changes_dict if isinstance(entry.changes_dict, dict) else {}
    lines = []
    for field, change in changes.items():
        label, unit = _field_label(model, field)
        lines.append(_field_change(label, unit, change, who))
    return lines or [f"{name[:1].upper()}{name[1:]} changed by {who}."]
