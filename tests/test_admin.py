"""The Django admin opens for every registered model, as a superuser, with data in the tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.timezone import now

from campaigns.models import Campaign, ProviderEvent, Recipient, TrackingEvent, Variant
from common.models import Event
from consent.models import ConsentEvent, Suppression
from customers.models import Customer, Referral
from leadforms.models import LeadForm, Submission
from messaging.models import MessageTemplate, OutboundMessage
from segments.models import AudienceSnapshot, Segment, SegmentMember
from stages.models import ActorKind, Stage, StageTransition
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def superuser_client(customer_factory, stages) -> Client:
    """A logged-in superuser, with a customer who has moved so that lists are not empty."""
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pass-word-123")
    referrer = customer_factory(email="referrer@example.com")
    customer = customer_factory(tags=["vip"], attributes={"plan": "pro"}, referred_by=referrer)
    customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind=ActorKind.API)
    client = Client()
    client.force_login(user)
    return client


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# Tables without an admin page, each for a reason: plumbing that lives minutes to a day, rows
# shown inside their parent's page, rows the admin cannot address, and rollups derived from the
# history (rebuilt any time; the dashboard and docs/metrics.md read them).
NOT_IN_ADMIN = {
    "common.IdempotencyKey",  # the stored answers of `Idempotency-Key` requests, kept 24 hours
    "common.UnpublishedTask",  # the task outbox, emptied as the broker takes them
    "webhooks.DeliveryAttempt",  # shown inline on its delivery's page
    "segments.AudienceSnapshotMember",  # a composite key; its snapshot shows the count
}
NOT_IN_ADMIN_APPS = {"analytics"}


def project_models() -> list[type[Model]]:
    """The models of the project's own apps (not Django's or a library's)."""
    root = Path(settings.BASE_DIR).resolve()
    return [
        model
        for config in apps.get_app_configs()
        if _is_project_path(Path(config.path).resolve(), root)
        for model in config.get_models()
    ]


def _is_project_path(path: Path, root: Path) -> bool:
    # A virtualenv may sit inside the checkout (`make` puts it in .venv): its libraries are
    # not the project's.
    return path.is_relative_to(root) and "site-packages" not in path.parts


def test_every_model_of_the_project_has_an_admin_page() -> None:
    missing = [
        model._meta.label
        for model in project_models()
        if model not in admin.site._registry
        and model._meta.label not in NOT_IN_ADMIN
        and model._meta.app_label not in NOT_IN_ADMIN_APPS
    ]

    assert missing == []


def test_the_exclusions_name_real_models_without_an_admin() -> None:
    labels = {model._meta.label: model for model in project_models()}

    for label in NOT_IN_ADMIN:
        assert label in labels
        assert labels[label] not in admin.site._registry


def test_consent_is_read_only_in_the_admin() -> None:
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)

    for model in (ConsentEvent, Suppression):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_admin_index_loads(superuser_client: Client) -> None:
    assert superuser_client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)
def test_changelist_add_and_change_pages_load(superuser_client: Client, model, model_admin) -> None:
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="root")

    assert superuser_client.get(_url(model, "changelist")).status_code == 200
    add = superuser_client.get(_url(model, "add"))
    # Append-only history refuses additions on purpose; every other model can be added.
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)
    instance = model._default_manager.order_by("pk").first()
    if instance is not None:
        assert superuser_client.get(_url(model, "change", instance.pk)).status_code == 200


def test_transitions_are_read_only_in_the_admin(superuser_client: Client) -> None:
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="root")
    model_admin = admin.site._registry[StageTransition]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_customer_search_and_filters_work_in_the_admin(superuser_client: Client) -> None:
    url = _url(Customer, "changelist")

    response = superuser_client.get(url, {"q": "referrer", "stage__phase__exact": "attract"})

    assert response.status_code == 200
    assert "referrer@example.com" in response.content.decode()


# --- writes in the admin go through the services ----------------------------------------------


def _customer_post(stage_pk: int | None = None, **overrides: str) -> dict[str, str]:
    data = {
        "email": "admin.made@example.com",
        "first_name": "Ada",
        "last_name": "",
        "phone": "",
        "company": "",
        "owner": "",
        "source": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "utm_term": "",
        "utm_content": "",
        "tags": "VIP, vip",
        "attributes": "{}",
        "referred_by": "",
        "email_consent": "on",
    }
    if stage_pk is not None:
        data["stage"] = str(stage_pk)
    data.update(overrides)
    return data


