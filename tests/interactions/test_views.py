"""The sales and support pages: quick-log, the full form, tasks, purchases, the 360° page.

Through Django's test client against the real database, like tests/customers/test_views.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLES
from customers import views as customer_views
from customers.models import Customer
from interactions.models import (
    CaseState,
    Effect,
    Interaction,
    InteractionKind,
    Outcome,
    Purchase,
    Task,
    TaskState,
)
from interactions.services import interaction_log, purchase_record, task_create
from stages.services import customer_move_stage
from tests.permissions_doc import documented_may

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def role_may(role: str, permission: str) -> bool:
    """What the role matrix says: the one source of truth for the dashboard's permissions."""
    return documented_may(role, permission)


def detail_url(customer: Customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def log(customer: Customer, user: User | None, **kwargs) -> Interaction:
    kwargs.setdefault("kind", InteractionKind.CALL)
    kwargs.setdefault("summary", "Talked")
    return interaction_log(customer=customer, logged_by=user, **kwargs)


def local_input(when) -> str:
    """A date-time as `<input type="datetime-local">` sends it."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


# --- quick-log -----------------------------------------------------------------------------------


def test_customer_page_has_a_quick_log_form_defaulting_to_a_call(sales_rep, customer_factory):
    customer = customer_factory()

    response = client_for(sales_rep).get(detail_url(customer))

    html = response.content.decode()
    assert f'action="{reverse("interactions:quick_log", args=[customer.pk])}"' in html
    assert '<option value="call" selected>Call</option>' in html
    assert f'name="next" value="{detail_url(customer)}"' in html
    assert 'id="log_summary"' in html
    assert "autofocus" not in str(response.context["log_form"]["summary"])
    # Opened to log (?log), the summary has the focus: type and press Enter.
    focused = client_for(sales_rep).get(detail_url(customer), {"log": "1"})
    assert "autofocus" in str(focused.context["log_form"]["summary"])


def test_quick_log_records_the_interaction_as_the_user_and_goes_back(sales_rep, customer_factory):
    customer = customer_factory()
    assert customer.last_activity_at is None
    url = reverse("interactions:quick_log", args=[customer.pk])
    client = client_for(sales_rep)

    response = client.post(
        url,
        {
            "kind": "call",
            "outcome": "positive",
            "summary": "Wants a demo",
            "next": detail_url(customer),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    interaction = Interaction.objects.get(customer=customer)
    assert interaction.logged_by == sales_rep
    assert (interaction.kind, interaction.outcome, interaction.summary) == (
        "call",
        "positive",
        "Wants a demo",
    )
    assert (interaction.effect, interaction.weight) == (Effect.FORCE, 1)
    customer.refresh_from_db()
    assert customer.last_activity_at == interaction.occurred_at
    assert not Task.objects.filter(customer=customer).exists()
    page = client.get(response["Location"])
    assert any("Logged the call" in message for message in messages_of(page))


def test_quick_log_with_a_follow_up_creates_a_task_for_the_user(sales_rep, customer_factory):
    customer = customer_factory()
    due = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    response = client_for(sales_rep).post(
        reverse("interactions:quick_log", args=[customer.pk]),
        {
            "kind": "meeting",
            "outcome": "neutral",
            "summary": "Send the proposal",
            "follow_up_at": local_input(due),
        },
    )

    assert response.status_code == 302
    assert Interaction.objects.filter(customer=customer, kind="meeting").count() == 1
    task = Task.objects.get(customer=customer)
    assert task.due_at == due
    assert task.assignee == sales_rep
    assert task.created_by == sales_rep
    assert task.state == TaskState.OPEN
    assert "Send the proposal" in task.title


@pytest.mark.parametrize(
    "unsafe",
    [
        "http://evil.example/steal",
        "//evil.example/",
        "https://evil.example",
        "javascript:alert(1)",
    ],
)
def test_quick_log_ignores_a_next_that_leaves_the_site(sales_rep, customer_factory, unsafe):
    customer = customer_factory()

    response = client_for(sales_rep).post(
        reverse("interactions:quick_log", args=[customer.pk]),
        {"kind": "call", "outcome": "neutral", "summary": "Hi", "next": unsafe},
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)


def test_the_list_logs_per_row_and_comes_back_to_the_same_list(sales_rep, customer_factory):
    customer = customer_factory(email="row@example.com")
    client = client_for(sales_rep)
    listing = client.get(reverse("customers:list"), {"q": "row", "sort": "name"})
    quick = reverse("interactions:quick_log", args=[customer.pk])
    back = reverse("customers:list") + "?q=row&sort=name"

    assert f'href="{quick}?next=/customers/%3Fq%3Drow%26sort%3Dname"' in listing.content.decode()
    page = client.get(quick, {"next": back})
    assert page.status_code == 200
    assert "autofocus" in str(page.context["form"]["summary"])
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in page.content.decode()

    response = client.post(
        quick, {"kind": "email", "outcome": "no_answer", "summary": "Left a note", "next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    assert Interaction.objects.get(customer=customer).kind == "email"


def test_quick_log_errors_keep_the_input_and_log_nothing(sales_rep, customer_factory):
    customer = customer_factory()

    response = client_for(sales_rep).post(
        reverse("interactions:quick_log", args=[customer.pk]),
        {
            "kind": "meeting",
            "outcome": "complaint",
            "summary": "",
            "follow_up_at": "not a date",
            "next": detail_url(customer),
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"summary", "follow_up_at"}
    html = response.content.decode()
    assert '<option value="meeting" selected>' in html
    assert '<option value="complaint" selected>' in html
    assert 'value="not a date"' in html
    assert 'id="log_summary_error"' in html
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()


def test_a_follow_up_in_the_past_is_refused_with_nothing_logged(sales_rep, customer_factory):
    customer = customer_factory()

    response = client_for(sales_rep).post(
        reverse("interactions:quick_log", args=[customer.pk]),
        {"kind": "call", "outcome": "neutral", "summary": "Hi", "follow_up_at": "2020-01-01T09:00"},
    )

    assert response.status_code == 400
    assert "in the future" in response.context["form"].errors["follow_up_at"][0]
    assert not Interaction.objects.exists()


# --- the full form, editing, deleting, closing ---------------------------------------------------


def test_full_form_records_every_field_and_an_effect_override(sales_rep, customer_factory):
    customer = customer_factory()
    when = (timezone.now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    url = reverse("interactions:create", args=[customer.pk])
    page = client_for(sales_rep).get(url)
    assert page.status_code == 200
    assert "Default for a call with outcome “neutral”: neutral." in page.content.decode()

    response = client_for(sales_rep).post(
        url,
        {
            "kind": "call",
            "direction": "inbound",
            "channel": "phone",
            "occurred_at": local_input(when),
            "duration_minutes": "12",
            "summary": "Asked about pricing",
            "outcome": "positive",
            "effect": "force",
            "weight": "4",
        },
    )

    assert response.status_code == 302
    interaction = Interaction.objects.get(customer=customer)
    assert (interaction.direction, interaction.channel) == ("inbound", "phone")
    assert interaction.occurred_at == when
    assert interaction.duration_seconds == 12 * 60
    assert (interaction.effect, interaction.weight) == (Effect.FORCE, 4)
    assert interaction.logged_by == sales_rep


def test_full_form_with_an_empty_effect_takes_the_default(sales_rep, customer_factory):
    customer = customer_factory()

    client_for(sales_rep).post(
        reverse("interactions:create", args=[customer.pk]),
        {"kind": "support_case", "summary": "Broken", "outcome": "complaint", "effect": ""},
    )

    case = Interaction.objects.get(customer=customer)
    assert (case.effect, case.weight) == (Effect.FRICTION, 3)
    assert case.case_state == CaseState.OPEN


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"effect": "neutral", "weight": "3"}, "weight"),  # the service's rule
        ({"occurred_at": "2999-01-01T10:00"}, "occurred_at"),  # the service's rule
        ({"weight": "11"}, "weight"),
        ({"kind": "telepathy"}, "kind"),
        ({"duration_minutes": "-5"}, "duration_minutes"),
    ],
)
def test_full_form_shows_errors_on_their_field_and_keeps_the_input(
    sales_rep, customer_factory, overrides, field
):
    customer = customer_factory()
    data = {"kind": "call", "summary": "Kept summary", "outcome": "neutral", **overrides}

    response = client_for(sales_rep).post(reverse("interactions:create", args=[customer.pk]), data)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert "Kept summary" in response.content.decode()
    assert not Interaction.objects.exists()


def test_a_rep_edits_their_own_interaction(sales_rep, customer_factory):
    customer = customer_factory()
    interaction = log(customer, sales_rep, outcome=Outcome.POSITIVE, effect="friction", weight=2)
    url = reverse("interactions:update", args=[interaction.pk])
    form = client_for(sales_rep).get(url).context["form"]
    assert form["effect"].value() == "friction"  # an override shows as such
    assert form["weight"].value() == 2

    response = client_for(sales_rep).post(
        url,
        {
            "kind": "meeting",
            "summary": "Corrected",
            "outcome": "positive",
            "occurred_at": local_input(interaction.occurred_at),
            "effect": "",
        },
    )

    assert response.status_code == 302
    interaction.refresh_from_db()
    assert (interaction.kind, interaction.summary) == ("meeting", "Corrected")
    assert (interaction.effect, interaction.weight) == (Effect.FORCE, 2)  # the meeting default


def test_a_support_case_stays_a_support_case_when_edited(support, customer_factory):
    case = log(customer_factory(), support, kind=InteractionKind.SUPPORT_CASE)
    url = reverse("interactions:update", args=[case.pk])

    kinds = [
        value for value, _ in client_for(support).get(url).context["form"]["kind"].field.choices
    ]
    response = client_for(support).post(
        url, {"kind": "call", "summary": "x", "outcome": "neutral", "occurred_at": "2024-01-01"}
    )

    assert kinds == ["support_case"]
    assert response.status_code == 400
    assert "kind" in response.context["form"].errors


def test_a_rep_cannot_edit_or_delete_another_reps_interaction(
    make_user, sales_rep, customer_factory
):
    other = make_user("Sales rep", username="other-rep")
    interaction = log(customer_factory(), other, summary="Theirs")
    client = client_for(sales_rep)
    edit = reverse("interactions:update", args=[interaction.pk])
    delete = reverse("interactions:delete", args=[interaction.pk])

    responses = [
        client.get(edit),
        client.post(edit, {"kind": "call", "summary": "Mine now", "outcome": "neutral"}),
        client.get(delete),
        client.post(delete),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert "Not allowed" in responses[1].content.decode()
    interaction.refresh_from_db()
    assert interaction.summary == "Theirs"
    page = client.get(detail_url(interaction.customer)).content.decode()
    assert edit not in page
    assert delete not in page


def test_an_admin_edits_and_deletes_anyones_interaction(admin_user, sales_rep, customer_factory):
    interaction = log(customer_factory(), sales_rep, summary="Theirs")
    client = client_for(admin_user)
    edit = reverse("interactions:update", args=[interaction.pk])
    delete = reverse("interactions:delete", args=[interaction.pk])
    assert edit in client.get(detail_url(interaction.customer)).content.decode()

    edited = client.post(
        edit,
        {
            "kind": "call",
            "summary": "Fixed by admin",
            "outcome": "neutral",
            "occurred_at": local_input(interaction.occurred_at),
        },
    )
    assert edited.status_code == 302
    interaction.refresh_from_db()
    assert interaction.summary == "Fixed by admin"
    assert interaction.logged_by == sales_rep  # still theirs

    assert client.get(delete).status_code == 200
    deleted = client.post(delete)
    assert deleted.status_code == 302
    assert deleted["Location"] == detail_url(interaction.customer)
    assert not Interaction.objects.filter(pk=interaction.pk).exists()


def test_closing_a_support_case_from_its_timeline_entry(support, customer_factory):
    customer = customer_factory()
    case = log(customer, support, kind=InteractionKind.SUPPORT_CASE, outcome=Outcome.COMPLAINT)
    call = log(customer, support)
    close = reverse("interactions:close_case", args=[case.pk])
    client = client_for(support)
    html = client.get(detail_url(customer)).content.decode()
    assert f'action="{close}"' in html
    assert reverse("interactions:close_case", args=[call.pk]) not in html  # not a case

    response = client.post(close, {"outcome": "resolved", "next": detail_url(customer)})

    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    case.refresh_from_db()
    assert case.case_state == CaseState.CLOSED
    assert case.closed_at is not None
    assert (case.outcome, case.effect) == (Outcome.RESOLVED, Effect.FORCE)

    again = client.post(close, {"outcome": ""}, follow=True)
    assert again.status_code == 200
    assert "This support case is already closed." in messages_of(again)
    assert f'action="{close}"' not in again.content.decode()


def test_closing_a_case_keeps_its_outcome_unless_told(support, customer_factory):
    case = log(customer_factory(), support, kind=InteractionKind.SUPPORT_CASE)

    client_for(support).post(reverse("interactions:close_case", args=[case.pk]), {"outcome": ""})

    case.refresh_from_db()
    assert (case.case_state, case.outcome) == (CaseState.CLOSED, Outcome.NEUTRAL)


def test_another_users_case_cannot_be_closed_by_a_rep(sales_rep, support, customer_factory):
    case = log(customer_factory(), support, kind="support_case")

    response = client_for(sales_rep).post(reverse("interactions:close_case", args=[case.pk]))

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.case_state == CaseState.OPEN


def test_support_closes_a_case_a_colleague_or_an_integration_logged(
    make_user, support, customer_factory
):
    colleague_case = log(
        customer_factory(), make_user("Support", username="colleague"), kind="support_case"
    )
    integration_case = log(customer_factory(), None, kind="support_case")

    for case in (colleague_case, integration_case):
        response = client_for(support).post(reverse("interactions:close_case", args=[case.pk]))

        assert response.status_code == 302
        case.refresh_from_db()
        assert case.case_state == CaseState.CLOSED


# --- tasks ---------------------------------------------------------------------------------------


@pytest.fixture
def my_tasks(sales_rep, make_user, customer_factory) -> dict[str, Task]:
    """An overdue task, one due later today, one next week, and one of someone else's."""
    now = timezone.now()
    local = timezone.localtime(now)
    end_of_today = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    customer = customer_factory(first_name="Tess", last_name="Task")

    def task(title: str, due, assignee=sales_rep) -> Task:
        return task_create(customer=customer, title=title, due_at=due, assignee=assignee)

    return {
        "overdue": task("Call back", now - timedelta(days=2)),
        "today": task("Send quote", now + (end_of_today - now) / 2),
        "upcoming": task("Check in", now + timedelta(days=7)),
        "theirs": task("Not mine", now - timedelta(days=1), make_user("Sales rep", username="x")),
    }


def test_my_tasks_shows_overdue_today_and_upcoming(sales_rep, my_tasks):
    response = client_for(sales_rep).get(reverse("interactions:my_tasks"))

    assert response.status_code == 200
    sections = {
        s["key"]: [item["task"] for item in s["tasks"]] for s in response.context["sections"]
    }
    assert sections == {
        "overdue": [my_tasks["overdue"]],
        "today": [my_tasks["today"]],
        "upcoming": [my_tasks["upcoming"]],
    }
    html = response.content.decode()
    assert "Not mine" not in html
    assert '<span class="badge overdue">Overdue</span>' in html
    assert html.count('<span class="badge overdue">') == 1
    assert f'href="{detail_url(my_tasks["overdue"].customer)}">Tess Task</a>' in html
    assert reverse("interactions:task_done", args=[my_tasks["today"].pk]) in html
    assert 'aria-current="page">My tasks' in html


def test_the_navigation_counts_overdue_tasks(sales_rep, my_tasks):
    html = client_for(sales_rep).get(reverse("customers:list")).content.decode()

    assert 'My tasks <span class="nav-count">(1 overdue)</span>' in html


def test_done_is_one_click_and_a_second_click_is_an_error_not_a_500(sales_rep, my_tasks):
    task = my_tasks["overdue"]
    done = reverse("interactions:task_done", args=[task.pk])
    client = client_for(sales_rep)

    response = client.post(done, {"next": reverse("interactions:my_tasks")})

    assert response.status_code == 302
    assert response["Location"] == reverse("interactions:my_tasks")
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.completed_at is not None
    customer = Customer.objects.get(pk=task.customer_id)
    assert customer.last_activity_at == task.completed_at

    again = client.post(done, follow=True)
    assert again.status_code == 200
    assert "“Call back”: This task is already done." in messages_of(again)
    task.refresh_from_db()
    assert task.state == TaskState.DONE


def test_cancel_takes_the_task_off_the_list(sales_rep, my_tasks):
    task = my_tasks["upcoming"]

    response = client_for(sales_rep).post(
        reverse("interactions:task_cancel", args=[task.pk]), follow=True
    )

    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert "Check in" not in response.content.decode().split("</h1>", 1)[1].split("messages")[0]
    upcoming = next(s for s in response.context["sections"] if s["key"] == "upcoming")
    assert upcoming["tasks"] == []


def test_someone_elses_task_cannot_be_completed_by_a_rep(sales_rep, my_tasks):
    task = my_tasks["theirs"]

    response = client_for(sales_rep).post(reverse("interactions:task_done", args=[task.pk]))

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.OPEN


def test_create_a_task_from_the_customer_page(sales_rep, marketer, customer_factory):
    customer = customer_factory(owner=marketer)
    due = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    client = client_for(sales_rep)
    page = client.get(detail_url(customer)).content.decode()
    assert f'action="{reverse("interactions:task_create", args=[customer.pk])}"' in page

    response = client.post(
        reverse("interactions:task_create", args=[customer.pk]),
        {"title": "Send contract", "due_at": local_input(due), "assignee": "", "notes": "PDF"},
    )

    assert response.status_code == 302
    task = Task.objects.get(customer=customer)
    assert (task.title, task.due_at, task.notes) == ("Send contract", due, "PDF")
    assert task.assignee == marketer  # nobody chosen: the customer's owner
    assert task.created_by == sales_rep


@pytest.mark.parametrize("due", ["", "yesterday", "2020-01-01T09:00"])
def test_a_task_needs_a_due_time_ahead_and_keeps_the_title(sales_rep, customer_factory, due):
    customer = customer_factory()

    response = client_for(sales_rep).post(
        reverse("interactions:task_create", args=[customer.pk]), {"title": "Kept", "due_at": due}
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["due_at"]
    assert 'value="Kept"' in response.content.decode()
    assert not Task.objects.exists()


# --- purchases -----------------------------------------------------------------------------------


def test_a_first_purchase_is_recorded_and_moves_the_customer(sales_rep, customer_factory):
    customer = customer_factory(stage="evaluation")
    client = client_for(sales_rep)
    assert 'id="purchase-heading"' in client.get(detail_url(customer)).content.decode()

    response = client.post(
        reverse("interactions:purchase_create", args=[customer.pk]),
        {"amount": "1200.50", "currency": "EUR", "occurred_at": "", "description": "Pro plan"},
        follow=True,
    )

    assert response.status_code == 200
    purchase = Purchase.objects.get(customer=customer)
    assert (purchase.amount, purchase.currency, purchase.description) == (
        Decimal("1200.50"),
        "EUR",
        "Pro plan",
    )
    assert purchase.recorded_by == sales_rep
    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    assert any(
        "€1,200.50" in message and "moved to Purchase" in message
        for message in messages_of(response)
    )


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("abc", "EUR", "amount"),
        ("0", "EUR", "amount"),
        ("-5", "EUR", "amount"),
        ("12.345", "EUR", "amount"),
        ("", "EUR", "amount"),
        ("10", "XYZ", "currency"),
    ],
)
def test_a_bad_purchase_is_an_error_on_its_field(
    sales_rep, customer_factory, amount, currency, field
):
    customer = customer_factory()

    response = client_for(sales_rep).post(
        reverse("interactions:purchase_create", args=[customer.pk]),
        {"amount": amount, "currency": currency, "description": "Kept text"},
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert 'value="Kept text"' in response.content.decode()
    assert not Purchase.objects.exists()
    customer.refresh_from_db()
    assert customer.stage.slug == "awareness"


def test_the_currency_select_offers_common_currencies_first(sales_rep, customer_factory):
    customer = customer_factory()

    html = (
        client_for(sales_rep)
        .get(reverse("interactions:purchase_create", args=[customer.pk]))
        .content.decode()
    )

    common = html.index('<optgroup label="Common">')
    rest = html.index('<optgroup label="All currencies">')
    assert common < html.index('value="USD"') < rest < html.index('value="AED"')
    assert '<option value="EUR" selected>' in html


def test_support_has_no_purchase_form_and_cannot_post_one(support, customer_factory):
    assert not role_may("Support", "interactions.add_purchase")
    customer = customer_factory()
    url = reverse("interactions:purchase_create", args=[customer.pk])
    client = client_for(support)

    page = client.get(detail_url(customer)).content.decode()
    get = client.get(url)
    post = client.post(url, {"amount": "10", "currency": "EUR"})

    assert 'id="purchase-heading"' not in page
    assert url not in page
    assert (get.status_code, post.status_code) == (403, 403)
    assert not Purchase.objects.exists()


# --- the customer page: header and timeline ------------------------------------------------------


def test_the_header_shows_value_per_currency_activity_tasks_referrals_and_consent(
    sales_rep, customer_factory
):
    referrer = customer_factory(first_name="Rita", last_name="Ref")
    customer = customer_factory(
        first_name="Ann", last_name="Buyer", owner=sales_rep, referred_by=referrer
    )
    customer_factory(referred_by=customer)
    customer_factory(referred_by=customer)
    for amount, currency in (("1000", "EUR"), ("200", "EUR"), ("300", "USD")):
        purchase_record(
            customer=customer, amount=Decimal(amount), currency=currency, recorded_by=None
        )
    now = timezone.now()
    task_create(customer=customer, title="Late", due_at=now - timedelta(hours=1), assignee=None)
    task_create(customer=customer, title="Soon", due_at=now + timedelta(hours=1), assignee=None)
    Customer.objects.filter(pk=customer.pk).update(email_consent=True)

    response = client_for(sales_rep).get(detail_url(customer))

    value = response.context["value"]
    assert [(v["currency"], v["total"], v["count"]) for v in value["by_currency"]] == [
        ("EUR", "€1,200.00", 2),
        ("USD", "$300.00", 1),
    ]
    assert value["purchase_count"] == 3
    assert response.context["tasks"] == {"open": 2, "overdue": 1}
    header = response.content.decode().split('id="facts-heading"', 1)[1].split("</section>", 1)[0]
    assert '€1,200.00</strong> · <strong class="money">$300.00' in header
    assert "1,500" not in header  # currencies are never added together
    assert "3 purchases · average €600.00 · $300.00" in header
    assert '<span class="badge overdue">1 overdue</span>' in header
    assert "2 referred" in header
    assert customer.referral_code in header
    assert "Rita Ref" in header
    assert 'Email <span class="yes">yes</span> · SMS <span class="no">no</span>' in header
    assert "ago</time>" in header  # last activity
    assert "<strong>Purchase</strong>" in header  # moved by the first purchase


def test_timeline_entries_show_effect_transitions_purchases_and_tasks(
    sales_rep, customer_factory, stages
):
    customer = customer_factory()
    log(customer, sales_rep, outcome=Outcome.COMPLAINT, summary="Angry about delay")
    customer_move_stage(customer=customer, to_stage=stages["evaluation"], actor_kind="api")
    purchase_record(customer=customer, amount=Decimal("99"), currency="CHF", recorded_by=None)
    task_create(customer=customer, title="Apologise", due_at=timezone.now(), assignee=sales_rep)

    response = client_for(sales_rep).get(detail_url(customer))

    kinds = [row.entry.kind for row in response.context["timeline"]]
    assert set(kinds) == {"interaction", "transition", "purchase", "task"}
    html = response.content.decode()
    assert (
        '<span class="badge effect-friction" title="Effect on the wheel">Friction, weight 3</span>'
        in html
    )
    assert "Angry about delay" in html
    assert '<span class="badge direction-forward">Forward</span>' in html
    assert '<span class="money">99.00 CHF</span>' in html
    assert "Apologise" in html


def test_the_timeline_is_newest_first_and_paginated(sales_rep, customer_factory, monkeypatch):
    monkeypatch.setattr(customer_views, "TIMELINE_PAGE_SIZE", 3)
    customer = customer_factory(created_at=timezone.now() - timedelta(days=30))
    now = timezone.now()
    for n in range(6):
        log(customer, sales_rep, summary=f"call {n}", occurred_at=now - timedelta(days=n))
    client = client_for(sales_rep)

    def summaries(response) -> list[str]:
        return [
            getattr(row.entry.record, "summary", row.entry.kind)
            for row in response.context["timeline"]
        ]

    first = client.get(detail_url(customer))
    assert summaries(first) == ["call 0", "call 1", "call 2"]
    older = first.context["timeline_next"]
    assert f'href="?before={quote(older, safe="/")}#timeline"' in first.content.decode()

    second = client.get(detail_url(customer), {"before": older})
    assert summaries(second) == ["call 3", "call 4", "call 5"]
    third = client.get(detail_url(customer), {"before": second.context["timeline_next"]})
    assert summaries(third) == ["transition"]  # the entry, thirty days ago
    assert third.context["timeline_next"] is None
    html = third.content.decode()
    assert 'rel="next"' not in html
    assert "« Newest" in html


def test_a_mangled_timeline_link_shows_the_newest_entries(sales_rep, customer_factory):
    customer = customer_factory()

    response = client_for(sales_rep).get(detail_url(customer), {"before": "%%%not-a-cursor"})

    assert response.status_code == 200
    assert len(response.context["timeline"]) == 1
    assert "not valid" in response.content.decode()


def _history(customer: Customer, user, *, interactions: int, purchases: int, tasks: int) -> None:
    """Records of every kind, in bulk (the services are exercised elsewhere)."""
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind=InteractionKind.CALL if n % 3 else InteractionKind.SUPPORT_CASE,
            case_state="" if n % 3 else CaseState.OPEN,
            summary=f"interaction {n}",
            occurred_at=now - timedelta(minutes=2 * n + 1),
            effect=Effect.FORCE,
            weight=1,
            logged_by=user,
        )
        for n in range(interactions)
    )
    Purchase.objects.bulk_create(
        Purchase(
            customer=customer,
            amount=Decimal("10.00"),
            currency="EUR" if n % 2 else "USD",
            occurred_at=now - timedelta(minutes=2 * n + 2),
            recorded_by=user,
        )
        for n in range(purchases)
    )
    Task.objects.bulk_create(
        Task(
            customer=customer,
            title=f"task {n}",
            due_at=now + timedelta(days=n - 2),
            assignee=user,
            created_by=user,
        )
        for n in range(tasks)
    )


