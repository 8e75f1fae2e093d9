"""Writes of the hotlists themselves and of the agency's hotlist policy, each logged."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from audit.models import Action
from audit.services import record_event
from captures.hotlists.models import Hotlist, HotlistPolicy


def hotlist_save(
    *,
    hotlist: Hotlist | HotlistPolicy,
    adding: bool,
    request: HttpRequest | None,
    username: str = "",
) -> None:
    """Add or change a list (name, kind, owner, alerts, active) or the policy; log it."""
    with transaction.atomic():
        hotlist.save()
        fields = (
            {
                "name": hotlist.name,
                "kind": hotlist.kind,
                "owner": hotlist.owner,
                "alerts": hotlist.alerts,
                "active": hotlist.active,
            }
            if isinstance(hotlist, Hotlist)
            else {
                "entry_days": hotlist.entry_days,
                "max_entry_days": hotlist.max_entry_days,
                "max_bad_line_percent": hotlist.max_bad_line_percent,
                "flag_search_count": hotlist.flag_search_count,
            }
        )
        record_event(
            action=Action.HOTLIST_CHANGED,
            request=request,
            username=username or None,
            objects=[(hotlist._meta.model_name or "", hotlist.pk)],
            details={"change": "added" if adding else "changed", **fields},
        )
