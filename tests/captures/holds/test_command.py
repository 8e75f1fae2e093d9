"""manage.py legal_hold: place (prints hold_id=...), release, and clear errors."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from audit.models import Action
from captures.holds.models import LegalHold
from tests.factories import make_capture
from tests.support import events

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("legal_hold", *args, stdout=out)
    return out.getvalue()


def _until(days: int = 30) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def test_place_and_release_from_the_command(agency_a):
    captures = [make_capture(agency_a) for _ in range(2)]
    out = _run(
        "--agency", "alpha", "--case", "26-CV-9", "--reason", "Preserve", "--until", _until(),
        "--authority", "Subpoena 9", *(str(c.pk) for c in captures),
    )  # fmt: skip
    assert out.startswith("hold_id=")
    hold_id = int(out.strip().split("=")[1])
    with schema_context(agency_a.schema_name):
        hold = LegalHold.objects.get(pk=hold_id)
    assert (hold.case_number, hold.authority, hold.capture_count) == ("26-CV-9", "Subpoena 9", 2)
    assert hold.source == "command"
    (placed,) = events(agency_a, action=Action.HOLD_PLACED, details__hold_id=hold_id)
    assert placed.actor_username == "system:legal_hold"

    assert _run("--agency", "alpha", "--release", str(hold_id)).strip() == (
        f"hold_id={hold_id} released"
    )
    with schema_context(agency_a.schema_name):
        assert LegalHold.objects.get(pk=hold_id).released_at is not None
    assert len(events(agency_a, action=Action.HOLD_RELEASED, details__hold_id=hold_id)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agency", "nowhere", "--release", "1"], "No agency"),
        (["--agency", "alpha", "--reason", "r", "--until", "2030-01-01", "X"], "--case"),
        (["--agency", "alpha", "--case", "c", "--reason", "r", "--until", "tomorrow", "{id}"],
         "YYYY-MM-DD"),
        (["--agency", "alpha", "--case", "c", "--reason", "r", "--until", "{until}", "nope"],
         "not a capture id"),
        (["--agency", "alpha", "--case", "c", "--reason", "r", "--until", "{until}"],
         "at least one CAPTURE_ID"),
        (["--agency", "alpha", "--case", "c", "--reason", "r", "--until", "2099-01-01", "{id}"],
         "at most one year"),
        (["--agency", "alpha", "--release", "987654"], "no legal hold 987654"),
        (["--agency", "alpha", "--release", "1", "{id}"], "only a hold id"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error_and_stores_nothing(agency_a, args, message):
    capture = make_capture(agency_a)
    args = [a.format(id=capture.pk, until=_until()) for a in args]
    with pytest.raises(CommandError, match=message):
        _run(*args)
    with schema_context(agency_a.schema_name):
        assert not LegalHold.objects.exists()


def test_a_capture_of_another_agency_is_refused(agency_a, agency_b):
    foreign = make_capture(agency_b)
    with pytest.raises(CommandError, match="not this agency's"):
        _run(
            "--agency",
            "alpha",
            "--case",
            "c",
            "--reason",
            "r",
            "--until",
            _until(),
            str(foreign.pk),
        )
