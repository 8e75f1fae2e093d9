"""Evidence packages: what a package holds, its signature under the agency's keyring key, and
``manage.py verify_package`` on an intact and on tampered copies."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import zipfile

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from audit.models import Action, Outcome
from captures.releases import signing
from captures.releases.models import EvidencePackage
from captures.releases.package import package_build
from captures.releases.services import disclosure_decide, disclosure_prepare, package_request
from captures.viewing.services import capture_view
from tests.factories import disclosure_data, make_confirmed_capture
from tests.support import events


@pytest.fixture
def built(agency_a, officer_a, admin_a, as_user, package_dir):
    captures = [make_confirmed_capture(agency_a) for _ in range(3)]
    with schema_context(agency_a.schema_name):
        # An access-log entry about the first capture, which the package must carry.
        capture_view(
            request=as_user(officer_a), agency=agency_a, capture=captures[0], search_event=None
        )
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[c.pk for c in captures],
        )
        disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
        )
        disclosure.refresh_from_db()
        package = package_request(
            request=as_user(officer_a), agency=agency_a, disclosure=disclosure
        )
        result = package_build(agency=agency_a, package_id=package.pk)
    assert result is not None
    path = package_dir / agency_a.schema_name / result.file_name
    return result, path, captures


def _verify(path, capsys, *extra) -> tuple[int, str]:
    try:
        call_command("verify_package", str(path), *extra)
    except SystemExit as exc:
        return int(exc.code or 0), capsys.readouterr().out
    return 0, capsys.readouterr().out


def test_the_package_holds_what_the_disclosure_releases(agency_a, built, storage_dir):
    package, path, captures = built
    assert package.status == EvidencePackage.Status.READY
    assert package.done == 3
    assert package.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        first = json.loads(zf.read(f"captures/{captures[0].pk}/read.json"))
        plate_png = zf.read(f"captures/{captures[0].pk}/plate.png")
        log = [json.loads(line) for line in zf.read("access_log.jsonl").splitlines()]
    assert {"disclosure.json", "manifest.json", "manifest.sig", "access_log.jsonl"} <= names
    assert plate_png.startswith(b"\x89PNG")  # decrypted
    assert first["reading"]["plate"] == captures[0].plate
    with schema_context(agency_a.schema_name):
        assert first["camera"]["name"] == captures[0].camera.name
    assert [r["action"] for r in first["reviews"]] == ["confirm"]
    listed = {f["path"] for f in manifest["files"]}
    assert listed == names - {"manifest.json", "manifest.sig"}
    assert manifest["agency"] == "alpha"
    viewed = [e for e in log if e["action"] == Action.CAPTURE_VIEWED]
    assert viewed
    assert viewed[0]["objects_touched"] == [{"type": "capture", "id": str(captures[0].pk)}]
    with schema_context(agency_a.schema_name):
        key = signing.public_key()
    assert key is not None
    assert manifest["key_id"] == signing.key_id(key)
    (entry,) = events(agency_a, action=Action.PACKAGE_BUILT, details__package_id=package.pk)
    assert (entry.outcome, entry.details["sha256"]) == (Outcome.ALLOWED, package.sha256)


def test_verify_package_passes_an_intact_package(built, capsys):
    _package, path, _ = built
    code, out = _verify(path, capsys)
    assert code == 0, out
    assert "VERDICT: INTACT" in out


def _rewrite(src, dst, *, change=None, add=None, drop=None):
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            if info.filename == drop:
                continue
            data = old.read(info.filename)
            if change and info.filename.endswith(change[0]):
                data = change[1](data)
            new.writestr(info, data)
        if add:
            new.writestr(add, b"extra")


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ({"change": ("read.json", lambda d: d.replace(b'"plate"', b'"plate" ', 1))}, "differs"),
        ({"change": ("plate.png", lambda d: d[:-1] + bytes([d[-1] ^ 1]))}, "differs"),
        ({"add": "captures/planted.txt"}, "not in the manifest"),
        ({"drop": "disclosure.json"}, "missing"),
        (
            {"change": ("manifest.json", lambda d: d.replace(b'"alpha"', b'"alpha" ', 1))},
            "does not verify",
        ),
    ],
    ids=["read-changed", "image-changed", "file-added", "file-removed", "manifest-changed"],
)
def test_verify_package_finds_tampering(built, tmp_path, capsys, how, problem):
    _package, path, _ = built
    tampered = tmp_path / "tampered.zip"
    _rewrite(path, tampered, **how)
    code, out = _verify(tampered, capsys)
    assert code == 1, out
    assert "VERDICT: TAMPERED" in out
    assert problem in out


def test_a_package_re_signed_with_another_key_is_caught(built, tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _package, path, _ = built
    forged = tmp_path / "forged.zip"
    other = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["public_key_pem"] = signing.public_key_pem(other.public_key())
    raw = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    _rewrite(path, forged, change=("manifest.json", lambda _d: raw))
    _rewrite(
        forged,
        tmp_path / "forged2.zip",
        change=("manifest.sig", lambda _d: base64.b64encode(other.sign(raw)) + b"\n"),
    )
    code, out = _verify(tmp_path / "forged2.zip", capsys)
    assert code == 1, out  # the agency's key in the database does not verify it
    assert "does not verify" in out


def test_without_the_agency_the_key_is_reported_unconfirmed(built, tmp_path, capsys):
    _package, path, _ = built
    copy = tmp_path / "copy.zip"
    shutil.copy(path, copy)
    with zipfile.ZipFile(copy) as zf:
        pem = json.loads(zf.read("manifest.json"))["public_key_pem"]
    key_file = tmp_path / "agency.pem"
    key_file.write_text(pem)
    code, out = _verify(copy, capsys, "--public-key", str(key_file))
    assert code == 0, out
    assert "--public-key" in out


def test_a_second_build_of_a_built_package_does_nothing(agency_a, built):
    package, _path, _ = built
    with schema_context(agency_a.schema_name):
        assert package_build(agency=agency_a, package_id=package.pk) is None
    assert len(events(agency_a, action=Action.PACKAGE_BUILT, details__package_id=package.pk)) == 1


def test_the_transparency_page_publishes_the_key_that_checks_packages(
    agency_a, built, client_a, tmp_path, capsys
):
    _package, path, _ = built
    page = client_a.get("/transparency/").content.decode()
    start = page.index('data-testid="evidence-public-key">') + len(
        'data-testid="evidence-public-key">'
    )
    pem = page[start : page.index("</pre>", start)]
    key_file = tmp_path / "from-the-page.pem"
    key_file.write_text(pem)
    code, out = _verify(path, capsys, "--public-key", str(key_file))
    assert code == 0, out
    with schema_context(agency_a.schema_name):
        assert signing.key_id(signing.public_key()) in page


def test_the_policy_page_states_the_public_agencies_rule(agency_a, client_a):
    from tenants.models import Agency

    assert "only to public agencies" not in client_a.get("/policy/").content.decode()
    Agency.objects.filter(pk=agency_a.pk).update(disclose_only_to_public_agencies=True)
    page = client_a.get("/policy/").content.decode()
    assert "Plate data is released only to public agencies" in page


def test_a_missing_image_is_noted_and_a_failed_build_recorded(
    agency_a, officer_a, admin_a, as_user, package_dir, storage_dir, settings
):
    captures = [make_confirmed_capture(agency_a) for _ in range(2)]
    (storage_dir / agency_a.schema_name / captures[0].vehicle_image).unlink()
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[c.pk for c in captures],
        )
        disclosure = disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
        )
        first = package_request(request=as_user(officer_a), agency=agency_a, disclosure=disclosure)
        built = package_build(agency=agency_a, package_id=first.pk)
        assert built is not None
        assert built.status == EvidencePackage.Status.READY
        with zipfile.ZipFile(package_dir / agency_a.schema_name / built.file_name) as zf:
            read = json.loads(zf.read(f"captures/{captures[0].pk}/read.json"))
        assert "missing" in read["images_missing"]["vehicle"]

        blocked = package_dir.parent / "not-a-folder"
        blocked.write_text("a file where the package folder should be")
        settings.ALPR_PACKAGE_DIR = blocked
        second = package_request(request=as_user(officer_a), agency=agency_a, disclosure=disclosure)
        failed = package_build(agency=agency_a, package_id=second.pk)
    assert failed is not None
    assert failed.status == EvidencePackage.Status.FAILED
    assert failed.error
    (entry,) = events(agency_a, action=Action.PACKAGE_BUILT, details__package_id=second.pk)
    assert entry.outcome == Outcome.FAILED


def test_only_an_approved_package_disclosure_is_packaged(agency_a, officer_a, as_user):
    from captures.releases.services import DisclosureError

    capture = make_confirmed_capture(agency_a)
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[capture.pk],
        )
        with pytest.raises(DisclosureError, match="approved"):
            package_request(request=as_user(officer_a), agency=agency_a, disclosure=disclosure)
        assert not EvidencePackage.objects.filter(disclosure=disclosure).exists()


def test_a_duplicate_message_does_not_start_a_second_build(agency_a, officer_a, admin_a, as_user):
    import datetime

    from django.utils import timezone

    capture = make_confirmed_capture(agency_a)
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[capture.pk],
        )
        disclosure = disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
        )
        package = package_request(
            request=as_user(officer_a), agency=agency_a, disclosure=disclosure
        )
        EvidencePackage.objects.filter(pk=package.pk).update(
            status="building", started_at=timezone.now()
        )
        assert package_build(agency=agency_a, package_id=package.pk) is None
        # Cut off long ago (its worker died): the next delivery builds it.
        EvidencePackage.objects.filter(pk=package.pk).update(
            started_at=timezone.now() - datetime.timedelta(hours=2)
        )
        rebuilt = package_build(agency=agency_a, package_id=package.pk)
    assert rebuilt is not None
    assert rebuilt.status == EvidencePackage.Status.READY


def test_a_package_signed_before_a_master_key_rotation_still_verifies(
    agency_a, built, settings, capsys
):
    import secrets

    _package, path, _ = built
    with schema_context(agency_a.schema_name):
        before = signing.key_id(signing.public_key())
    old_key = settings.ALPR_MASTER_KEY
    settings.ALPR_MASTER_KEY = secrets.token_bytes(32)
    settings.ALPR_OLD_MASTER_KEYS = [old_key]
    call_command("rotate_master_key", stdout=io.StringIO())
    settings.ALPR_OLD_MASTER_KEYS = []  # the old key is gone: only the re-wrapped key opens
    with schema_context(agency_a.schema_name):
        assert signing.key_id(signing.public_key()) == before
    code, out = _verify(path, capsys)
    assert code == 0, out


def test_a_held_capture_past_retention_is_still_packaged(
    agency_a, officer_a, admin_a, as_user, package_dir
):
    import datetime

    from django.utils import timezone

    from captures.holds.services import Who, hold_place
    from captures.models import Capture

    held, dropped = make_confirmed_capture(agency_a), make_confirmed_capture(agency_a)
    with schema_context(agency_a.schema_name):
        disclosure = disclosure_prepare(
            request=as_user(officer_a),
            agency=agency_a,
            data=disclosure_data(),
            capture_ids=[held.pk, dropped.pk],
        )
        disclosure = disclosure_decide(
            request=as_user(admin_a), agency=agency_a, disclosure_id=disclosure.pk, approve=True
        )
        hold_place(
            agency=agency_a,
            who=Who(request=as_user(admin_a)),
            capture_ids=[held.pk],
            case_number="26-CR-0042",
            reason="Preserved for trial",
            ends_on=timezone.localdate() + datetime.timedelta(days=60),
        )
        # Both reads pass retention; only the held one is kept.
        past = timezone.now() - datetime.timedelta(days=agency_a.retention_days + 1)
        Capture.objects.filter(pk__in=[held.pk, dropped.pk]).update(captured_at=past)
        package = package_request(
            request=as_user(officer_a), agency=agency_a, disclosure=disclosure
        )
        built = package_build(agency=agency_a, package_id=package.pk)
    assert built is not None
    assert built.done == 1
    with zipfile.ZipFile(package_dir / agency_a.schema_name / built.file_name) as zf:
        names = set(zf.namelist())
    assert f"captures/{held.pk}/read.json" in names
    assert f"captures/{dropped.pk}/read.json" not in names
