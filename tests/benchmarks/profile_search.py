"""Where an officer's search costs its time: cProfile over the search POST and the results
page it redirects to, through the Django test client (whole middleware stack, sign-in with
password and TOTP), with the production settings; and the SQL statements of one search.

Runs in the agency of ``bench_prod_ingest.py`` (``bench-prod``: its captures are the data).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ingest \\
        python tests/benchmarks/profile_search.py [--count 50] [--top 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HOST = "bench-prod.localhost"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print the statements in full")
    args = parser.parse_args()
    from tests.benchmarks.profile_ingest import environment

    os.environ.update(environment(None))
    import django

    django.setup()
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from alpr_portal.prodcheck import totp_code, trained_officer
    from captures.models import AuthorizedPurpose
    from tenants.models import Agency
    from tests.benchmarks.bench_prod_ingest import search_form

    agency = Agency.objects.get(slug="bench-prod")
    with schema_context(agency.schema_name):
        user, password, secret = trained_officer(
            username=f"prof-{uuid.uuid4().hex[:6]}", source="benchmark"
        )
        purpose = AuthorizedPurpose.objects.filter(active=True).order_by("pk").first().pk
    client = Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="127.0.0.1")
    first = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert first.status_code == 302, first.status_code
    second = client.post("/accounts/login/code/", {"code": totp_code(secret)})
    assert second.status_code == 302, second.content[:300]
    form = search_form(agency, purpose)
    headers = {"HTTP_ORIGIN": f"https://{HOST}", "HTTP_REFERER": f"https://{HOST}/search/"}

    def search() -> None:
        resp = client.post("/search/", form, **headers)
        assert resp.status_code == 302, (resp.status_code, resp.content[:500])
        page = client.get(resp["Location"])
        assert page.status_code == 200, page.status_code

    for _ in range(5):
        search()
    with CaptureQueriesContext(connection) as queries:
        search()
    print(f"SQL statements of one search (POST + results page): {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print(f"  {q['time']}s  {q['sql'] if args.sql else q['sql'][:160]}")
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.count):
        search()
    wall = (time.perf_counter() - t0) / args.count
    cpu = (time.process_time() - c0) / args.count
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.count):
        search()
    profiler.disable()
    print(f"\n{args.count} searches: {1000 * wall:.1f} ms each, {1000 * cpu:.1f} ms CPU here\n")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top + 30)


if __name__ == "__main__":
    main()
