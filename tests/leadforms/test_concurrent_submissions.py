"""The same new address posted twice at once: both submissions are kept, on one customer."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections, transaction

from customers.models import Customer
from customers.services import customer_create, customer_email_lock
from leadforms.models import Submission
from leadforms.services import form_create, form_submit
from stages.models import ActorKind
from tests.waiting import wait_until


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_second_post_of_a_new_address_waits_and_adds_to_the_first_customer():
    form = form_create(name="Demo", slug=f"demo-{uuid.uuid4().hex[:8]}", fields=[])
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    first_inserted = threading.Event()
    release = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        # What the first post does, held open just after it created the customer.
        try:
            with transaction.atomic():
                customer_email_lock(email=email)
                customer_create(email=email, actor_kind=ActorKind.SYSTEM)
                first_inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            outcome["submission"] = form_submit(form=form, data={"email": email.upper()})
        except Exception as error:  # the assertion below names it
            outcome["error"] = error
        finally:
            connections.close_all()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_inserted.wait(10)
    poster = threading.Thread(target=second)
    poster.start()
    wait_until(_someone_waits_on_a_lock, timeout=10, what="the second post to wait")
    release.set()
    holder.join(10)
    poster.join(10)

    assert "error" not in outcome, outcome.get("error")
    assert Customer.objects.filter(email__iexact=email).count() == 1
    assert Submission.objects.filter(customer__email__iexact=email).count() == 1
    assert Submission.objects.get().created_customer is False
