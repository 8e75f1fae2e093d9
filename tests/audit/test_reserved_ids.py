"""An entry id drawn ahead (``audit.chain.reserve_id``) for entries of two logs that name each
other: the entry written later in the transaction takes it, and the chain still verifies."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from audit import chain
from audit.models import AccessEvent, Action
from audit.services import record_event

pytestmark = pytest.mark.django_db


def test_reserved_id_is_taken_by_the_entry_and_the_chain_verifies(agency_a):
    with schema_context(agency_a.schema_name):
        with transaction.atomic():
            reserved = chain.reserve_id()
            event = record_event(action=Action.EXPORT, username="t", entry_id=reserved)
        assert event.pk == reserved
        assert AccessEvent.objects.get(pk=reserved).entry_hash == event.entry_hash
        after = record_event(action=Action.EXPORT, username="t")
        assert after.pk > reserved
        assert after.prev_hash == event.entry_hash
        assert chain.verify_chain().ok


def test_reserving_outside_a_transaction_is_refused(agency_a):
    from django.db import connection

    with schema_context(agency_a.schema_name):
        # The test runs inside pytest-django's transaction: step out of it to check.
        atomic = connection.in_atomic_block
        connection.in_atomic_block = False
        try:
            with pytest.raises(RuntimeError, match="needs a transaction"):
                chain.reserve_id()
        finally:
            connection.in_atomic_block = atomic
