"""No admin page, on either admin site, is a way to look up plates around the logged search.

The walk is built from the admin registries and the models' fields at collection time, so a
new ModelAdmin, a third-party one, or a new field is covered without editing this file. What
counts as plate-bearing is written out here on its own (not imported from the code under
test): a field whose name says plate, match key or state, the stored-text fields that copy
objects (``object_repr``), and any free-text or JSON field.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AccessEvent, Action, AuditReport, Flag, FlagKind
from audit.services import record_event
from captures.models import Capture, Review
from tenants.admin import platform_admin_site
from tenants.models import Agency
from tenants.people.roles import Role
from tests.factories import make_camera, make_capture, make_user
from tests.support import verified_client

pytestmark = pytest.mark.django_db

PLATE = "ZQX4821"  # appears nowhere else: if a page shows it, the page shows a capture's plate
MISREAD = "ZQX4B21"
OTHER_PLATE = "KLM5530"
CONTROL = "JHV7302"  # a plate no row holds
STATE = "WY"

SITES = {
    "agency": (admin.site, "alpr_portal.urls_agency"),
    "platform": (platform_admin_site, "alpr_portal.urls_public"),
}


def plate_bearing(field) -> bool:
    name = field.name.lower()
    if any(word in name for word in ("plate", "match_key", "state", "repr")):
        return True
    return isinstance(field, (models.JSONField, models.TextField))


def plate_paths(model: type[models.Model]) -> Iterator[tuple[str, models.Field]]:
    """Own plate-bearing fields, and those one relation away (forward or reverse)."""
    for field in model._meta.get_fields():
        if field.concrete and not field.is_relation and plate_bearing(field):
            yield field.name, field
    for field in model._meta.get_fields():
        related = field.related_model if field.is_relation else None
        if related is None or not hasattr(related, "_meta"):
            continue
        name = field.name  # for a reverse relation, the query name (what a lookup uses)
        for target in related._meta.get_fields():
            if target.concrete and not target.is_relation and plate_bearing(target):
                yield f"{name}__{target.name}", target


def ordering_names(ordering) -> list[str]:
    if isinstance(ordering, str):
        return [ordering.lstrip("-")]
    if isinstance(ordering, F):
        return [ordering.name]
    return [n for source in ordering.get_source_expressions() for n in ordering_names(source)]


def reaches_plates(model: type[models.Model], path: str) -> bool:
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if plate_bearing(field):
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def value_for(field: models.Field) -> str:
    return STATE if "state" in field.name.lower() else PLATE


def lookups_for(path: str, field: models.Field) -> list[dict[str, str]]:
    value = value_for(field)
    found = [
        {path: value},
        {f"{path}__startswith": value[:3]},
        {f"{path}__icontains": value},
        {f"{path}__exact": value},
    ]
    if isinstance(field, models.JSONField):
        found += [{f"{path}__plate": PLATE}, {f"{path}__plate_after": PLATE}]
    return found


def registered() -> list[tuple[str, str]]:
    return [
        (site_name, model._meta.label)
        for site_name, (site, _) in SITES.items()
        for model in site._registry
    ]


@dataclass
class Walker:
    client: Client
    urlconf: str
    model_admin: admin.ModelAdmin

    def url(self, name: str, *args) -> str:
        opts = self.model_admin.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args, urlconf=self.urlconf
        )

    def get(self, url: str, params: dict[str, str] | None = None):
        return self.client.get(f"{url}?{urlencode(params)}" if params else url)


def refused(response) -> bool:
    if response.status_code == 400:
        return True
    return response.status_code == 302 and "e=1" in response.get("Location", "")


def rows(response) -> list | None:
    """The primary keys listed on a changelist response, or None when it lists nothing (redirect)."""
    if response.status_code != 200 or response.context is None:
        return None
    changelist = response.context.get("cl")
    if changelist is None:
        return None
    return [obj.pk for obj in changelist.result_list]


def same_answer(response, baseline) -> bool:
    if response.status_code != baseline.status_code:
        return False
    if baseline.status_code == 302:
        return response["Location"] == baseline["Location"]
    return rows(response) == rows(baseline)


@pytest.fixture
def plate_data(agency_a):
    """A capture with a known plate, its review and history, and log entries that carry it."""
    camera = make_camera(agency_a)
    seen = make_capture(agency_a, camera=camera, plate=MISREAD, state=STATE)
    make_capture(agency_a, camera=camera, plate=OTHER_PLATE, state="OR")
    officer = make_user(agency_a, roles=[Role.OFFICER])
    with schema_context(agency_a.schema_name):
        seen.plate, seen.review_status = PLATE, Capture.Review.CORRECTED
        seen.save()  # django-auditlog records the change of plate
        Review.objects.create(
            capture=seen, action=Review.Action.CORRECT, reviewer_id=officer.pk,
            reviewer_username=officer.username, plate_before=MISREAD, plate_after=PLATE,
            state_before=STATE, state_after=STATE,
        )  # fmt: skip
        search = record_event(
            action=Action.SEARCH, actor=officer, purpose_category="stolen_vehicle",
            purpose_text=f"Owner reported {PLATE} stolen", case_number="24-0042",
            query={"plate": PLATE, "state": STATE}, objects=[("capture", seen.pk)],
            details={"result_count": 1, "plate": PLATE},
        )  # fmt: skip
        record_event(
            action=Action.REVIEW, actor=officer, objects=[("capture", seen.pk)],
            details={"plate_before": MISREAD, "plate_after": PLATE}, reason=f"Read as {PLATE}",
        )  # fmt: skip
        record_event(action=Action.LOGIN, actor=officer)
        Flag.objects.create(
            event=search, kind=FlagKind.SHARED_PLATE, actor_id=officer.pk,
            actor_username=officer.username, event_at=search.occurred_at,
            reason=f"Plate {PLATE} was searched by 3 different users within 7 days.",
        )  # fmt: skip
        now = timezone.now()
        AuditReport.objects.create(
            period_start=now - datetime.timedelta(days=7), period_end=now, chain_ok=True,
            summary={"plates": [PLATE]}, body=f"Most searched plate: {PLATE}",
        )  # fmt: skip
    return seen


@pytest.fixture
def clients(agency_a) -> dict[str, Client]:
    boss = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with schema_context(agency_a.schema_name):
        boss.is_superuser = True  # the widest view an agency account can have
        boss.save()
    platform = Agency.objects.get(schema_name="public")
    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    return {"agency": verified_client(agency_a, boss), "platform": verified_client(platform, staff)}


def _walker(clients, site_name: str, label: str) -> Walker:
    site, urlconf = SITES[site_name]
    return Walker(clients[site_name], urlconf, site._registry[apps.get_model(label)])


@pytest.mark.parametrize(("site_name", "label"), registered())
def test_no_lookup_on_plate_bearing_fields_changes_the_list(plate_data, clients, site_name, label):
    walk = _walker(clients, site_name, label)
    changelist = walk.url("changelist")
    baseline = walk.get(changelist)
    assert baseline.status_code in (200, 302), baseline
    listed = rows(baseline)
    paths = list(plate_paths(walk.model_admin.model))
    for path, field in paths:
        for params in lookups_for(path, field):
            response = walk.get(changelist, params)
            if refused(response):
                continue
            # Not refused: then the page must answer exactly as without the filter, and that
            # is only meaningful when the unfiltered page lists something (or lists nothing ever).
            assert same_answer(response, baseline), (
                f"{label}: ?{urlencode(params)} filtered the list"
            )
            assert listed is None or listed, f"{label}: ?{urlencode(params)} on an empty list"


@pytest.mark.parametrize(("site_name", "label"), registered())
def test_search_and_sort_do_not_reach_plates(plate_data, clients, site_name, label):
    walk = _walker(clients, site_name, label)
    changelist = walk.url("changelist")
    # Searching for the plate answers exactly like searching for a plate nobody holds.
    found = walk.get(changelist, {"q": PLATE})
    control = walk.get(changelist, {"q": CONTROL})
    assert refused(found) or same_answer(found, control), f"{label}: ?q= finds the plate"
    baseline = walk.get(changelist)
    if rows(baseline) is None:
        return  # no list on this page (e.g. agency settings: one row, a redirect)
    model = walk.model_admin.model
    for index in range(len(baseline.context["cl"].list_display) + 1):
        for order in (str(index), f"-{index}"):
            response = walk.get(changelist, {"o": order})
            if refused(response):
                continue
            applied = response.context["cl"].queryset.query.order_by
            sorted_by = [name for o in applied for name in ordering_names(o)]
            assert not any(reaches_plates(model, name) for name in sorted_by), (
                f"{label}: ?o={order} sorts by {sorted_by}"
            )


@pytest.mark.parametrize("site_name", list(SITES))
def test_autocomplete_never_searches_or_lists_plate_rows(plate_data, clients, site_name):
    site, urlconf = SITES[site_name]
    client = clients[site_name]
    url = reverse("admin:autocomplete", urlconf=urlconf)
    tried = 0
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model in site._registry):
                continue
            base = {"app_label": model._meta.app_label, "model_name": model._meta.model_name,
                    "field_name": field.name}  # fmt: skip
            found = client.get(url, {**base, "term": PLATE})
            control = client.get(url, {**base, "term": CONTROL})
            everything = client.get(url, {**base, "term": ""})
            tried += 1
            assert PLATE.encode() not in everything.content, (model, field.name)
            if field.related_model in (Capture, Review):
                assert found.status_code in (403, 404), (model, field.name)
                continue
            assert found.status_code == control.status_code
            if found.status_code == 200:
                assert (
                    json.loads(found.content)["results"] == json.loads(control.content)["results"]
                )
    assert tried, "no relation to walk: the walk itself is broken"


@pytest.mark.parametrize(("site_name", "label"), registered())
def test_no_admin_page_displays_a_captures_plate(plate_data, clients, site_name, label):
    walk = _walker(clients, site_name, label)
    pages = [walk.get(walk.url("changelist"))]
    if pages[0].status_code == 302:
        pages.append(walk.client.get(pages[0]["Location"]))
    for pk in (rows(pages[0]) or [])[:25]:
        pages.append(walk.get(walk.url("change", pk)))
        pages.append(walk.get(walk.url("history", pk)))
    pages.append(walk.client.get(reverse("admin:index", urlconf=walk.urlconf)))
    for page in pages:
        assert page.status_code in (200, 302, 403, 404), page
        body = page.content.decode()
        assert PLATE not in body, f"{label}: {page.wsgi_request.path}"
        assert MISREAD not in body, f"{label}: {page.wsgi_request.path}"


def test_the_walk_covers_what_it_should(plate_data, clients):
    """Guards the walk itself: the models of the data above are listed, and reached."""
    agency = {label for site_name, label in registered() if site_name == "agency"}
    assert {"captures.Capture", "audit.AccessEvent", "auditlog.LogEntry"} <= agency
    assert {"tenants.Agency", "auth.User"} <= {lbl for s, lbl in registered() if s == "platform"}
    walk = _walker(clients, "agency", "auditlog.LogEntry")
    assert rows(walk.get(walk.url("changelist"))), "the change history list is empty"
    walk = _walker(clients, "agency", "audit.AccessEvent")
    assert len(rows(walk.get(walk.url("changelist")))) >= 3
    assert "query" in {p for p, _ in plate_paths(AccessEvent)}


def test_a_new_naive_admin_gets_the_same_rules(agency_a, plate_data):
    """An admin written without any care for plates, registered on a portal site, is held too."""
    from django.contrib.admin.exceptions import DisallowedModelAdminLookup
    from django.contrib.admin.utils import flatten_fieldsets
    from django.test import RequestFactory

    from tenants.people.admin_site import PortalAdminSite

    class NaiveCaptureAdmin(admin.ModelAdmin):
        list_display = ["plate", "state", "camera", "captured_at", "shown_plate", "__str__"]
        search_fields = ["plate", "=match_key", "camera__name", "reviews__plate_after"]
        list_filter = ["state", "status", ("edge_plate", admin.EmptyFieldListFilter)]
        ordering = ["plate", "-captured_at"]
        readonly_fields = ["plate", "machine_plate", "plate_box"]

        @admin.display(ordering="match_key")
        def shown_plate(self, obj):
            return obj.plate

    site = PortalAdminSite(name="naive")
    site.register(Capture, NaiveCaptureAdmin)
    site.register(Review)  # the default ModelAdmin: its rows would be labelled str(review)
    capture_admin, review_admin = site._registry[Capture], site._registry[Review]
    boss = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    with schema_context(agency_a.schema_name):
        boss.is_superuser = True
        boss.save()
        request = RequestFactory().get("/")
        request.user = boss
        assert capture_admin.get_list_display(request) == ["camera", "captured_at", ANY_LABEL]
        assert capture_admin.get_search_fields(request) == ["camera__name"]
        assert capture_admin.get_list_filter(request) == ["status"]
        assert capture_admin.get_ordering(request) == ["-captured_at"]
        assert capture_admin.lookup_allowed("status__exact", "read", request)
        for lookup in ("plate", "state__exact", "camera__captures__plate", "match_key__startswith",
                       "reviews__plate_after", "edge_plate__isempty"):  # fmt: skip
            assert not capture_admin.lookup_allowed(lookup, PLATE, request), lookup
        # Not a plate, but not offered by the page either: refused as well.
        assert not capture_admin.lookup_allowed("captured_at__gte", "2026-01-01", request)
        filtered = RequestFactory().get("/", {"plate__startswith": "ZQX"})
        filtered.user = boss
        with pytest.raises(DisallowedModelAdminLookup):
            capture_admin.get_changelist_instance(filtered)
        changelist = capture_admin.get_changelist_instance(request)
        assert changelist.get_ordering_field("shown_plate") is None
        assert changelist.get_ordering_field("plate") is None
        shown = flatten_fieldsets(capture_admin.get_fieldsets(request, plate_data))
        assert not {"plate", "machine_plate", "plate_box", "state", "match_key"} & set(shown)
        assert "captured_at" in shown
        assert not capture_admin.has_change_permission(request, plate_data)
        assert not capture_admin.has_delete_permission(request, plate_data)
        assert not capture_admin.has_add_permission(request)
        (label,) = review_admin.get_list_display(request)
        review = Review.objects.get(capture=plate_data)
        assert label(review) == f"Review {review.pk}"


class _AnyLabel:
    """Matches the id label the rules put in place of str(obj)."""

    def __eq__(self, other) -> bool:
        return callable(other) and getattr(other, "short_description", "") == "capture"


ANY_LABEL = _AnyLabel()


@pytest.mark.parametrize(("site_name", "label"), registered())
def test_the_filters_a_page_offers_still_work(plate_data, clients, site_name, label):
    """Refusing what a page does not offer must not break what it does offer."""
    walk = _walker(clients, site_name, label)
    changelist = walk.url("changelist")
    baseline = walk.get(changelist)
    if rows(baseline) is None:
        return
    cl = baseline.context["cl"]
    offered = [choice["query_string"] for spec in cl.filter_specs for choice in spec.choices(cl)]
    if walk.model_admin.date_hierarchy:
        offered.append(f"?{walk.model_admin.date_hierarchy}__year={timezone.now().year}")
    for query_string in offered:
        response = walk.client.get(f"{changelist}{query_string}")
        assert not refused(response), f"{label}: offered filter {query_string} refused"
        assert response.status_code == 200, (query_string, response.status_code)


def test_a_refused_filter_says_where_plates_are_looked_up(plate_data, clients):
    for query in ("plate=" + PLATE, "nonsense=1", "camera__captures__plate=" + PLATE):
        response = clients["agency"].get(f"/admin/captures/capture/?{query}")
        assert response.status_code == 400, query
        body = response.content.decode()
        assert "use the search page" in body
        assert "records it in" in body
        assert PLATE not in body
