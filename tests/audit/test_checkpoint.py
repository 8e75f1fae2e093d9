"""Signed checkpoints outside the database catch what the chain alone cannot: a cut tail."""

from __future__ import annotations

import base64
import datetime
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_public_key,
)
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.chain import entry_hash, verify_chain
from audit.checkpoint import (
    CheckpointError,
    CheckpointRefused,
    DirectoryStore,
    checkpoint_write,
    parse_checkpoint,
    verify_log,
)
from audit.models import AccessEvent, Action, ChainAnchor
from audit.retention import prune_access_log
from audit.services import record_backdated_event, record_event
from audit.tasks import checkpoint_log
from audit.tasks import verify_log as verify_log_task
from tenants.models import Agency
from tenants.services import agency_create
from tests.factories import make_user


def _events(user, count: int = 3) -> list[AccessEvent]:
    return [
        record_event(action=Action.SEARCH, actor=user, query={"plate": f"CKP{i}"})
        for i in range(count)
    ]


def _lines(directory, schema: str) -> list[dict]:
    path = directory / f"{schema}.jsonl"
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _disable_guard() -> None:
    """As the superuser would: switch the triggers off (inside the test transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER USER")


def _verify_fails(agency, *args: str) -> str:
    connection.set_schema_to_public()
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_log", "--agency", agency.slug, *args)
    return str(excinfo.value)


@pytest.fixture
def fresh_agency(db) -> Agency:
    """An agency whose log starts empty (created in the test transaction, rolled back)."""
    agency = agency_create(slug="delta", name="Delta Township", domain="delta.localhost").agency
    connection.set_schema_to_public()
    return agency


def test_the_command_writes_one_signed_line_per_schema_and_only_ever_appends(
    agency_a, in_agency, audit_checkpoint_dir, capsys
):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _events(user)
    call_command("audit_checkpoint")
    schemas = set(Agency.objects.values_list("schema_name", flat=True))
    assert {"public", "alpha", "bravo"} <= schemas
    assert {p.name for p in audit_checkpoint_dir.iterdir()} == {f"{s}.jsonl" for s in schemas}
    for schema in schemas:
        (line,) = _lines(audit_checkpoint_dir, schema)
        with in_agency(Agency.objects.get(schema_name=schema)):
            head = AccessEvent.objects.order_by("-id").first()
        point = parse_checkpoint(
            json.dumps(line).encode(), line=1, schema=schema
        )  # the signature verifies
        if head is not None:
            assert (point.head_id, point.head_hash) == (head.id, head.entry_hash)
    assert "alpha (alpha): checkpoint" in capsys.readouterr().out

    path = audit_checkpoint_dir / "alpha.jsonl"
    before, inode = path.read_bytes(), path.stat().st_ino
    with in_agency(agency_a):
        newest = record_event(action=Action.LOGOUT, actor=user)
    call_command("audit_checkpoint", "--agency", "alpha")
    after = path.read_bytes()
    assert after.startswith(before)  # appended, not rewritten
    assert len(after) > len(before)
    assert path.stat().st_ino == inode
    first, second = _lines(audit_checkpoint_dir, "alpha")
    assert second["head_id"] == newest.id
    assert second["head_hash"] == newest.entry_hash
    assert first["head_id"] < second["head_id"]
    assert len(_lines(audit_checkpoint_dir, "bravo")) == 1


def test_the_hourly_beat_job_checkpoints_each_schema(agency_a, in_agency, audit_checkpoint_dir):
    from celery.schedules import crontab
    from django.conf import settings

    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "audit.tasks.checkpoint_all_logs"
    )
    assert entry["schedule"] == crontab(minute=0)
    user = make_user(agency_a)
    with in_agency(agency_a):
        (event,) = _events(user, 1)
        result = checkpoint_log(agency_a.id)
        assert result == {"ok": True, "head_id": event.id, "head_hash": event.entry_hash}
        checkpoint_log(agency_a.id)
    assert len(_lines(audit_checkpoint_dir, "alpha")) == 2
    assert not (audit_checkpoint_dir / "bravo.jsonl").exists()


def test_a_tail_cut_by_a_superuser_is_caught_naming_the_checkpoint(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        first, second, third = _events(user)
        point = checkpoint_write()
        assert point.head_id == third.id
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id >= %s", [second.id])
        # The chain alone still verifies: this is the hole the checkpoint closes.
        assert verify_chain().ok
        result = verify_log()
    assert not result.ok
    assert result.broken_id == third.id
    assert result.checkpoint.startswith(f"the checkpoint of {point.created_at}, line 1")
    message = _verify_fails(agency_a)
    assert f"#{third.id}" in message
    assert f"the checkpoint of {point.created_at}, line 1" in message
    assert "newest entries" in message
    assert f"ends at #{first.id}" in message


def test_a_rewritten_head_is_caught(agency_a, in_agency):
    """Rewriting the newest entry and its hash leaves a valid chain, but not the checkpoint."""
    user = make_user(agency_a)
    with in_agency(agency_a):
        *_, head = _events(user)
        point = checkpoint_write()
        values = AccessEvent.objects.values().get(id=head.id)
        values["query"] = {"plate": "INNOCENT"}
        forged = entry_hash(values)
        _disable_guard()
        AccessEvent.objects.filter(id=head.id).update(
            query={"plate": "INNOCENT"}, entry_hash=forged
        )
        assert verify_chain().ok
    message = _verify_fails(agency_a)
    assert f"#{head.id}" in message
    assert "rewritten" in message
    assert f"the checkpoint of {point.created_at}, line 1" in message


def test_a_tampered_checkpoint_signature_is_caught(agency_a, in_agency, audit_checkpoint_dir):
    user = make_user(agency_a)
    with in_agency(agency_a):
        first, _, _ = _events(user)
        checkpoint_write()
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id > %s", [first.id])
    # The intruder also edits the stored checkpoint to name the new, shorter head.
    path = audit_checkpoint_dir / "alpha.jsonl"
    (record,) = _lines(audit_checkpoint_dir, "alpha")
    record.update(head_id=first.id, head_hash=first.entry_hash)
    path.write_text(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
    message = _verify_fails(agency_a)
    assert "signature" in message
    assert "does not verify" in message
    assert "line 1" in message


def test_a_checkpoint_signed_with_another_key_is_refused(
    agency_a, in_agency, audit_checkpoint_dir, settings, tmp_path
):
    user = make_user(agency_a)
    own_key = settings.ALPR_AUDIT_SIGNING_KEY_FILE
    other = tmp_path / "other.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with in_agency(agency_a):
        _events(user, 1)
        settings.ALPR_AUDIT_SIGNING_KEY_FILE = other
        checkpoint_write()  # a forger's line, properly signed with their own key
        settings.ALPR_AUDIT_SIGNING_KEY_FILE = own_key
        result = verify_log()
    assert not result.ok
    assert "signed by key" in result.problem


def test_an_unreadable_checkpoint_line_is_refused(agency_a, in_agency, audit_checkpoint_dir):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _events(user, 1)
        checkpoint_write()
    with (audit_checkpoint_dir / "alpha.jsonl").open("ab") as handle:
        handle.write(b'{"v": 1, "head_id": 99999999}\n')
    message = _verify_fails(agency_a)
    assert "line 2 cannot be read" in message


def test_expect_checks_a_head_someone_kept(agency_a, in_agency, capsys):
    user = make_user(agency_a)
    with in_agency(agency_a):
        first, second, third = _events(user)
    connection.set_schema_to_public()
    call_command(
        "verify_audit_log", "--agency", "alpha", "--expect", f"{second.id}:{second.entry_hash}"
    )
    assert "1 checkpoint(s) matched" in capsys.readouterr().out

    wrong = "f" * 64
    message = _verify_fails(agency_a, "--expect", f"{second.id}:{wrong}")
    assert f"#{second.id}" in message
    assert "the head you kept" in message

    with in_agency(agency_a):
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id >= %s", [second.id])
    message = _verify_fails(agency_a, "--expect", f"{third.id}:{third.entry_hash}")
    assert f"#{third.id}" in message
    assert "newest entries" in message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--agency", "alpha", "--expect", "12"], "ID:HASH"),
        (["--agency", "alpha", "--expect", "x:" + "a" * 64], "ID:HASH"),
        (["--agency", "alpha", "--expect", "12:abc"], "64-character"),
        (["--expect", "12:" + "a" * 64], "--agency"),
    ],
)
def test_expect_with_bad_input_says_what_to_give(db, args, words):
    with pytest.raises(CommandError, match=words):
        call_command("verify_audit_log", *args)


def test_no_checkpoint_is_signed_over_a_cut_tail(agency_a, in_agency, audit_checkpoint_dir):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _, second, _ = _events(user)
        checkpoint_write()
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id >= %s", [second.id])
        with pytest.raises(CheckpointRefused):
            checkpoint_write()
    connection.set_schema_to_public()
    with pytest.raises(CommandError, match="not checkpointed"):
        call_command("audit_checkpoint", "--agency", "alpha")
    assert len(_lines(audit_checkpoint_dir, "alpha")) == 1


def test_the_nightly_verification_uses_the_checkpoints(agency_a, in_agency):
    user = make_user(agency_a)
    with in_agency(agency_a):
        _, second, third = _events(user)
        checkpoint_write()
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent WHERE id >= %s", [second.id])
        details = verify_log_task(agency_a.id)
        entry = AccessEvent.objects.filter(action=Action.AUDIT_VERIFIED).order_by("-id").first()
    assert details["ok"] is False
    assert entry.outcome == "failed"
    assert entry.details["broken_id"] == third.id
    assert "checkpoint of" in entry.details["checkpoint"]


def test_a_checkpoint_older_than_the_prune_cutoff_is_satisfied_by_the_anchor(
    fresh_agency, in_agency
):
    now = timezone.now()
    with in_agency(fresh_agency):
        old = [
            record_backdated_event(
                occurred_at=now - datetime.timedelta(days=800 - i),
                action=Action.LOGIN,
                username="old",
            )
            for i in range(3)
        ]
        first_point = checkpoint_write()  # names an entry that pruning will remove
        assert first_point.head_id == old[-1].id
        record_backdated_event(
            occurred_at=now - datetime.timedelta(days=700), action=Action.LOGIN, username="mid"
        )
        middle_point = checkpoint_write()
        record_event(action=Action.LOGIN, username="new")
        checkpoint_write()
        result = prune_access_log(batch_rows=2)
        assert result.removed == 3, result
        assert result.batches == 2, result
        verified = verify_log()
        assert verified.ok, verified.problem
        assert verified.claims_checked == 3
        assert any("covered by the pruning anchor" in note for note in verified.notes)
        # The middle checkpoint's head was kept and still matches.
        assert AccessEvent.objects.filter(
            id=middle_point.head_id, entry_hash=middle_point.head_hash
        ).exists()
        checkpoint_write()  # the hourly job goes on after a prune


def test_a_forged_anchor_does_not_excuse_a_young_checkpointed_head(fresh_agency, in_agency):
    """Emptying the log and faking a prune (anchor + log_pruned entry) passes the chain walk,
    but the checkpoint's head is far too young to have been pruned."""
    with in_agency(fresh_agency):
        record_event(action=Action.LOGIN, username="a")
        head = record_event(action=Action.SEARCH, username="a", query={"plate": "HIDE1"})
        checkpoint_write()
        _disable_guard()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent")
        ChainAnchor.objects.create(
            cutoff=timezone.now() + datetime.timedelta(days=1),  # the forger's own cutoff
            last_removed_id=head.id,
            last_removed_hash=head.entry_hash,
            removed_count=2,
        )
        record_event(
            action=Action.LOG_PRUNED, details={"last_removed_hash": head.entry_hash, "removed": 2}
        )
        assert verify_chain().ok  # the fake prune is consistent in itself
        result = verify_log()
    assert not result.ok
    assert result.broken_id == head.id
    assert "not old enough" in result.problem


