"""The production smoke test (``manage.py prod_smoke``, run by ``make prod-check``).

It runs inside the production stack's configuration and talks to the running gunicorn over
HTTP, the way a camera, an officer and the TLS proxy in front of it would:

1. static files come from WhiteNoise (a hashed name, cached for good);
2. plain HTTP is redirected to HTTPS, and ``X-Forwarded-Proto: https`` from the proxy is trusted;
3. a camera POSTs a rendered plate and a vehicle photo to the camera API (201);
4. a Celery worker on the reading queue reads it (the capture leaves ``pending``);
5. an officer signs in (password, then the authenticator code) and searches the plate the
   worker read, with a purpose: the capture is in the results;
6. the purge worker purges the agency and the audit worker verifies its log (the nightly jobs,
   now);
7. ``/healthz`` answers 200: beat ran, every queue's worker took its heartbeat, the agency's
   purge and verification are fresh; and the agency's access log verifies;
8. ``/metrics`` (platform host, plain HTTP from the loopback) counts the capture (web process)
   and its reading (worker process): one node's processes add up.

Non-runtime code (tests/test_layout.py): it draws its plate with ``captures.synthetic`` and is
started only by its command.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import io
import json
import random
import re
import struct
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.checkpoint import verify_log as verify_chain
from audit.models import AccessEvent, Action
from audit.tasks import verify_log
from captures.ingest.services import camera_create
from captures.models import AuthorizedPurpose, Capture
from captures.synthetic.plates import render_plate, render_vehicle
from captures.tasks import purge_agency
from tenants.fanout import fan_out
from tenants.models import Agency
from tenants.people import services as people
from tenants.people.roles import Role
from tenants.services import agency_create, platform_ensure

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class SmokeFailed(AssertionError):
    """A step of the smoke test did not do what it must."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Browser:
    """A tiny HTTP client that speaks to gunicorn as the TLS proxy would (Host header,
    ``X-Forwarded-Proto: https``) and keeps cookies itself: the portal's are ``Secure``
    ``__Host-`` cookies, which a standard cookie jar never sends over the plain socket."""

    base_url: str
    host: str
    https: bool = True
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = {"Host": self.host, "User-Agent": "alpr-prod-smoke/1"}
        if self.https:
            all_headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        req = urllib.request.Request(  # noqa: S310 - our own server, http by design
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=60) as resp:
                result = Response(resp.status, dict(resp.headers.items()), resp.read())
                raw_cookies = resp.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as exc:
            result = Response(exc.code, dict(exc.headers.items()), exc.read())
            raw_cookies = exc.headers.get_all("Set-Cookie") or []
        for raw in raw_cookies:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return result

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, Any]) -> Response:
        origin = f"https://{self.host}"
        return self.request(
            "POST",
            path,
            data=urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + path,
            },
        )

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        _expect(page.status == 200, f"GET {path} answered {page.status}")
        match = CSRF_FIELD.search(page.text)
        _expect(match is not None, f"GET {path} has no CSRF token")
        assert match is not None
        return match.group(1)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailed(message)