def test_admin_add_creates_the_customer_with_its_entry(superuser_client: Client, stages) -> None:
    response = superuser_client.post(
        _url(Customer, "add"), _customer_post(stage_pk=stages["purchase"].pk)
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="admin.made@example.com")
    assert customer.stage.slug == "purchase"
    assert customer.tags == ["vip"]
    assert customer.email_consent_at is not None
    [entry] = StageTransition.objects.filter(customer=customer)
    assert entry.actor_kind == ActorKind.USER
    assert entry.actor_user is not None
    assert entry.actor_user.username == "root"


def test_admin_add_with_a_duplicate_email_is_an_error_on_email(
    superuser_client: Client, stages
) -> None:
    response = superuser_client.post(
        _url(Customer, "add"),
        _customer_post(stage_pk=stages["awareness"].pk, email="REFERRER@example.com"),
    )

    assert response.status_code == 200
    assert "already exists" in response.context["adminform"].form.errors["email"][0]
    assert Customer.objects.filter(email__iexact="referrer@example.com").count() == 1


def test_admin_change_goes_through_the_service(superuser_client: Client) -> None:
    customer = Customer.objects.get(email="referrer@example.com")
    data = _customer_post(email=customer.email, tags="Gold, gold", sms_consent="on")

    response = superuser_client.post(_url(Customer, "change", customer.pk), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.tags == ["gold"]
    assert customer.sms_consent_at is not None
    assert customer.stage.slug == "awareness"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("referred_by", "self", "cannot refer themselves"),
        ("attributes", "[1, 2]", "must be a JSON object"),
    ],
)
def test_admin_change_refuses_what_the_service_refuses(
    superuser_client: Client, field: str, value: str, message: str
) -> None:
    customer = Customer.objects.get(email="referrer@example.com")
    data = _customer_post(email=customer.email)
    data[field] = str(customer.pk) if value == "self" else value

    response = superuser_client.post(_url(Customer, "change", customer.pk), data)

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field][0]
    customer.refresh_from_db()
    assert customer.referred_by is None
    assert customer.attributes == {}


def test_admin_cannot_archive_the_last_live_stage(superuser_client: Client, stages) -> None:
    Stage.objects.exclude(slug="awareness").update(is_archived=True)
    awareness = stages["awareness"]
    data = {
        "name": awareness.name,
        "phase": awareness.phase,
        "position": awareness.position,
        "description": "",
        "is_archived": "on",
    }

    response = superuser_client.post(_url(Stage, "change", awareness.pk), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_archived"]
    assert Stage.objects.filter(is_archived=False).count() == 1


def test_admin_adds_a_stage_through_the_service(superuser_client: Client) -> None:
    data = {"slug": "renewal", "name": "Renewal", "phase": "delight", "position": 60}

    response = superuser_client.post(_url(Stage, "add"), {**data, "description": ""})

    assert response.status_code == 302
    assert Stage.objects.filter(slug="renewal", phase="delight", is_archived=False).exists()


def test_the_read_only_pages_show_a_record_of_each_kind(superuser_client: Client) -> None:
    customer = Customer.objects.order_by("pk").first()
    assert customer is not None
    suppression = Suppression.objects.create(channel="email", address="gone@example.com")
    consent = ConsentEvent.objects.create(
        customer=customer, channel="email", granted=True, method="import", occurred_at=now()
    )
    segment = Segment.objects.create(name="VIPs", kind="static", definition={})
    member = SegmentMember.objects.create(segment=segment, customer=customer)
    snapshot = AudienceSnapshot.objects.create(total=1, frozen_at=now())
    form = LeadForm.objects.create(name="Newsletter", slug="newsletter", fields=[])
    submission = Submission.objects.create(form=form, customer=customer, data={})
    template = MessageTemplate.objects.create(name="Hello", subject="Hi", body_text="Hi")
    message = OutboundMessage.objects.create(
        customer=customer, to=customer.email, subject="Hi", idempotency_key="k", message_id="m"
    )
    campaign = Campaign.objects.create(name="Spring", segment=segment, customer_ids=[customer.pk])
    variant = Variant.objects.create(
        campaign=campaign, name="A", split=100, subject="Hi", body_text="Hi"
    )
    recipient = Recipient.objects.create(
        campaign=campaign, customer=customer, variant=variant, message=message
    )
    tracking = TrackingEvent.objects.create(recipient=recipient, kind="open", occurred_at=now())
    provider = ProviderEvent.objects.create(event="delivered", message_ref="m", payload={})
    event = Event.objects.create(name="customer.created", payload={})
    records: list[Model] = [suppression, consent, segment, member, snapshot, form, submission]
    records += [template, message, campaign, variant, recipient, tracking, provider, event]
    records.append(Referral.objects.get())  # the fixture's customer was referred

    for record in records:
        model = type(record)
        page = superuser_client.get(_url(model, "change", record.pk))
        assert page.status_code == 200, model._meta.label
        assert superuser_client.get(_url(model, "changelist")).status_code == 200
