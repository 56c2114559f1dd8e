"""The customer dashboard, through Django's test client against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLES
from customers import views
from customers.models import Customer
from stages.models import ActorKind, Direction, StageTransition
from stages.services import customer_move_stage
from tests.permissions_doc import DOCUMENTED_GRANTS, documented_may

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def role_may(role: str, permission: str) -> bool:
    """What the role matrix says: the one source of truth for the dashboard's permissions."""
    return documented_may(role, permission)


def listed(response) -> list[str]:
    """The emails of the customers on the page, in order."""
    return [customer.email for customer in response.context["page"].object_list]


def customer_form_data(**overrides: str) -> dict[str, str]:
    data = {
        "email": "new.person@example.com",
        "first_name": "New",
        "last_name": "Person",
        "phone": "+1 555 0100",
        "company": "Initrode",
        "owner": "",
        "stage": "evaluation",
        "source": "webinar",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "utm_term": "",
        "utm_content": "",
        "tags": "VIP, trial , vip",
        "attributes": '{"plan": "pro", "seats": 12}',
        "email_consent": "on",
        "referred_by": "",
    }
    data.update(overrides)
    return data


# --- logging in and out ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list", "create"])
def test_pages_without_an_id_redirect_to_login(client: Client, name: str) -> None:
    url = reverse(f"customers:{name}")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("name", ["detail", "update", "delete"])
def test_customer_pages_redirect_to_login(client: Client, customer_factory, name: str) -> None:
    customer = customer_factory()
    url = reverse(f"customers:{name}", args=[customer.pk])

    get = client.get(url)
    post = client.post(url, {"to_stage": "evaluation"})

    assert get.status_code == post.status_code == 302
    assert get["Location"].startswith(reverse("login"))
    assert Customer.objects.filter(pk=customer.pk, stage__slug="awareness").exists()


def test_login_then_logout(client: Client, sales_rep) -> None:
    response = client.post(reverse("login"), {"username": "sales-rep", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")  # the wheel
    assert client.get(reverse("home")).status_code == 200

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("customers:list")).status_code == 302


def test_login_with_a_wrong_password_shows_an_error(client: Client, sales_rep) -> None:
    response = client.post(reverse("login"), {"username": "sales-rep", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_user_without_a_role_sees_the_403_page(make_user) -> None:
    response = client_for(make_user(None, username="nobody")).get(reverse("customers:list"))

    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_the_active_section_is_marked_in_the_navigation(sales_rep) -> None:
    html = client_for(sales_rep).get(reverse("customers:list")).content.decode()

    assert 'aria-current="page">Customers</a>' in html


# --- the list: filters, sorting, count -----------------------------------------------------------


@pytest.fixture
def three_customers(customer_factory, sales_rep, marketer) -> dict[str, Customer]:
    """Three customers that differ in every filtered property."""
    return {
        "ann": customer_factory(
            email="ann@example.com",
            first_name="Ann",
            last_name="Archer",
            company="Acme",
            stage="awareness",
            owner=sales_rep,
            tags=["vip"],
            created_at=datetime(2024, 1, 10, 12, tzinfo=UTC),
        ),
        "bob": customer_factory(
            email="bob@example.com",
            first_name="Bob",
            last_name="Baker",
            company="Globex",
            stage="purchase",
            owner=marketer,
            tags=["trial"],
            created_at=datetime(2024, 3, 10, 12, tzinfo=UTC),
        ),
        "cid": customer_factory(
            email="cid@example.com",
            first_name="Cid",
            last_name="Cole",
            company="Initech",
            stage="advocacy",
            tags=["vip", "trial"],
            created_at=datetime(2024, 6, 10, 12, tzinfo=UTC),
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"ann", "bob", "cid"}),
        ({"stage": "purchase"}, {"bob"}),
        ({"phase": "delight"}, {"cid"}),
        ({"owner": "sales-rep"}, {"ann"}),
        ({"tag": "VIP"}, {"ann", "cid"}),
        ({"created_after": "2024-02-01"}, {"bob", "cid"}),
        ({"created_before": "2024-04-01"}, {"ann", "bob"}),
        ({"created_after": "2024-02-01", "created_before": "2024-04-01"}, {"bob"}),
        ({"q": "globex"}, {"bob"}),
        ({"q": "cole"}, {"cid"}),
        ({"phase": "attract", "tag": "trial"}, set()),
    ],
)
def test_list_filters_filter(sales_rep, three_customers, params, expected) -> None:
    if "owner" in params:
        params = {**params, "owner": str(sales_rep.pk)}

    response = client_for(sales_rep).get(reverse("customers:list"), params)

    assert response.status_code == 200
    assert set(listed(response)) == {three_customers[name].email for name in expected}
    assert response.context["page"].paginator.count == len(expected)


def test_list_shows_the_count_phase_badges_and_date_inputs(sales_rep, three_customers) -> None:
    html = client_for(sales_rep).get(reverse("customers:list")).content.decode()

    assert "<strong>3</strong> customers" in html
    assert '<span class="phase phase-delight">Delight</span>' in html
    assert 'type="date" name="created_after"' in html
    assert 'type="date" name="created_before"' in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "no-such-stage"}, "stage"),
        ({"phase": "sideways"}, "phase"),
        ({"owner": "abc"}, "owner"),
        ({"created_after": "last tuesday"}, "created_after"),
        ({"created_before": "2024-13-45"}, "created_before"),
    ],
)
def test_an_invalid_filter_shows_an_error_on_its_field(
    sales_rep, three_customers, params, field
) -> None:
    response = client_for(sales_rep).get(reverse("customers:list"), params)

    assert response.status_code == 400
    assert field in response.context["filter"].form.errors
    assert listed(response) == []
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert f'aria-describedby="id_{field}_error"' in html