def test_the_customer_page_costs_the_same_queries_however_long_the_history(
    sales_rep, customer_factory, stages
):
    small, large = customer_factory(), customer_factory()
    for customer in (small, large):
        customer_move_stage(customer=customer, to_stage=stages["evaluation"], actor_kind="api")
    _history(small, sales_rep, interactions=2, purchases=1, tasks=1)
    _history(large, sales_rep, interactions=400, purchases=80, tasks=15)
    for customer_ in (small, large):
        for _ in range(3):
            customer_factory(referred_by=customer_)
    client = client_for(sales_rep)

    def queries(customer: Customer) -> tuple[int, set[str]]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(detail_url(customer))
        assert response.status_code == 200
        kinds = {row.entry.kind for row in response.context["timeline"]}
        return len(captured.captured_queries), kinds

    kinds_everywhere = {"interaction", "purchase", "task", "transition"}
    small_count, small_kinds = queries(small)
    large_count, large_kinds = queries(large)
    assert small_kinds == large_kinds == kinds_everywhere
    assert (
        Interaction.objects.filter(customer=large).count()
        + Purchase.objects.filter(customer=large).count()
        + Task.objects.filter(customer=large).count()
        > 490
    )
    assert large_count == small_count


# --- referrals -----------------------------------------------------------------------------------


