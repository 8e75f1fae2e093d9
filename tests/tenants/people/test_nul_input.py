"""Characters PostgreSQL refuses (NUL) sent into every form, query parameter, header and camera
API field of the agency's host: a form error or a 4xx, never a server error.

The pages are found by walking the agency URL conf (like tests/tenants/people/test_url_access.py),
with real objects in place of the sample ids so that detail and admin change pages show their
forms. Every field of every form found is sent with a NUL, one field at a time (the others
keep the values the page showed), then all of them at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.db.models import CharField, TextField
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.chain import verify_chain
from audit.incidents.models import Incident
from audit.models import AccessEvent, AuditReport, Flag, FlagKind
from audit.services import record_event
from captures.holds.services import Who, hold_place
from captures.ingest.services import camera_create, capture_ingest
from captures.models import Capture
from captures.reading.matching import match_key
from tenants.people.models import LoginLock
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, image_bytes, make_user, search_data, unique
from tests.support import enrolled_secret, password_step, verified_client
from tests.tenants.people.test_url_access import ENDPOINTS, URLCONF, Endpoint, _kind

pytestmark = pytest.mark.django_db

NUL = "x\x00y"
# Query parameters read directly by views (admin lists, pagination, filters), beyond forms.
QUERY_NAMES = [
    "q",
    "o",
    "p",
    "e",
    "page",
    "after",
    "before",
    "search",
    "sort",
    "next",
    "_changelist_filters",
]
LOGOUT_PATHS = {"/accounts/logout/", "/admin/logout/"}


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, default value)
    names: list[str] = field(default_factory=list)  # every field name, in page order


class FormParser(HTMLParser):
    """The forms of a page with the values a browser would send for them unchanged."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, bool] | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""

    def _add(self, name: str, value: str | None) -> None:
        assert self._form is not None
        if name not in self._form.names:
            self._form.names.append(name)
        if value is not None:
            self._form.fields.append((name, value))

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                self._add(name, a.get("value", "on") if "checked" in a else None)
            else:
                self._add(name, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, ""
        elif tag == "select" and name:
            self._select = (name, "multiple" in a)
            self._select_first, self._select_chosen = None, False
            self._add(name, None)
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            self._option_text = ""
            if "selected" in a:
                self._option_selected = True
            else:
                self._option_selected = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea_text += data
        if self._option_value is None and self._select is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self._add(self._textarea, self._textarea_text)
            self._textarea = None
        elif tag == "option" and self._select is not None:
            value = self._option_value if self._option_value is not None else self._option_text
            if self._select_first is None:
                self._select_first = value
            if getattr(self, "_option_selected", False):
                self._form.fields.append((self._select[0], value))
                self._select_chosen = True
            self._option_value = None
        elif tag == "select" and self._select is not None:
            if not self._select_chosen and not self._select[1] and self._select_first is not None:
                self._form.fields.append((self._select[0], self._select_first))
            self._select = None
        elif tag == "form":
            self._form = None


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


@dataclass
class World:
    """Real objects of agency A, so that detail pages show their forms."""

    values: dict[str, str]
    admin_objects: dict[str, str]


@pytest.fixture
def world(agency_a, settings, tmp_path) -> World:
    settings.ALPR_STORAGE_DIR = tmp_path / "images"
    user = make_user(agency_a, roles=list(Role))
    with schema_context(agency_a.schema_name):
        camera = camera_create(name=unique("NUL camera "), latitude=45.5, longitude=-122.6)
        captured_at = timezone.now() - datetime.timedelta(hours=1)
        capture = capture_ingest(
            camera=camera.camera,
            agency=agency_a,
            plate_image=image_bytes("7NUL123"),
            vehicle_image=image_bytes("7NUL123", seed=2),
            captured_at=captured_at,
            enqueue=False,
        ).capture
        Capture.objects.filter(pk=capture.pk).update(  # as the reader leaves it
            status="read",
            machine_plate="7NUL123",
            machine_state="CA",
            machine_confidence=0.9,
            plate="7NUL123",
            state="CA",
            match_key=match_key("7NUL123"),
            review_status="unconfirmed",
            read_at=captured_at,
        )
        LoginLock.objects.create(username=unique("locked"), failures=5, locked_at=timezone.now())
        event = record_event(action="search", actor=user, purpose_text="probe")
        flag = Flag.objects.create(
            event=event,
            kind=FlagKind.VAGUE_PURPOSE,
            reason="probe",
            actor_id=user.pk,
            actor_username=user.username,
            event_at=event.occurred_at,
        )
        now = timezone.now()
        report = AuditReport.objects.create(
            period_start=now - datetime.timedelta(days=7),
            period_end=now,
            chain_ok=True,
            summary={},
            body="# probe",
        )
        hold = hold_place(
            agency=agency_a,
            who=Who(username="system:probe"),
            capture_ids=[capture.pk],
            case_number="NUL-1",
            reason="probe",
            ends_on=timezone.localdate() + datetime.timedelta(days=30),
        )
        incident = Incident.objects.create(
            title="probe",
            description="probe",
            window_start=now - datetime.timedelta(days=1),
            window_end=now,
            suspected_accounts=[user.username],
            opened_by_username=user.username,
        )
        admin_objects = {}
        for model in admin.site._registry:
            first = model._default_manager.order_by("pk").first()
            if first is not None:
                admin_objects[f"{model._meta.app_label}_{model._meta.model_name}"] = str(first.pk)
    return World(
        values={
            "capture_id": str(capture.pk),
            "event_id": str(event.pk),
            "flag_id": str(flag.pk),
            "report_id": str(report.pk),
            "hold_id": str(hold.pk),
            "incident_id": str(incident.pk),
            "username": user.username,
            "kind": "plate",
        },
        admin_objects=admin_objects,
    )


def real_path(endpoint: Endpoint, world: World) -> str:
    """The endpoint's path with real objects in place of the sample ids, where there are.

    Not for delete pages: their form deletes whatever a non-empty ``post`` field names.
    """
    match = resolve(endpoint.path, urlconf=URLCONF)
    if not match.kwargs or not match.url_name or match.url_name.endswith("_delete"):
        return endpoint.path
    kwargs = dict(match.kwargs)
    for name in kwargs:
        if name == "object_id":
            model_key = (match.url_name or "").rsplit("_", 1)[0]
            kwargs[name] = world.admin_objects.get(model_key, kwargs[name])
        elif name in world.values:
            kwargs[name] = world.values[name]
    return reverse(match.view_name, kwargs=kwargs, urlconf=URLCONF)


def _admin_field_names(endpoint: Endpoint) -> list[str]:
    """Admin list pages filter on any field given in the query string (``?username=...``);
    text fields are the ones whose value reaches PostgreSQL as given."""
    if endpoint.app_name != "admin" or not endpoint.name.endswith("_changelist"):
        return []
    for model in admin.site._registry:
        key = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        if key == endpoint.name:
            return [f.name for f in model._meta.fields if isinstance(f, CharField | TextField)]
    return []


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    probed: set[tuple[str, str]] = field(default_factory=set)  # (path, field name)

    def check(self, response, what: str) -> None:
        if response.status_code >= 500:
            self.errors.append(f"{response.status_code} {what}")


def _send(client: Client, method: str, path: str, data: list[tuple[str, str]]):
    if method == "post":
        body = urlencode(data)
        return client.post(path, body, content_type="application/x-www-form-urlencoded")
    sep = "&" if "?" in path else "?"
    return client.get(path + (sep + urlencode(data) if data else ""))


def probe_page(
    client: Client, path: str, findings: Findings, *, query_names: list[str] = QUERY_NAMES
) -> None:
    """NUL in each query parameter, then in every field of every form the page shows."""
    for name in query_names:
        findings.check(client.get(f"{path}?{urlencode({name: NUL})}"), f"GET {path}?{name}")
    page = client.get(path)
    findings.check(page, f"GET {path} (without a NUL)")
    if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
        return
    for form in forms_of(page.content.decode()):
        target = urljoin(path, form.action) if form.action else path
        if urlsplit(target).path in LOGOUT_PATHS or urlsplit(target).netloc:
            continue
        for name in form.names:
            data = [(k, v) for k, v in form.fields if k != name] + [(name, NUL)]
            response = _send(client, form.method, target, data)
            findings.check(response, f"{form.method.upper()} {target} {name}")
            findings.probed.add((urlsplit(target).path, name))
        everything = [(name, NUL) for name in form.names]
        findings.check(_send(client, form.method, target, everything), f"{form.method} {target} *")


def _start_review_session(client: Client, agency) -> None:
    from captures.models import AuthorizedPurpose

    with schema_context(agency.schema_name):
        purpose = AuthorizedPurpose.objects.get(name="Quality review of computer reads").pk
    response = client.post("/review/", {"purpose": purpose, "case_number": "", "purpose_text": ""})
    assert response.status_code == 302, response.content.decode()[:500]


def _quiet(client: Client) -> Client:
    client.raise_request_exception = False  # a 500 is a finding, not a crash of the test
    return client


def test_nul_in_every_form_field_and_query_parameter_is_never_a_server_error(agency_a, world):
    everyone = make_user(agency_a, roles=list(Role))
    findings = Findings()
    seen: set[str] = set()
    for endpoint in ENDPOINTS:
        if endpoint.path.startswith("/api/") or endpoint.path in LOGOUT_PATHS:
            continue
        path = real_path(endpoint, world)
        if path in seen:
            continue
        seen.add(path)
        names = QUERY_NAMES + _admin_field_names(endpoint)
        # A fresh signed-in client per page: a form sent earlier cannot sign it out.
        client = _quiet(verified_client(agency_a, everyone))
        if path.startswith("/review/") and path != "/review/":
            _start_review_session(client, agency_a)  # a read of the queue needs a session
        probe_page(client, path, findings, query_names=names)
        if _kind(endpoint) == "public":  # the others send anonymous people to sign in
            probe_page(_quiet(Client(HTTP_HOST="alpha.localhost")), path, findings)

    # The sign-in steps after the password: the code page, and the enrolment page.
    enrolled, fresh = make_user(agency_a), make_user(agency_a)
    enrolled_secret(agency_a, enrolled)
    for user, path in ((enrolled, "/accounts/login/code/"), (fresh, "/accounts/login/enrol/")):
        client = _quiet(Client(HTTP_HOST="alpha.localhost"))
        assert password_step(client, user.username, DEFAULT_PASSWORD).status_code == 302
        probe_page(client, path, findings, query_names=["next"])

    assert not findings.errors, "\n".join(findings.errors)
    capture, username = world.values["capture_id"], world.values["username"]
    user_change = f"/admin/auth/user/{world.admin_objects['auth_user']}/change/"
    expected = {
        ("/accounts/login/", "username"),
        ("/accounts/login/", "password"),
        ("/accounts/login/code/", "code"),
        ("/accounts/login/enrol/", "code"),
        ("/accounts/me/password/", "new_password1"),
        ("/search/", "plate"),
        ("/search/", "purpose_text"),
        ("/search/", "case_number"),
        (f"/review/{capture}/", "plate"),
        ("/audit/", "plate"),
        (f"/audit/users/{username}/", "date_from"),
        (f"/audit/flags/{world.values['flag_id']}/review/", "note"),
        ("/holds/new/", "reason"),
        (f"/holds/{world.values['hold_id']}/renew/", "reason"),
        ("/audit/incidents/new/", "title"),
        (f"/audit/incidents/{world.values['incident_id']}/close/", "note"),
        (user_change, "username"),
        (user_change, "first_name"),
        ("/admin/auth/user/add/", "username"),
        ("/admin/captures/camera/add/", "name"),
        ("/admin/captures/authorizedpurpose/add/", "name"),
    }
    assert expected <= findings.probed, sorted(expected - findings.probed)


def test_nul_in_a_header_or_the_address_is_refused_plainly(agency_a, world):
    client = verified_client(agency_a, make_user(agency_a, roles=list(Role)))
    for header in (
        "HTTP_USER_AGENT",
        "HTTP_REFERER",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_ACCEPT_LANGUAGE",
    ):
        response = client.get("/search/", **{header: NUL})
        assert response.status_code == 400, header
        assert b"contains a NUL character" in response.content
    response = _quiet(Client(HTTP_HOST="alpha.localhost")).post(
        "/accounts/login/",
        {"username": "someone", "password": "wrong-password-123"},
        HTTP_USER_AGENT="agent\x00",
    )
    assert response.status_code == 400
    anonymous = _quiet(Client(HTTP_HOST="alpha.localhost"))
    anonymous.cookies[django_settings.SESSION_COOKIE_NAME] = "abcdefghijklmnop\x00"
    assert anonymous.get("/accounts/login/").status_code == 400
    assert client.get(f"/audit/users/{quote('x' + NUL)}/").status_code == 400
    assert client.get(f"/captures/{quote(NUL)}/").status_code in (400, 404)
    with schema_context(agency_a.schema_name):
        assert not LoginLock.objects.filter(username="someone").exists()  # never counted


def test_a_refused_search_with_nul_is_logged_with_a_visible_escape(agency_a):
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    data = search_data(
        agency_a, plate="7AB\x00C", purpose_text="stolen\x00 car", case_number="\x00"
    )
    response = client.post("/search/", data, follow=True)
    assert response.status_code == 200
    assert b"Null characters are not allowed" in response.content
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.filter(actor_id=officer.pk, action="search").latest("id")
    assert event.outcome == "refused"
    assert event.purpose_text == "stolen\\x00 car"
    assert event.case_number == "\\x00"
    assert event.query["plate"] == "7AB\\x00C"
    assert "is not a case or incident number" in event.reason  # the purpose rule refused


def test_the_access_log_stores_unstorable_characters_as_escapes(agency_a):
    """Every text and JSON column of an entry, keys included, and lone surrogates too."""
    with schema_context(agency_a.schema_name):
        event = record_event(
            action="search",
            username="who\x00",
            outcome="refused",
            reason="why\x00",
            purpose_category="cat\x00",
            purpose_text="text\ud800",
            case_number="case\x00",
            query={"plate\x00": ["7AB\x00", {"deep": "\udfff"}]},
            objects=[("capture", "id\x00")],
            details={"note": "x\x00"},
        )
        stored = AccessEvent.objects.get(pk=event.pk)
        assert verify_chain().ok
    assert stored.actor_username == "who\\x00"
    assert (stored.reason, stored.purpose_category) == ("why\\x00", "cat\\x00")
    assert (stored.purpose_text, stored.case_number) == ("text\\ud800", "case\\x00")
    assert stored.query == {"plate\\x00": ["7AB\\x00", {"deep": "\\udfff"}]}
    assert stored.objects_touched == [{"type": "capture", "id": "id\\x00"}]
    assert stored.details == {"note": "x\\x00"}


def test_a_lone_surrogate_cannot_arrive_through_a_form(agency_a):
    """Form bodies are decoded as UTF-8 with replacement: an encoded lone surrogate arrives as
    U+FFFD, which the database stores (JSON bodies, where ``\\ud800`` would decode, are not
    accepted anywhere on the agency's host)."""
    officer = make_user(agency_a, roles=[Role.OFFICER])
    client = verified_client(agency_a, officer)
    body = urlencode(search_data(agency_a, purpose_text="PLACEHOLDER")).replace(
        "PLACEHOLDER", "%ED%A0%80"
    )
    response = client.post(
        "/search/", body, content_type="application/x-www-form-urlencoded", follow=True
    )
    assert response.status_code == 200
    with schema_context(agency_a.schema_name):
        event = AccessEvent.objects.filter(actor_id=officer.pk, action="search").latest("id")
    assert "\ufffd" in event.purpose_text
