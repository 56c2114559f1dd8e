"""The outbox page: who sees it, what it shows, and the retry button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import ROLES
from messaging.models import MessageState
from messaging.services import message_mark_failed, message_queue
from tests.permissions_doc import documented_may

pytestmark = pytest.mark.django_db


def _message(customer, key="k"):
    message, _ = message_queue(
        channel="email",
        kind="transactional",
        to=customer.email,
        subject="Thanks <b>for</b> your order",
        body_text="Hello",
        body_html="<p>Hello</p>",
        idempotency_key=key,
        customer=customer,
    )
    return message


def test_everyone_with_the_permission_sees_the_outbox_escaped(client, role_users, customer_factory):
    message = _message(customer_factory())
    for role in ROLES:
        client.force_login(role_users[role])

        page = client.get(reverse("messaging:outbox"))
        detail = client.get(reverse("messaging:detail", args=[message.pk]))

        assert page.status_code == 200
        assert b"Thanks &lt;b&gt;for&lt;/b&gt; your order" in page.content
        assert b"&lt;p&gt;Hello&lt;/p&gt;" in detail.content  # the HTML source, not rendered


def test_a_user_without_a_role_may_not(client, make_user):
    client.force_login(make_user(None, username="nobody"))

    assert client.get(reverse("messaging:outbox")).status_code == 403


def test_filters_by_state(client, admin_user, customer_factory):
    customer = customer_factory()
    queued = _message(customer, "a")
    failed = _message(customer, "b")
    message_mark_failed(message_id=failed.pk, error="boom")
    client.force_login(admin_user)

    page = client.get(reverse("messaging:outbox"), {"state": "failed"})

    assert [m.pk for m in page.context["page"]] == [failed.pk]
    assert queued.pk not in [m.pk for m in page.context["page"]]


@pytest.mark.parametrize("role", ROLES)
def test_retry_follows_the_matrix(client, role_users, customer_factory, role):
    message = _message(customer_factory())
    message_mark_failed(message_id=message.pk, error="SMTP down")
    client.force_login(role_users[role])
    allowed = documented_may(role, "messaging.change_outboundmessage")

    response = client.post(reverse("messaging:retry", args=[message.pk]))

    message.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert message.state == MessageState.QUEUED
    else:
        assert response.status_code == 403
        assert message.state == MessageState.FAILED


def test_retrying_a_sent_message_is_refused_with_a_message(client, admin_user, customer_factory):
    from messaging.services import message_deliver

    message = _message(customer_factory())
    message_deliver(message_id=message.pk)
    client.force_login(admin_user)

    response = client.post(reverse("messaging:retry", args=[message.pk]), follow=True)

    assert b"Only a failed message can be retried" in response.content
    message.refresh_from_db()
    assert message.state == MessageState.SENT