def test_an_unknown_stage_in_the_filter_is_named_in_the_error(sales_rep) -> None:
    response = client_for(sales_rep).get(reverse("customers:list"), {"stage": "nope"})

    assert response.context["filter"].form.errors["stage"] == ["There is no stage 'nope'."]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["cid", "bob", "ann"]),  # newest first by default
        ("created", ["ann", "bob", "cid"]),
        ("-created", ["cid", "bob", "ann"]),
        ("name", ["ann", "bob", "cid"]),
        ("-name", ["cid", "bob", "ann"]),
        ("-email", ["cid", "bob", "ann"]),
        ("stage_entered", ["ann", "bob", "cid"]),
        ("-last_activity", ["bob", "ann", "cid"]),  # never active comes last
        ("last_activity", ["ann", "bob", "cid"]),
        ("password", ["cid", "bob", "ann"]),  # not in the whitelist: the default
    ],
)
def test_list_sorts_by_whitelisted_columns(sales_rep, three_customers, sort, expected) -> None:
    now = timezone.now()
    Customer.objects.filter(pk=three_customers["ann"].pk).update(
        last_activity_at=now - timedelta(days=2)
    )
    Customer.objects.filter(pk=three_customers["bob"].pk).update(
        last_activity_at=now - timedelta(days=1)
    )
    params = {"sort": sort} if sort else {}

    response = client_for(sales_rep).get(reverse("customers:list"), params)

    assert response.status_code == 200
    assert listed(response) == [three_customers[name].email for name in expected]


def test_sort_headers_toggle_and_keep_the_filters(sales_rep, three_customers) -> None:
    client = client_for(sales_rep)

    response = client.get(reverse("customers:list"), {"tag": "vip", "sort": "name", "page": "1"})
    headers = response.context["headers"]

    assert headers["name"]["url"] == "?tag=vip&sort=-name"
    assert headers["name"]["aria_sort"] == "ascending"
    assert headers["created"]["url"] == "?tag=vip&sort=-created"  # dates start newest first
    assert headers["email"]["url"] == "?tag=vip&sort=email"
    assert headers["email"]["aria_sort"] == ""
    assert 'aria-sort="ascending"' in response.content.decode()

    toggled = client.get(reverse("customers:list") + headers["name"]["url"])
    assert listed(toggled) == [three_customers["cid"].email, three_customers["ann"].email]
    assert toggled.context["headers"]["name"]["url"] == "?tag=vip&sort=name"