def _customer_post(**overrides: str) -> dict[str, str]:
    data = {"email": "new@example.com", "stage": "awareness", "referral_code": ""}
    data.update(overrides)
    return data


def test_a_customer_created_with_a_referral_code_is_linked_to_the_referrer(
    sales_rep, customer_factory
):
    referrer = customer_factory(first_name="Rita", last_name="Ref")
    code = f"  {referrer.referral_code.lower()} "

    response = client_for(sales_rep).post(
        reverse("customers:create"), _customer_post(referral_code=code)
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="new@example.com")
    assert customer.referred_by == referrer
    page = client_for(sales_rep).get(detail_url(referrer)).content.decode()
    assert '<span class="referral-count">1 referred</span>' in page


def test_an_unknown_referral_code_is_an_error_on_that_field(sales_rep):
    response = client_for(sales_rep).post(
        reverse("customers:create"), _customer_post(referral_code="NOPE234567", first_name="Kept")
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["referral_code"]
    assert "Unknown referral code" in response.context["form"].errors["referral_code"][0]
    html = response.content.decode()
    assert 'value="NOPE234567"' in html
    assert 'value="Kept"' in html
    assert not Customer.objects.filter(email="new@example.com").exists()


def test_the_edit_form_has_no_referral_code(sales_rep, customer_factory):
    customer = customer_factory()

    form = (
        client_for(sales_rep).get(reverse("customers:update", args=[customer.pk])).context["form"]
    )

    assert "referral_code" not in form.fields


# --- permissions: the role matrix, as these pages apply it ---------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_pages_allow_what_the_role_matrix_allows(role, role_users, customer_factory):
    user = role_users[role]
    client = client_for(user)
    customer = customer_factory()
    may = {
        perm: role_may(role, f"interactions.{perm}")
        for perm in ("add_interaction", "add_task", "add_purchase", "view_task")
    }
    page = client.get(detail_url(customer)).content.decode()
    assert ('id="quick-log-heading"' in page) is may["add_interaction"]
    assert ('id="task-heading"' in page) is may["add_task"]
    assert ('id="purchase-heading"' in page) is may["add_purchase"]
    assert (reverse("interactions:my_tasks") in page) is may["view_task"]

    def expected(allowed: bool, success: int) -> int:
        return success if allowed else 403

    logged = client.post(
        reverse("interactions:quick_log", args=[customer.pk]),
        {"kind": "call", "outcome": "neutral", "summary": "Hello"},
    )
    assert logged.status_code == expected(may["add_interaction"], 302)
    tasked = client.post(
        reverse("interactions:task_create", args=[customer.pk]),
        {"title": "Later", "due_at": local_input(timezone.now() + timedelta(days=1))},
    )
    assert tasked.status_code == expected(may["add_task"], 302)
    bought = client.post(
        reverse("interactions:purchase_create", args=[customer.pk]),
        {"amount": "10", "currency": "EUR"},
    )
    assert bought.status_code == expected(may["add_purchase"], 302)
    assert Purchase.objects.filter(customer=customer).exists() is may["add_purchase"]
    tasks = client.get(reverse("interactions:my_tasks"))
    assert tasks.status_code == expected(may["view_task"], 200)


def test_a_user_without_a_role_is_refused_everywhere(make_user, customer_factory):
    customer = customer_factory()
    interaction = log(customer, None)
    client = client_for(make_user(None, username="nobody"))

    for url in (
        reverse("interactions:quick_log", args=[customer.pk]),
        reverse("interactions:create", args=[customer.pk]),
        reverse("interactions:update", args=[interaction.pk]),
        reverse("interactions:my_tasks"),
        reverse("interactions:task_create", args=[customer.pk]),
        reverse("interactions:purchase_create", args=[customer.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert not Interaction.objects.exclude(pk=interaction.pk).exists()


@pytest.mark.parametrize("name", ["quick_log", "create", "task_create", "purchase_create"])
def test_pages_redirect_to_login(client: Client, customer_factory, name):
    url = reverse(f"interactions:{name}", args=[customer_factory().pk])

    response = client.post(url, {"summary": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Interaction.objects.exists()


# --- the admin site: writes go through the services ----------------------------------------------


@pytest.fixture
def superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pass-word-123")
    return client_for(user)


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:interactions_{model._meta.model_name}_{view}", args=args)


def test_admin_pages_load_with_records(superuser_client, sales_rep, customer_factory):
    customer = customer_factory()
    interaction = log(customer, sales_rep, kind=InteractionKind.SUPPORT_CASE)
    task = task_create(customer=customer, title="T", due_at=timezone.now(), assignee=sales_rep)
    purchase, _ = purchase_record(
        customer=customer, amount=Decimal("5"), currency="EUR", recorded_by=None
    )

    for model, pk in ((Interaction, interaction.pk), (Task, task.pk), (Purchase, purchase.pk)):
        assert superuser_client.get(_admin_url(model, "changelist")).status_code == 200
        assert superuser_client.get(_admin_url(model, "add")).status_code == 200
        assert superuser_client.get(_admin_url(model, "change", pk)).status_code == 200


def test_admin_adds_an_interaction_through_the_service(superuser_client, customer_factory):
    customer = customer_factory()
    data = {
        "customer": str(customer.pk),
        "kind": "meeting",
        "direction": "",
        "channel": "",
        "occurred_at_0": "2024-05-01",
        "occurred_at_1": "10:00:00",
        "duration_seconds": "",
        "summary": "Kick-off",
        "outcome": "positive",
        "effect": "",
        "weight": "",
    }

    response = superuser_client.post(_admin_url(Interaction, "add"), data)

    assert response.status_code == 302
    interaction = Interaction.objects.get(customer=customer)
    assert (interaction.effect, interaction.weight) == (Effect.FORCE, 2)
    assert interaction.logged_by is not None
    assert interaction.logged_by.username == "root"
    customer.refresh_from_db()
    assert customer.last_activity_at == interaction.occurred_at

    bad = superuser_client.post(
        _admin_url(Interaction, "add"), {**data, "effect": "neutral", "weight": "2"}
    )
    assert bad.status_code == 200
    assert "weight" in bad.context["adminform"].form.errors


def test_admin_records_a_purchase_through_the_service(superuser_client, customer_factory):
    customer = customer_factory()
    data = {
        "customer": str(customer.pk),
        "amount": "49.90",
        "currency": "usd",
        "occurred_at_0": "2024-05-01",
        "occurred_at_1": "10:00:00",
        "description": "",
        "source": "shop",
        "external_id": "A-1",
    }

    response = superuser_client.post(_admin_url(Purchase, "add"), data)

    assert response.status_code == 302
    purchase = Purchase.objects.get(customer=customer)
    assert purchase.recorded_by is not None
    assert (purchase.currency, purchase.recorded_by.username) == ("USD", "root")
    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    again = superuser_client.post(_admin_url(Purchase, "add"), data)
    assert again.status_code == 200  # the same order by hand is a mistake worth showing
    assert again.context["adminform"].form.errors == {
        "external_id": ["Order 'A-1' from 'shop' is already recorded."]
    }
    assert Purchase.objects.count() == 1

    future = superuser_client.post(
        _admin_url(Purchase, "add"), {**data, "external_id": "A-2", "occurred_at_0": "2999-01-01"}
    )
    assert future.status_code == 200
    assert "occurred_at" in future.context["adminform"].form.errors


def test_admin_task_actions_go_through_the_services(superuser_client, sales_rep, customer_factory):
    customer = customer_factory()
    task = task_create(customer=customer, title="T", due_at=timezone.now(), assignee=sales_rep)

    response = superuser_client.post(
        _admin_url(Task, "changelist"),
        {"action": "complete_tasks", "_selected_action": [str(task.pk)]},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert superuser_client.get(_admin_url(Task, "change", task.pk)).status_code == 200