def test_the_signing_key_is_created_on_first_use_in_development(
    agency_a, in_agency, settings, tmp_path
):
    path = tmp_path / "keys" / "dev.pem"
    settings.ALPR_AUDIT_SIGNING_KEY_FILE = path
    settings.ALPR_AUDIT_SIGNING_KEY_CREATE = True
    assert not path.exists()
    with in_agency(agency_a):
        verify_log()  # nothing stored yet: no key needed, none made
        assert not path.exists()
        point = checkpoint_write()
    assert path.exists()
    assert path.stat().st_mode & 0o777 == 0o600
    with in_agency(agency_a):
        assert verify_log().ok
    assert point.key_id


def test_a_missing_signing_key_is_a_clear_error(agency_a, in_agency, settings, tmp_path):
    with in_agency(agency_a):
        checkpoint_write()
    settings.ALPR_AUDIT_SIGNING_KEY_FILE = tmp_path / "absent.pem"
    settings.ALPR_AUDIT_SIGNING_KEY_CREATE = False
    with pytest.raises(CommandError, match="ALPR_AUDIT_SIGNING_KEY_FILE"):
        call_command("audit_checkpoint", "--agency", "alpha")
    with in_agency(agency_a):
        with pytest.raises(CheckpointError, match="openssl genpkey"):
            checkpoint_write()
        result = verify_log()  # checkpoints exist, but nothing to check them with
    assert not result.ok
    assert "ALPR_AUDIT_SIGNING_KEY_FILE" in result.problem