def totp_code(secret_b32: str, *, at: float | None = None) -> str:
    """RFC 6238 (30 s steps, SHA-1, 6 digits): what the officer's authenticator app shows."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, content, ctype) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Fixture:
    agency: Agency
    host: str
    api_key: str
    username: str
    password: str
    totp_secret: str
    purpose_id: int


def trained_officer(*, username: str, source: str) -> tuple[Any, str, str]:
    """A new Officer of the current schema with current training and a confirmed
    authenticator, as a real one signs in: (user, password, TOTP secret in base32)."""
    password = people.random_password()
    user = people.user_create(
        username=username,
        email=f"{username}@example.org",
        roles=[Role.OFFICER],
        password=password,
        trained_on=timezone.localdate(),
        source=source,
    )
    return user, password, people.totp_enrol_confirmed(user=user).secret_base32


def prepare(*, slug: str, host: str) -> Fixture:
    """The agency (created when missing), a camera and a trained officer, all new and named
    ``smoke-...`` so repeated runs never collide."""
    created = agency_create(slug=slug, name=f"Smoke check ({slug})", domain=host)
    agency = created.agency
    tag = uuid.uuid4().hex[:8]
    with schema_context(agency.schema_name):
        camera = camera_create(name=f"smoke-{tag}", latitude="45.5", longitude="-122.6")
        user, password, secret = trained_officer(
            username=f"smoke-{tag}", source="prod_smoke command"
        )
        purpose = AuthorizedPurpose.objects.filter(active=True).order_by("pk").first()
        _expect(purpose is not None, f"agency {slug} has no active search purpose")
        assert purpose is not None
    return Fixture(agency, host, camera.api_key, user.username, password, secret, purpose.pk)


def _plate_images(text: str) -> tuple[bytes, bytes]:
    rng = random.Random(text)
    plate = render_plate(rng, text=text, clean=True).image
    vehicle = render_vehicle(plate, rng=rng)
    out = []
    for image in (plate, vehicle):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out[0], out[1]


def check_static(browser: Browser, say: Any) -> None:
    url = static("css/portal.css")
    resp = browser.get(url)
    _expect(resp.status == 200, f"static {url} answered {resp.status}")
    cache = resp.headers.get("Cache-Control", "")
    _expect("immutable" in cache, f"static {url} not served by WhiteNoise as hashed ({cache!r})")
    say(f"static: {url} 200 ({cache})")


def check_proxy(base_url: str, host: str, say: Any) -> None:
    plain = Browser(base_url, host, https=False).get("/policy/")
    location = plain.headers.get("Location", "")
    _expect(
        plain.status == 301 and location.startswith("https://"),
        f"plain HTTP was not redirected to HTTPS ({plain.status} {location!r})",
    )
    say(f"proxy: plain HTTP -> {plain.status} {location}")


def post_capture(browser: Browser, fixture: Fixture, text: str) -> str:
    plate, vehicle = _plate_images(text)
    body, ctype = multipart(
        {"captured_at": timezone.now().isoformat(), "capture_id": str(uuid.uuid4())},
        {
            "plate_image": ("plate.jpg", plate, "image/jpeg"),
            "vehicle_image": ("vehicle.jpg", vehicle, "image/jpeg"),
        },
    )
    resp = browser.request(
        "POST",
        "/api/v1/captures/",
        data=body,
        headers={"Authorization": f"Bearer {fixture.api_key}", "Content-Type": ctype},
    )
    _expect(resp.status == 201, f"camera POST answered {resp.status}: {resp.text[:300]}")
    return str(json.loads(resp.body)["id"])


def wait_read(fixture: Fixture, capture_id: str, timeout: float) -> Capture:
    deadline = time.monotonic() + timeout
    while True:
        with schema_context(fixture.agency.schema_name):
            capture = Capture.objects.get(pk=capture_id)
        if capture.status != Capture.Status.PENDING:
            break
        _expect(time.monotonic() < deadline, f"no worker read capture {capture_id} in {timeout} s")
        time.sleep(0.3)
    _expect(capture.status == Capture.Status.READ, f"capture ended {capture.status}")
    _expect(bool(capture.plate), "the worker stored no plate")
    return capture


def sign_in(browser: Browser, fixture: Fixture) -> None:
    token = browser.csrf_token("/accounts/login/")
    first = browser.post_form(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": fixture.username, "password": fixture.password},
    )
    _expect(first.status == 302, f"password step answered {first.status}")
    token = browser.csrf_token("/accounts/login/code/")
    code = totp_code(fixture.totp_secret)
    second = browser.post_form(
        "/accounts/login/code/", {"csrfmiddlewaretoken": token, "code": code}
    )
    _expect(second.status == 302, f"code step answered {second.status}: {second.text[:300]}")


def search(browser: Browser, fixture: Fixture, capture: Capture) -> None:
    token = browser.csrf_token("/search/")
    now = timezone.now().astimezone(fixture.agency.tz)
    resp = browser.post_form(
        "/search/",
        {
            "csrfmiddlewaretoken": token,
            "plate": capture.plate,
            "state": "",
            "start": (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "end": (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "include_unconfirmed": "on",
            "purpose": fixture.purpose_id,
            "case_number": "2026-000001",
            "purpose_text": "Production smoke check of the search page",
        },
    )
    if resp.status == 302:  # the search is logged, then shown at its own address
        location = resp.headers.get("Location", "")
        _expect(location.startswith("/search/?search="), f"search redirected to {location!r}")
        resp = browser.get(location)
    _expect(resp.status == 200, f"search answered {resp.status}")
    _expect(str(capture.pk) in resp.text, f"search for {capture.plate} did not list {capture.pk}")


def _queues() -> str:
    return f"{settings.ALPR_PURGE_QUEUE}, {settings.ALPR_AUDIT_QUEUE}"


def nightly_jobs(fixture: Fixture, timeout: float = 60.0) -> None:
    """The agency's purge (purge queue) and log verification (audit queue), run by the
    workers now instead of at night; waits for both entries in the agency's log."""
    agency = fixture.agency
    with schema_context(agency.schema_name):
        since = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    fan_out(purge_agency, agencies=[agency], queue=settings.ALPR_PURGE_QUEUE)
    fan_out(verify_log, agencies=[agency])  # routed to ALPR_AUDIT_QUEUE
    wanted = {Action.PURGE.value, Action.AUDIT_VERIFIED.value}
    deadline = time.monotonic() + timeout
    while True:
        with schema_context(agency.schema_name):
            done = set(
                AccessEvent.objects.filter(id__gt=since, action__in=wanted).values_list(
                    "action", flat=True
                )
            )
        if done == wanted:
            return
        _expect(time.monotonic() < deadline, f"the workers ran only {sorted(done)} of {wanted}")
        time.sleep(0.3)


