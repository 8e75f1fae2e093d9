"""Every URL of the agency URL conf is covered by an access rule, and the rule holds.

The agency URL conf is walked at collection time, so URLs added later are checked
automatically. Each URL must be one of:
- a view wrapped by ``require_access`` (carries ``alpr_access``): anonymous, password-only,
  wrong-role and untrained users are refused; the right user is admitted (a 404 for the dummy
  id counts as admitted: it got past the access check);
- a view marked ``public_view`` (``alpr_public``): open by design, must not fail;
- an admin page: only a verified Administrator gets past the site's check;
- the camera API (DRF views under ``api/``): cameras authenticate by key; people and anonymous
  requests get 401/403;
- one of the few entries of ``ALLOWED`` below, each tested elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.views import APIView

from tenants.people.access import AccessRule
from tenants.people.roles import Role
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import verified_client

URLCONF = "alpr_portal.urls_agency"
DUMMY = "no-such-thing"
DUMMY_INT = "987654321"
DUMMY_UUID = "00000000-0000-4000-8000-000000000000"

# Entries that are neither rule-bound nor public, with where they are tested.
ALLOWED = {
    "admin:login": "redirects to the portal's sign-in (tests/tenants/people/test_admin.py)",
    "admin:logout": "POST-only sign-out, same as logout (tests/tenants/people/test_login_flow.py)",
}


@dataclass(frozen=True)
class Endpoint:
    path: str
    name: str
    callback: object
    namespace: str = ""
    app_name: str = ""

    @property
    def id(self) -> str:
        return f"{self.name or '?'} {self.path}"


def _sample_route(pattern: RoutePattern) -> str:
    def substitute(match: re.Match) -> str:
        converter = pattern.converters.get(match.group("name"))
        if isinstance(converter, IntConverter):
            return DUMMY_INT
        if isinstance(converter, UUIDConverter):
            return DUMMY_UUID
        for candidate in (DUMMY, DUMMY_INT, DUMMY_UUID):
            try:
                return converter.to_url(converter.to_python(candidate))
            except (ValueError, TypeError):
                continue
        raise AssertionError(f"No sample value for converter {converter!r} in {pattern}")

    return re.sub(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>", substitute, str(pattern._route))


def _sample_regex(pattern: RegexPattern) -> str:
    regex = pattern._regex

    def group(match: re.Match) -> str:
        body = match.group("body")
        alternatives = body.split("|")
        if all(re.fullmatch(r"[\w-]+", alt) for alt in alternatives):
            return alternatives[0]
        if body in (r"\d+", r"[0-9]+"):
            return DUMMY_INT
        return DUMMY

    sample = re.sub(r"\(\?P<\w+>(?P<body>[^()]*)\)", group, regex)
    sample = sample.lstrip("^").rstrip("$").replace("\\", "")
    return sample


def _sample(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _sample_route(pattern)
    if isinstance(pattern, RegexPattern):
        return _sample_regex(pattern)
    raise AssertionError(f"Unknown pattern type {pattern!r}")


def _walk(patterns, prefix: str = "", namespace: str = "", app_name: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            app = app_name or entry.app_name or ""
            yield from _walk(entry.url_patterns, prefix + _sample(entry.pattern), full_ns, app)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            path = "/" + prefix + _sample(entry.pattern)
            yield Endpoint(path, name, entry.callback, namespace, app_name)


def endpoints(urlconf: str = URLCONF) -> list[Endpoint]:
    found = list(_walk(get_resolver(urlconf).url_patterns))
    assert found, "the agency URL conf has no URLs?"
    return found


ENDPOINTS = endpoints()


def _kind(endpoint: Endpoint) -> str:
    callback = endpoint.callback
    if isinstance(getattr(callback, "alpr_access", None), AccessRule):
        return "rule"
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if (
        isinstance(view_class, type)
        and issubclass(view_class, APIView)
        and not view_class.__module__.startswith("drf_spectacular")
    ):
        # The camera API authenticates cameras by key even when marked public for people.
        return "camera_api"
    if getattr(callback, "alpr_public", False):
        return "public"
    if getattr(callback, "alpr_health", False):
        return "health"
    if getattr(callback, "alpr_metrics", False):
        return "metrics"
    if endpoint.name in ALLOWED:
        return "allowed"
    if endpoint.app_name == "admin":
        return "admin"
    return "unclassified"


LOGIN_PREFIXES = ("/accounts/login/", "/admin/login/")


def _is_sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN_PREFIXES)


def _call(client: Client, method: str, path: str):
    return client.post(path) if method == "POST" else client.get(path)


def _method_for(client: Client, path: str) -> str:
    response = client.get(path)
    return "POST" if response.status_code == 405 else "GET"


def test_walk_finds_the_known_urls():
    names = {e.name for e in ENDPOINTS}
    assert {"home", "login", "logout", "otp-verify", "admin:index", "admin:auth_user_change"} <= (
        names
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_sample_url_resolves_back_to_its_view(endpoint):
    match = resolve(endpoint.path, urlconf=URLCONF)
    assert match.func is endpoint.callback, f"{endpoint.path} resolved to {match.func}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_every_url_has_an_access_decision(endpoint):
    assert _kind(endpoint) != "unclassified", (
        f"{endpoint.path} ({endpoint.name}) has no access rule: wrap the view with "
        "tenants.people.access.require_access(...) or mark it public_view."
    )


def _users(agency, rule: AccessRule):
    right_roles = sorted(rule.roles)[:1] if rule.roles else []
    wrong_roles = [role for role in Role if role not in rule.roles] if rule.roles else None
    return right_roles, wrong_roles


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _kind(e) == "rule"], ids=lambda e: e.id
)
def test_rule_bound_url_refuses_the_wrong_people_and_admits_the_right_one(
    endpoint, agency_a, agency_b
):
    rule: AccessRule = endpoint.callback.alpr_access
    right_roles, wrong_roles = _users(agency_a, rule)
    right = make_user(agency_a, roles=right_roles)
    right_client = verified_client(agency_a, right)
    method = _method_for(
        verified_client(agency_a, make_user(agency_a, roles=right_roles)), endpoint.path
    )

    anonymous = _call(Client(HTTP_HOST="alpha.localhost"), method, endpoint.path)
    assert _is_sent_to_sign_in(anonymous), f"anonymous: {anonymous.status_code}"

    # Passed the password step only (the real page), second factor not yet.
    pending = Client(HTTP_HOST="alpha.localhost")
    pending_user = make_user(agency_a, roles=right_roles)
    pending.post(
        "/accounts/login/", {"username": pending_user.username, "password": DEFAULT_PASSWORD}
    )
    response = _call(pending, method, endpoint.path)
    assert _is_sent_to_sign_in(response), f"password only: {response.status_code}"

    # Authenticated without a verified second factor (however that could happen).
    unverified = Client(HTTP_HOST="alpha.localhost")
    unverified.force_login(make_user(agency_a, roles=right_roles))
    response = _call(unverified, method, endpoint.path)
    assert response.status_code == 302, f"unverified: {response.status_code}"
    assert response["Location"].startswith((*LOGIN_PREFIXES, "/accounts/login/code/")), (
        f"unverified: {response['Location']}"
    )

    if wrong_roles is not None:
        wrong = verified_client(agency_a, make_user(agency_a, roles=wrong_roles))
        response = _call(wrong, method, endpoint.path)
        assert response.status_code == 403, f"roles {wrong_roles}: {response.status_code}"

    if rule.trained:
        untrained = verified_client(agency_a, make_user(agency_a, roles=right_roles, trained=False))
        response = _call(untrained, method, endpoint.path)
        assert response.status_code == 403
        assert b"Training required" in response.content

    # Agency A's session cookie on agency B's host is nobody there.
    foreign = Client(HTTP_HOST="bravo.localhost")
    foreign.cookies["sessionid"] = right_client.cookies["sessionid"].value
    response = _call(foreign, method, endpoint.path)
    assert _is_sent_to_sign_in(response), f"A's cookie on B: {response.status_code}"

    admitted = _call(right_client, method, endpoint.path)
    assert admitted.status_code < 500
    assert admitted.status_code not in (401, 403), f"right user refused: {admitted.status_code}"
    assert not _is_sent_to_sign_in(admitted)
    for role in sorted(rule.roles)[1:]:  # every role the rule names is admitted
        client = verified_client(agency_a, make_user(agency_a, roles=[role]))
        response = _call(client, method, endpoint.path)
        assert response.status_code not in (401, 403), role
        assert not _is_sent_to_sign_in(response), role


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _kind(e) == "admin"], ids=lambda e: e.id
)
def test_admin_url_admits_only_verified_administrators(endpoint, agency_a):
    administrator = make_user(agency_a, roles=[Role.ADMINISTRATOR])
    admin_client = verified_client(agency_a, administrator)
    method = _method_for(admin_client, endpoint.path)

    assert _is_sent_to_sign_in(_call(Client(HTTP_HOST="alpha.localhost"), method, endpoint.path))
    unverified = Client(HTTP_HOST="alpha.localhost")
    unverified.force_login(make_user(agency_a, roles=[Role.ADMINISTRATOR]))
    assert _is_sent_to_sign_in(_call(unverified, method, endpoint.path))
    others = verified_client(agency_a, make_user(agency_a, roles=[Role.OFFICER, Role.AUDITOR]))
    assert _is_sent_to_sign_in(_call(others, method, endpoint.path))

    admitted = _call(admin_client, method, endpoint.path)
    assert admitted.status_code < 500
    assert not _is_sent_to_sign_in(admitted)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _kind(e) == "camera_api"], ids=lambda e: e.id
)
def test_camera_api_refuses_people_and_anonymous(endpoint, agency_a):
    person = verified_client(agency_a, make_user(agency_a, roles=list(Role)))
    for client in (Client(HTTP_HOST="alpha.localhost"), person):
        statuses = {_call(client, method, endpoint.path).status_code for method in ("GET", "POST")}
        assert statuses <= {401, 403, 405}, statuses
        assert statuses & {401, 403}, statuses


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _kind(e) == "public"], ids=lambda e: e.id
)
def test_public_url_answers_anonymous_without_error(endpoint, agency_a):
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.get(endpoint.path)
    if response.status_code == 405:
        response = client.post(endpoint.path)
    assert response.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if _kind(e) == "health"], ids=lambda e: e.id
)
def test_health_url_answers_anonymous_with_a_status_and_no_data(endpoint, agency_a):
    """Open to load balancers: 200 or 503 (stale), JSON of checks; never a sign-in page."""
    response = Client(HTTP_HOST="alpha.localhost").get(endpoint.path)
    assert response.status_code in {200, 503}
    assert response.json()["status"] in {"ok", "stale"}


PUBLIC_URLCONF = "alpr_portal.urls_public"


@pytest.mark.parametrize("endpoint", endpoints(PUBLIC_URLCONF), ids=lambda e: e.id)
def test_every_platform_url_has_an_access_decision(endpoint):
    """The platform host too: its pages are public or rule-bound, its admin needs staff + OTP."""
    assert resolve(endpoint.path, urlconf=PUBLIC_URLCONF).func is endpoint.callback
    assert _kind(endpoint) in {"rule", "public", "admin", "allowed", "health", "metrics"}, endpoint


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [e for e in endpoints(PUBLIC_URLCONF) if _kind(e) == "metrics"],
    ids=lambda e: e.id,
)
def test_metrics_url_answers_only_the_monitoring_network_or_the_token(endpoint, settings):
    settings.ALPR_METRICS_ALLOW = ["10.0.5.0/24"]
    settings.ALPR_METRICS_TOKEN = "t" * 32
    outside = Client(HTTP_HOST="localhost", REMOTE_ADDR="192.0.2.7")
    assert outside.get(endpoint.path).status_code == 403
    wrong = outside.get(endpoint.path, HTTP_AUTHORIZATION="Bearer " + "x" * 32)
    assert wrong.status_code == 403
    inside = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.0.5.9")
    assert inside.get(endpoint.path).status_code == 200
    token = outside.get(endpoint.path, HTTP_AUTHORIZATION="Bearer " + "t" * 32)
    assert token.status_code == 200


@pytest.mark.django_db
def test_platform_admin_refuses_agency_style_users_and_unverified_staff(db):
    from tenants.models import Agency

    platform = Agency.objects.get(schema_name="public")
    not_staff = make_user(platform, roles=[Role.ADMINISTRATOR], trained=False)
    not_staff.is_staff = False
    not_staff.save()
    client = verified_client(platform, not_staff)
    assert _is_sent_to_sign_in(client.get("/admin/"))
    staff = make_user(platform, roles=[], trained=False)
    staff.is_staff = True
    staff.save()
    unverified = Client(HTTP_HOST="localhost")
    unverified.force_login(staff)
    assert _is_sent_to_sign_in(unverified.get("/admin/"))
    assert verified_client(platform, staff).get("/admin/").status_code == 200