def test_the_store_keeps_a_torn_line_apart_and_never_rewrites(tmp_path):
    store = DirectoryStore(tmp_path / "cp")
    store.append(schema="alpha", record=b'{"n":1}')
    path = tmp_path / "cp" / "alpha.jsonl"
    with path.open("ab") as handle:  # a write cut short by a crash
        handle.write(b'{"n":2')
    store.append(schema="alpha", record=b'{"n":3}')
    assert path.read_bytes() == b'{"n":1}\n{"n":2\n{"n":3}\n'
    assert store.latest(schema="alpha") == b'{"n":3}'
    assert store.records(schema="bravo") == []
    assert store.latest(schema="bravo") is None
    with pytest.raises(CheckpointError):
        store.append(schema="../etc", record=b"{}")
    with pytest.raises(CheckpointError):
        store.append(schema="alpha", record=b"two\nlines")


def test_latest_reads_the_last_line_of_a_long_file(tmp_path):
    store = DirectoryStore(tmp_path)
    for n in range(3000):
        store.append(schema="alpha", record=json.dumps({"n": n, "pad": "x" * 50}).encode())
    assert json.loads(store.latest(schema="alpha"))["n"] == 2999
    assert len(store.records(schema="alpha")) == 3000


def test_the_transparency_page_shows_the_public_key_and_latest_checkpoint(
    agency_a, agency_b, in_agency
):
    client = Client(HTTP_HOST="alpha.localhost")
    html = client.get("/transparency/").content.decode()
    assert "No checkpoint has been signed yet" in html
    assert "BEGIN PUBLIC KEY" in html
    user = make_user(agency_a)
    with in_agency(agency_a):
        _events(user, 1)
        checkpoint_write()
        point = checkpoint_write()
    count_before = _count(agency_a, in_agency)
    html = client.get("/transparency/").content.decode()
    assert _count(agency_a, in_agency) == count_before  # reading the page wrote nothing
    assert f'data-testid="checkpoint-head">#{point.head_id}<' in html
    assert f'data-testid="checkpoint-hash">{point.head_hash}<' in html
    assert f'data-testid="checkpoint-time">{point.created_at}<' in html
    assert f'data-testid="checkpoint-signature">{point.signature}<' in html
    assert f'data-testid="checkpoint-key-id">{point.key_id}<' in html

    response = client.get("/transparency/checkpoint.json")
    assert response.status_code == 200
    data = response.json()
    assert data["agency"] == "alpha"
    assert data["checkpoint"]["head_id"] == point.head_id
    # Anyone can check it with the published key alone.
    key = load_pem_public_key(data["public_key_pem"].encode())
    unsigned = {k: v for k, v in data["checkpoint"].items() if k != "signature"}
    signed = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert signed == data["signed_bytes"].encode()
    key.verify(base64.b64decode(data["checkpoint"]["signature"]), signed)
    assert base64.b64decode(data["public_key"]) == key.public_bytes_raw()

    other = Client(HTTP_HOST="bravo.localhost").get("/transparency/checkpoint.json").json()
    assert other["agency"] == "bravo"
    assert other["checkpoint"] is None


def test_the_transparency_page_works_without_a_key(agency_a, settings, tmp_path):
    settings.ALPR_AUDIT_SIGNING_KEY_FILE = tmp_path / "absent.pem"
    settings.ALPR_AUDIT_SIGNING_KEY_CREATE = False
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.get("/transparency/")
    assert response.status_code == 200
    assert "Checkpoints are not set up on this portal yet." in response.content.decode()
    response = client.get("/transparency/checkpoint.json")
    assert response.status_code == 503
    assert "try again later" in response.json()["detail"]


def _count(agency, in_agency) -> int:
    with in_agency(agency):
        return AccessEvent.objects.count()


def test_checkpoint_files_are_not_world_readable_or_writable(
    agency_a, in_agency, audit_checkpoint_dir
):
    with in_agency(agency_a):
        checkpoint_write()
    mode = os.stat(audit_checkpoint_dir / "alpha.jsonl").st_mode & 0o777
    assert mode & 0o022 == 0