def wait_healthy(browser: Browser, timeout: float) -> dict[str, Any]:
    """/healthz until 200: beat ran, every queue's worker answered its heartbeat."""
    deadline = time.monotonic() + timeout
    while True:
        resp = browser.get("/healthz")
        body = json.loads(resp.body)
        if resp.status == 200:
            return dict(body)
        _expect(resp.status == 503, f"/healthz answered {resp.status}")
        _expect(time.monotonic() < deadline, f"/healthz still failing: {body.get('failing')}")
        time.sleep(1)


def _sample(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[-1])
    return total


def check_metrics(base_url: str, fixture: Fixture) -> None:
    """The platform host's /metrics (from the loopback, ALPR_METRICS_ALLOW's default) adds up
    the web's and the workers' counters."""
    platform = platform_ensure(domain="localhost")
    host = platform.domains.order_by("-is_primary").values_list("domain", flat=True).first()
    resp = Browser(base_url, str(host), https=False).get("/metrics")
    _expect(resp.status == 200, f"/metrics answered {resp.status}")
    schema = fixture.agency.schema_name
    ingested = _sample(resp.text, f'alpr_captures_ingested_total{{schema="{schema}"}}')
    _expect(ingested >= 1, "/metrics does not count the capture the camera sent")
    _expect(_sample(resp.text, "alpr_reads_total") >= 1, "/metrics has no worker's reads")
    _expect("alpr_health_ok 1.0" in resp.text, "/metrics says the stack is not healthy")


def verify(fixture: Fixture) -> str:
    with schema_context(fixture.agency.schema_name):
        result = verify_chain()
    _expect(result.ok, f"access log of {fixture.agency.slug} does not verify: {result}")
    return str(result.head_id)


def run(*, base_url: str, slug: str, host: str, read_timeout: float, say: Any) -> None:
    """Every step above, in order; raises SmokeFailed naming the first that failed."""
    fixture = prepare(slug=slug, host=host)
    browser = Browser(base_url, host)
    check_static(browser, say)
    check_proxy(base_url, host, say)
    text = "SMK" + "".join(random.choice("0123456789") for _ in range(4))  # noqa: S311
    capture_id = post_capture(browser, fixture, text)
    say(f"camera: POST /api/v1/captures/ 201 (capture {capture_id}, plate drawn {text})")
    capture = wait_read(fixture, capture_id, read_timeout)
    say(f"worker: read {capture.plate!r} ({capture.status})")
    sign_in(browser, fixture)
    search(browser, fixture, capture)
    say(f"officer: signed in with a second factor and found the capture by {capture.plate!r}")
    nightly_jobs(fixture)
    say(f"purge and audit workers: purged and verified {slug} (queues {_queues()})")
    health = wait_healthy(Browser(base_url, host), timeout=read_timeout)
    say(f"healthz: 200 (beat, {len(health['workers'])} queues' workers, {slug}'s nightly jobs)")
    say(f"audit: the access log of {slug} verifies (head {verify(fixture)})")
    check_metrics(base_url, fixture)
    say("metrics: captures ingested (web) and reads (reading worker) counted on one /metrics")
