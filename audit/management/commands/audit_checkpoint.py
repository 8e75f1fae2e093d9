"""Sign each access log's head into the checkpoint store outside the database."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import schema_context

from audit.checkpoint import (
    BadCheckpoint,
    CheckpointError,
    CheckpointRefused,
    checkpoint_store,
    checkpoint_write,
    key_id,
    public_key_pem,
)
from audit.management.logs import AccessLogCommand


class Command(AccessLogCommand):
    help = (
        "Write a signed checkpoint (head entry id, hash and time) of the access log of the "
        "platform and every agency (or one agency) to ALPR_AUDIT_CHECKPOINT_DIR. Refuses, and "
        "exits non-zero, for a log that no longer contains its previous checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--public-key",
            action="store_true",
            help="Only print the public key that checks the signatures (PEM) and its id.",
        )

    def handle(self, *args, **options) -> None:
        try:
            if options["public_key"]:
                self.stdout.write(public_key_pem().rstrip())
                self.stdout.write(f"key id: {key_id()}")
                return
            store = checkpoint_store()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from None
        agencies = self.agencies(options)
        refused = []
        for agency in agencies:
            where = f"{agency.slug} ({agency.schema_name})"
            with schema_context(agency.schema_name):
                try:
                    point = checkpoint_write(store=store)
                except CheckpointRefused as exc:
                    line = f"{where}: NOT checkpointed: {exc.result.describe(where)}"
                except BadCheckpoint as exc:
                    line = f"{where}: NOT checkpointed: {exc.problem}"
                except CheckpointError as exc:
                    raise CommandError(str(exc)) from None
                else:
                    head = f"#{point.head_id}" if point.head_id is not None else "(empty log)"
                    self.stdout.write(
                        f"{where}: checkpoint {point.created_at} of head {head} {point.head_hash}"
                    )
                    continue
            self.stderr.write(line)
            refused.append(line)
        if refused:
            raise CommandError(
                f"{len(refused)} access log(s) not checkpointed; first: {refused[0]}. "
                "Run verify_audit_log."
            )
