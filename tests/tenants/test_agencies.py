import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from audit.models import AccessEvent
from tenants import services
from tenants.models import Agency, Domain
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_rows_of_agency_a_are_invisible_in_agency_b(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        AccessEvent.objects.create(action="login", actor_username="only-in-a")
        assert AccessEvent.objects.filter(actor_username="only-in-a").count() == 1
    with schema_context(agency_b.schema_name):
        assert not AccessEvent.objects.filter(actor_username="only-in-a").exists()


def test_users_live_in_their_agency_schema(agency_a, agency_b):
    make_user(agency_a, username="alice")
    with schema_context(agency_b.schema_name):
        assert not get_user_model().objects.filter(username="alice").exists()
    with schema_context(agency_a.schema_name):
        assert get_user_model().objects.filter(username="alice").exists()


def test_user_of_agency_a_cannot_sign_in_on_agency_b(agency_a, client_a, client_b):
    make_user(agency_a, username="alice")
    form = {"username": "alice", "password": DEFAULT_PASSWORD}
    refused = client_b.post("/accounts/login/", form)
    assert refused.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client_b.session
    accepted = client_a.post("/accounts/login/", form)
    assert accepted.status_code == 302


def test_unknown_host_is_404_not_another_agencys_page(client):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert b"Alpha" not in response.content
    assert b"Bravo" not in response.content


def test_platform_landing_lists_agencies(client):
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b"Alpha County Sheriff" in response.content


def test_agency_home_requires_sign_in(client_a):
    response = client_a.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def _nothing_left(slug: str, host: str) -> None:
    connection.set_schema_to_public()
    assert not Agency.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain=host).exists()
    assert not schema_exists(services.schema_name_for(slug))


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("slug", "host", "message"),
    [
        ("public", "pub.localhost", "reserved"),
        ("www", "www2.localhost", "reserved"),
        ("alpha", "alpha2.localhost", "already exists"),
        ("charlie", "alpha.localhost", "already used"),
        ("charlie", "bad_host.localhost", "not a valid hostname"),
        ("charlie", "http://charlie.localhost/", "not a valid hostname"),
        ("Charlie!", "charlie.localhost", "Invalid slug"),
    ],
)
def test_create_agency_refuses_bad_input_and_leaves_nothing(slug, host, message):
    before = (Agency.objects.count(), Domain.objects.count(), _schemas())
    with pytest.raises(CommandError, match=message):
        call_command("create_agency", slug=slug, name="Charlie PD", domain=host)
    assert (Agency.objects.count(), Domain.objects.count(), _schemas()) == before


def test_create_agency_failure_after_schema_creation_rolls_everything_back(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_ensure_admin", boom)
    with pytest.raises(RuntimeError):
        services.agency_create(
            slug="delta", name="Delta PD", domain="delta.localhost", admin_username="chief"
        )
    _nothing_left("delta", "delta.localhost")


def test_create_agency_creates_schema_domain_and_administrator(capsys):
    call_command(
        "create_agency",
        slug="echo",
        name="Echo PD",
        domain="echo.localhost",
        admin_username="chief",
        admin_email="chief@echo.invalid",
    )
    out = capsys.readouterr().out
    assert "password:" in out
    assert "authenticator app" in out
    agency = Agency.objects.get(slug="echo")
    assert agency.domains.get().domain == "echo.localhost"
    assert schema_exists("echo")
    with schema_context("echo"):
        chief = get_user_model().objects.get(username="chief")
        assert chief.groups.filter(name="Administrator").exists()
        assert chief.is_staff
        assert not chief.is_superuser
        created = AccessEvent.objects.get(action="user_created")
        assert created.details["username"] == "chief"
        assert created.details["source"] == "agency creation"
        assert created.actor_username == "platform"
        assert created.objects_touched == [{"type": "user", "id": str(chief.pk)}]
    # Re-running is a no-op, not an error and not a duplicate.
    call_command(
        "create_agency",
        slug="echo",
        name="Echo PD",
        domain="echo.localhost",
        admin_username="chief",
    )
    assert "nothing changed" in capsys.readouterr().out
    assert Agency.objects.filter(slug="echo").count() == 1


def test_retention_above_thirty_days_is_refused_by_the_database(agency_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=agency_a.pk).update(retention_days=31)