def test_pagination_links_keep_filters_and_sort(sales_rep, three_customers, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client = client_for(sales_rep)

    first = client.get(reverse("customers:list"), {"sort": "name", "q": "example"})
    html = first.content.decode()

    assert listed(first) == [three_customers["ann"].email, three_customers["bob"].email]
    assert 'href="?sort=name&amp;q=example&amp;page=2"' in html
    second = client.get(reverse("customers:list"), {"sort": "name", "q": "example", "page": "2"})
    assert listed(second) == [three_customers["cid"].email]
    assert 'href="?sort=name&amp;q=example&amp;page=1"' in second.content.decode()


# --- creating --------------------------------------------------------------------------------


def test_create_makes_a_customer_entered_by_the_user(sales_rep, customer_factory) -> None:
    referrer = customer_factory(email="Referrer@Example.com")
    data = customer_form_data(owner=str(sales_rep.pk), referred_by="referrer@example.com")

    response = client_for(sales_rep).post(reverse("customers:create"), data)

    customer = Customer.objects.get(email="new.person@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.stage.slug == "evaluation"
    assert customer.owner == sales_rep
    assert customer.tags == ["vip", "trial"]
    assert customer.attributes == {"plan": "pro", "seats": 12}
    assert customer.email_consent is True
    assert customer.email_consent_at is not None
    assert customer.sms_consent is False
    assert customer.referred_by == referrer
    assert (customer.source, customer.utm_source, customer.utm_campaign) == (
        "webinar",
        "newsletter",
        "spring",
    )
    [entry] = StageTransition.objects.filter(customer=customer)
    assert entry.direction == Direction.ENTRY
    assert entry.actor_kind == ActorKind.USER
    assert entry.actor_user == sales_rep


def test_create_form_offers_live_stages_with_awareness_first(sales_rep, stages) -> None:
    stages["purchase"].is_archived = True
    stages["purchase"].save()

    response = client_for(sales_rep).get(reverse("customers:create"))

    form = response.context["form"]
    assert response.status_code == 200
    assert form["stage"].value() == "awareness"
    assert "purchase" not in [stage.slug for stage in form.fields["stage"].queryset]


def test_create_with_a_duplicate_email_keeps_the_input(sales_rep, customer_factory) -> None:
    customer_factory(email="taken@example.com")
    customers, transitions = Customer.objects.count(), StageTransition.objects.count()
    data = customer_form_data(email="TAKEN@Example.com", company="Kept Company Ltd")

    response = client_for(sales_rep).post(reverse("customers:create"), data)

    assert response.status_code == 400
    assert "already exists" in response.context["form"].errors["email"][0]
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    for kept in ('value="TAKEN@Example.com"', 'value="Kept Company Ltd"', "VIP, trial , vip"):
        assert kept in html
    assert "&quot;plan&quot;: &quot;pro&quot;" in html
    assert '<option value="evaluation" selected>' in html
    assert (Customer.objects.count(), StageTransition.objects.count()) == (customers, transitions)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("{plan: pro}", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ('{"a": "\\u0000"}', "Null characters"),
    ],
)
def test_create_rejects_attributes_that_are_not_a_json_object(
    sales_rep, attributes, message
) -> None:
    response = client_for(sales_rep).post(
        reverse("customers:create"), customer_form_data(attributes=attributes)
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["attributes"]
    assert message in response.context["form"].errors["attributes"][0]
    assert not Customer.objects.filter(email="new.person@example.com").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"referred_by": "stranger@example.com"}, "referred_by"),
        ({"stage": "no-such-stage"}, "stage"),
        ({"owner": "999999"}, "owner"),
        ({"tags": "x" * 51}, "tags"),
    ],
)
def test_create_shows_an_error_on_the_field_at_fault(sales_rep, overrides, field) -> None:
    response = client_for(sales_rep).post(
        reverse("customers:create"), customer_form_data(**overrides)
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert Customer.objects.count() == 0


# --- editing ---------------------------------------------------------------------------------


def test_edit_form_shows_the_current_values(sales_rep, customer_factory) -> None:
    referrer = customer_factory(email="referrer@example.com")
    customer = customer_factory(
        tags=["vip", "trial"], attributes={"plan": "pro"}, referred_by=referrer
    )

    response = client_for(sales_rep).get(reverse("customers:update", args=[customer.pk]))

    form = response.context["form"]
    assert response.status_code == 200
    assert form["email"].value() == customer.email
    assert form["tags"].value() == "vip, trial"
    assert form["referred_by"].value() == "referrer@example.com"
    assert '"plan": "pro"' in form["attributes"].value()
    assert "stage" not in form.fields  # a stage changes only by a move


def test_edit_updates_the_customer(support, customer_factory) -> None:
    customer = customer_factory(email="old@example.com")
    data = customer_form_data(
        email="New@Example.com", tags="gold", attributes="", sms_consent="on", stage=""
    )

    response = client_for(support).post(reverse("customers:update", args=[customer.pk]), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "New@Example.com"
    assert customer.first_name == "New"
    assert customer.tags == ["gold"]
    assert customer.attributes == {}
    assert customer.sms_consent is True
    assert customer.sms_consent_at is not None
    assert customer.stage.slug == "awareness"  # unchanged, whatever was posted
    assert StageTransition.objects.filter(customer=customer).count() == 1


def test_edit_to_another_customers_email_is_an_error_on_email(sales_rep, customer_factory) -> None:
    customer_factory(email="taken@example.com")
    customer = customer_factory(email="mine@example.com")

    response = client_for(sales_rep).post(
        reverse("customers:update", args=[customer.pk]),
        customer_form_data(email="Taken@example.com"),
    )

    assert response.status_code == 400
    assert "already exists" in response.context["form"].errors["email"][0]
    customer.refresh_from_db()
    assert customer.email == "mine@example.com"


def test_edit_refusing_self_referral_shows_the_service_error(sales_rep, customer_factory) -> None:
    customer = customer_factory(email="me@example.com")

    response = client_for(sales_rep).post(
        reverse("customers:update", args=[customer.pk]),
        customer_form_data(email="me@example.com", referred_by="ME@example.com"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["referred_by"] == ["A customer cannot refer themselves."]


# --- the customer page and moving -------------------------------------------------------------


def test_customer_page_shows_stage_time_in_stage_referrals_and_history(
    sales_rep, customer_factory
) -> None:
    referrer = customer_factory(email="referrer@example.com", first_name="Rita", last_name="Ref")
    customer = customer_factory(
        email="ann@example.com",
        referred_by=referrer,
        created_at=timezone.now() - timedelta(days=12, hours=3),
    )
    referred = customer_factory(email="friend@example.com", referred_by=customer)

    html = (
        client_for(sales_rep).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    )

    assert "Awareness" in html
    assert '<span class="phase phase-attract">Attract</span>' in html
    assert ">12 days</time>" in html
    assert f'href="{reverse("customers:detail", args=[referrer.pk])}">Rita Ref</a>' in html
    assert "1 customer:" in html
    assert f'href="{reverse("customers:detail", args=[referred.pk])}"' in html


def test_history_is_on_the_timeline_newest_first_with_direction_badges(
    sales_rep, customer_factory, stages
) -> None:
    customer = customer_factory()
    customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind="api")
    customer_move_stage(customer=customer, to_stage=stages["evaluation"], actor_kind="api")

    response = client_for(sales_rep).get(reverse("customers:detail", args=[customer.pk]))

    moves = [row.entry.record for row in response.context["timeline"]]
    assert [t.direction for t in moves] == [
        Direction.BACKWARD,
        Direction.SKIP,
        Direction.ENTRY,
    ]
    assert '<span class="badge direction-backward">Backward</span>' in response.content.decode()


def test_move_form_moves_the_customer_as_the_user(sales_rep, customer_factory) -> None:
    customer = customer_factory()
    url = reverse("customers:detail", args=[customer.pk])
    select = str(client_for(sales_rep).get(url).context["move_form"]["to_stage"])
    assert 'value="awareness"' not in select  # the current stage is not offered
    assert 'value="evaluation"' in select

    response = client_for(sales_rep).post(url, {"to_stage": "evaluation", "reason": "Demo booked"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.stage.slug == "evaluation"
    move = StageTransition.objects.filter(customer=customer).latest("id")
    assert move.from_stage is not None
    assert (move.from_stage.slug, move.to_stage.slug) == ("awareness", "evaluation")
    assert move.actor_kind == ActorKind.USER
    assert move.actor_user == sales_rep
    assert move.reason == "Demo booked"


def test_a_stale_move_to_the_current_stage_is_a_form_error(sales_rep, customer_factory) -> None:
    customer = customer_factory()
    transitions = StageTransition.objects.count()

    response = client_for(sales_rep).post(
        reverse("customers:detail", args=[customer.pk]), {"to_stage": "awareness"}
    )

    assert response.status_code == 400
    assert "already in Awareness" in response.context["move_form"].errors["to_stage"][0]
    assert 'id="id_to_stage_error"' in response.content.decode()
    assert StageTransition.objects.count() == transitions
    customer.refresh_from_db()
    assert customer.stage.slug == "awareness"


def test_a_move_to_an_archived_stage_is_a_form_error(sales_rep, customer_factory, stages) -> None:
    customer = customer_factory()
    stages["purchase"].is_archived = True
    stages["purchase"].save()

    response = client_for(sales_rep).post(
        reverse("customers:detail", args=[customer.pk]), {"to_stage": "purchase"}
    )

    assert response.status_code == 400
    assert response.context["move_form"].errors["to_stage"]
    assert StageTransition.objects.filter(customer=customer).count() == 1


def test_unknown_customer_is_a_404(sales_rep) -> None:
    response = client_for(sales_rep).get(reverse("customers:detail", args=[999999]))

    assert response.status_code == 404
    assert "Not found" in response.content.decode()


# --- deleting --------------------------------------------------------------------------------


def test_delete_asks_for_confirmation_then_deletes_on_post(admin_user, customer_factory) -> None:
    customer = customer_factory(email="gone@example.com")
    url = reverse("customers:delete", args=[customer.pk])
    client = client_for(admin_user)

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "gone@example.com" in confirm.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:list")
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not StageTransition.objects.filter(customer_id=customer.pk).exists()


# --- permissions: the role matrix, as the dashboard applies it --------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_allows_what_the_role_matrix_allows(role, role_users, customer_factory) -> None:
    client = client_for(role_users[role])
    customer = customer_factory(email="someone@example.com")
    detail = reverse("customers:detail", args=[customer.pk])
    edit = reverse("customers:update", args=[customer.pk])
    delete = reverse("customers:delete", args=[customer.pk])
    may = {name: role_may(role, f"customers.{name}_customer") for name in PERMISSION_SUFFIXES}

    def expected(allowed: bool, success: int) -> int:
        return success if allowed else 403

    listing = client.get(reverse("customers:list"))
    assert listing.status_code == expected(may["view"], 200)
    page = client.get(detail)
    assert page.status_code == expected(may["view"], 200)
    if may["view"]:
        list_html, page_html = listing.content.decode(), page.content.decode()
        assert (reverse("customers:create") in list_html) is may["add"]
        assert (edit in page_html) is may["change"]
        assert (delete in page_html) is may["delete"]
        assert ('id="move-heading"' in page_html) is may["move"]

    assert client.get(reverse("customers:create")).status_code == expected(may["add"], 200)
    created = client.post(reverse("customers:create"), customer_form_data())
    assert created.status_code == expected(may["add"], 302)
    assert Customer.objects.filter(email="new.person@example.com").exists() is may["add"]

    assert client.get(edit).status_code == expected(may["change"], 200)
    edited = client.post(edit, customer_form_data(email="someone@example.com", company="Edited"))
    assert edited.status_code == expected(may["change"], 302)
    assert Customer.objects.filter(pk=customer.pk, company="Edited").exists() is may["change"]

    moved = client.post(detail, {"to_stage": "evaluation"})
    assert moved.status_code == expected(may["move"], 302)
    assert Customer.objects.filter(pk=customer.pk, stage__slug="evaluation").exists() is may["move"]

    assert client.get(delete).status_code == expected(may["delete"], 200)
    deleted = client.post(delete)
    assert deleted.status_code == expected(may["delete"], 302)
    assert Customer.objects.filter(pk=customer.pk).exists() is not may["delete"]
    for response in (created, edited, moved, deleted):
        if response.status_code == 403:
            assert "Not allowed" in response.content.decode()


PERMISSION_SUFFIXES = ("view", "add", "change", "delete", "move")


def test_the_matrix_covers_every_permission_the_dashboard_checks() -> None:
    for suffix in PERMISSION_SUFFIXES:
        assert f"customers.{suffix}_customer" in DOCUMENTED_GRANTS
