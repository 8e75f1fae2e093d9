"""Support-access benchmark: what the support middleware costs a page.

Through the whole Django stack (test client), medians over ``--requests`` requests of the same
page (the admin index of an agency) for: an Administrator's ordinary session (the middleware
only looks up whether the account is a support account: one indexed query), the same with the
middleware removed from the settings (the baseline), and a support session under a settings
grant (grant check, scope check, and one ``support_request`` access-log entry per page). Also
the support sign-in (platform password + code, the agency's session and two log entries) and
the grant's page listing ``--entries`` entries made under it. Run it on a database of its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_support \\
        .venv/bin/python tests/benchmarks/bench_support.py [--requests 300] [--entries 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alpr_portal.settings")

from tests.benchmarks.common import bench_agency, ensure_database  # noqa: E402

SLUG = "supportbench"
MIDDLEWARE = "tenants.support.middleware.SupportSessionMiddleware"
PAGE = "/support/session/"  # the same small page for every kind of session


def interleaved_ms(clients: dict[str, object], path: str, n: int) -> dict[str, float]:
    """Median per client of ``n`` GETs of ``path``, taking turns (noise hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    for round_ in range(n + 10):
        for name, client in clients.items():
            start = time.perf_counter()
            response = client.get(path)  # type: ignore[attr-defined]
            if round_ >= 10:  # the first rounds warm the caches
                times[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings
    from django_tenants.utils import schema_context

    from tenants.models import Agency
    from tenants.people.roles import Role
    from tenants.support.models import SupportGrant
    from tests.factories import (
        DEFAULT_PASSWORD,
        make_platform_staff,
        make_support_grant,
        make_user,
        unique,
    )
    from tests.support import enrolled_secret, support_sign_in, verified_client

    agency = bench_agency(SLUG, "Support Bench PD")
    platform = Agency.objects.get(schema_name="public")
    stamp = int(time.time())
    admin = make_user(agency, username=unique(f"adm{stamp}-"), roles=[Role.ADMINISTRATOR])
    ordinary = verified_client(agency, admin)
    baseline = verified_client(agency, admin)
    without = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    with override_settings(MIDDLEWARE=without):
        baseline.get(PAGE)  # this client's handler keeps the chain it loads now

    sign_ins = []
    for i in range(5):
        staff = make_platform_staff(username=unique(f"vendor{stamp}-{i}-"))
        secret = enrolled_secret(platform, staff)
        make_support_grant(agency, staff=staff, admin=admin, scope="settings")
        support = Client(HTTP_HOST=f"{SLUG}.localhost")
        start = time.perf_counter()
        response = support_sign_in(support, staff.username, DEFAULT_PASSWORD, secret)
        sign_ins.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 302, response.content[:300]
    medians = interleaved_ms(
        {"baseline": baseline, "ordinary": ordinary, "support": support}, PAGE, args.requests
    )
    baseline_ms, ordinary_ms, support_ms = (
        medians["baseline"],
        medians["ordinary"],
        medians["support"],
    )
    with schema_context(agency.schema_name):
        grant = SupportGrant.objects.get(platform_username=staff.username)
    for _ in range(max(0, args.entries - args.requests - 11)):
        support.get(PAGE)
    page_ms = interleaved_ms({"page": ordinary}, f"/support/{grant.pk}/", 30)["page"]

    body = f"""
Database of its own: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_support` before the command.

Medians over {args.requests} requests of one small agency page (`{PAGE}`) through the whole
Django stack (test client, one process), the three sessions taking turns, on the shared, busy
2-core machine (other engineers' test runs were going on: read the ratios, not the absolute
times). The sign-in's time is mostly the platform password's hash (Django's PBKDF2 default).

| what | median |
| --- | --- |
| ordinary Administrator session, without the support middleware (baseline) | {baseline_ms:.1f} ms |
| ordinary Administrator session, with it (is this a support account? one indexed query, once per session) | {ordinary_ms:.1f} ms ({ordinary_ms / baseline_ms:.2f}×) |
| support session, settings grant (grant + scope check, one `support_request` log entry) | {support_ms:.1f} ms ({support_ms / baseline_ms:.2f}×) |
| support sign-in (platform password + code, agency session, two log entries; 5 runs) | {statistics.median(sign_ins):.0f} ms |
| a grant's page: the first 200 of its {args.entries} entries (keyset pages; 30 requests) | {page_ms:.1f} ms |
"""
    print(body)
    if not args.no_write:
        from tests.benchmarks.report import write_section

        write_section("support", "Support sessions (platform staff under a grant)", body)


if __name__ == "__main__":
    main()
