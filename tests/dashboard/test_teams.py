"""The team pages (dashboard/views/teams.py): who may open them, and that the numbers on
them are the records behind them, for the period, segment and owner in the URL.

Each page is also held to a fixed number of queries whatever the number of rows: a query
per row would grow with the data.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from dashboard.filters import DashboardFilters
from dashboard.links import drill_url
from interactions.models import InteractionKind, Outcome
from interactions.services import interaction_log, task_create
from segments.models import Segment, SegmentKind, SegmentMember
from stages.models import ActorKind
from stages.services import customer_move_stage
from surveys.models import InvitationSource, Survey
from surveys.services import survey_answer, survey_invite

pytestmark = pytest.mark.django_db

PAGES = {
    "marketing": "campaigns.view_campaign",
    "sales": "interactions.view_task",
    "support": "surveys.view_survey",
}
# What each page costs (session, user, permissions, the filter bar's choices, the navigation's
# badge, then its blocks), with a margin of 2: each test lists at least 3 rows in a block, so
# a query per row would go over.
MAX_QUERIES = {"marketing": 17 + 2, "sales": 25 + 2, "support": 12 + 2}


def page(client, user, name, **params):
    client.force_login(user)
    return get(client, name, **params)


def get(client, name, **params):
    return client.get(reverse(f"dashboard:{name}"), params)


def text(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    html = response.content.decode()
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def link_to(response, url: str) -> str | None:
    """The text of the link to `url` on the page, if there is one."""
    html = response.content.decode()
    match = re.search(rf'<a href="{re.escape(url.replace("&", "&amp;"))}"[^>]*>([^<]*)</a>', html)
    return match.group(1) if match else None


def period(days: int = 30) -> DashboardFilters:
    end = timezone.now().date()
    start = end - timedelta(days=days - 1)
    return DashboardFilters(start=start, end=end, granularity="day")


def test_each_page_opens_for_every_role_with_its_permission_and_not_without(
    client, role_users, make_user
):
    nobody = make_user(None, username="no-role")
    for name, permission in PAGES.items():
        for role, user in role_users.items():
            assert user.has_perm(permission), (role, permission)
            response = page(client, user, name)
            assert response.status_code == 200, (name, role)
            assert 'aria-current="page"' in response.content.decode()
        assert page(client, nobody, name).status_code == 403, name
    client.logout()
    assert client.get(reverse("dashboard:sales")).status_code == 302


def test_marketing_counts_new_customers_by_source_and_how_far_they_got(
    client, marketer, customer_factory, stages, django_assert_max_num_queries
):
    ads = [customer_factory(source="ads", utm_source="google") for _ in range(3)]
    customer_factory(source="ads", utm_source="bing")
    customer_factory(source="")
    old = customer_factory(source="ads")
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=90))
    customer_move_stage(customer=ads[0], to_stage=stages["evaluation"], actor_kind=ActorKind.API)
    customer_move_stage(customer=ads[1], to_stage=stages["post_purchase"], actor_kind=ActorKind.API)
    listed = Segment.objects.create(name="VIPs", kind=SegmentKind.STATIC)
    SegmentMember.objects.create(segment=listed, customer=ads[2])

    client.force_login(marketer)
    with django_assert_max_num_queries(MAX_QUERIES["marketing"]):
        response = get(client, "marketing")

    assert response.status_code == 200
    filters = period()
    assert link_to(response, drill_url(filters, "source", source="ads")) == "4"
    assert link_to(response, drill_url(filters, "source")) == "1"  # no source
    row = re.search(r"ads</th>(.*?)</tr>", response.content.decode(), re.S)
    assert row is not None
    assert re.findall(r'class="num">(?:<a[^>]*>)?(\d+%?|—)', row.group(1)) == [
        "4",
        "1",
        "1",
        "50%",
    ]
    assert 'aria-label="4 customers created between' in response.content.decode()
    # Every count of a source links to its customers: now in Engage, by UTM source.
    engaged = drill_url(filters, "source", source="ads", phase="engage")
    assert link_to(response, engaged) == "1"
    assert (
        link_to(response, drill_url(filters, "source", source="google", field="utm_source")) == "3"
    )
    listed_page = client.get(engaged)
    assert listed_page.status_code == 200
    assert ads[0].email in listed_page.content.decode()
    assert ads[1].email not in listed_page.content.decode()
    assert link_to(response, reverse("segments:detail", args=[listed.pk])) in ("VIPs", "1")
    assert "No campaign started" in text(response)

    # The segment in the URL restricts the sources to its customers.
    segment_page = page(client, marketer, "marketing", segment=listed.pk)
    segmented = replace_filters(filters, segment=listed)
    assert link_to(segment_page, drill_url(segmented, "source", source="ads")) == "1"
    # A longer period takes in the older customer.
    long = page(client, marketer, "marketing", start=filters.end - timedelta(days=119))
    longer = DashboardFilters(
        start=filters.end - timedelta(days=119), end=filters.end, granularity="week"
    )
    assert link_to(long, drill_url(longer, "source", source="ads")) == "5"


def replace_filters(filters: DashboardFilters, **changes) -> DashboardFilters:
    from dataclasses import replace

    return replace(filters, **changes)


def test_a_bad_filter_value_is_a_form_error_on_a_working_page(client, support):
    for name in PAGES:
        response = page(client, support, name, start="last tuesday", owner="999999")
        assert response.status_code == 200
        assert "Enter a date as YYYY-MM-DD." in text(response)
        assert "There is no such owner." in text(response)


def test_sales_shows_my_pipeline_and_tasks_and_a_rep_for_a_manager(
    client, sales_rep, admin_user, customer_factory, stages, django_assert_max_num_queries
):
    now = timezone.now()
    mine = [customer_factory(owner=sales_rep, stage="evaluation") for _ in range(2)]
    customer_factory(owner=sales_rep, stage="purchase")
    customer_factory(owner=admin_user, stage="evaluation")
    task_create(
        customer=mine[0], title="Send the quote", due_at=now - timedelta(days=2), assignee=sales_rep
    )
    task_create(customer=mine[1], title="Demo", due_at=now + timedelta(days=3), assignee=sales_rep)
    task_create(
        customer=mine[1], title="Renewal", due_at=now + timedelta(days=20), assignee=sales_rep
    )
    interaction_log(
        customer=mine[0],
        kind=InteractionKind.CALL,
        outcome=Outcome.POSITIVE,
        summary="Talked pricing",
        logged_by=sales_rep,
    )

    client.force_login(sales_rep)
    with django_assert_max_num_queries(MAX_QUERIES["sales"]):
        response = get(client, "sales")

    assert response.status_code == 200
    mine_filters = replace_filters(period(), owner=sales_rep)
    assert link_to(response, drill_url(mine_filters, "stage", stage="evaluation")) == "2"
    assert link_to(response, drill_url(mine_filters, "stage", stage="purchase")) == "1"
    assert link_to(response, drill_url(mine_filters, "phase", phase="engage")) == "3"
    html = response.content.decode()
    overdue = html.split('id="tasks-overdue-heading"')[1].split('id="tasks-today-heading"')[0]
    assert "Send the quote" in overdue
    assert "2 days late" in overdue
    upcoming = html.split('id="tasks-upcoming-heading"')[1].split("</section>")[0]
    assert "Demo" in upcoming
    assert "Renewal" not in upcoming
    assert "Talked pricing" in html
    assert link_to(response, drill_url(mine_filters, "force", stage="evaluation")) == "1"

    # A manager picks the rep in the owner filter and sees the rep's pipeline and tasks.
    managed = page(client, admin_user, "sales", owner=sales_rep.pk)
    assert link_to(managed, drill_url(mine_filters, "stage", stage="evaluation")) == "2"
    assert "Send the quote" in managed.content.decode()
    own = page(client, admin_user, "sales")
    admins = replace_filters(period(), owner=admin_user)
    assert link_to(own, drill_url(admins, "stage", stage="evaluation")) == "1"
    assert "Nothing overdue." in text(own)


def test_support_lists_detractors_until_someone_calls_them_back(
    client, support, customer_factory, django_assert_max_num_queries
):
    nps = Survey.objects.get_or_create(
        name="Dashboard NPS", defaults={"kind": "nps", "question": "Recommend us?"}
    )[0]
    angry, happy, quiet = (customer_factory() for _ in range(3))
    invitations = [
        survey_invite(survey=nps, customer=c, source=InvitationSource.MANUAL)
        for c in (angry, happy, quiet)
    ]
    survey_answer(invitation=invitations[0], score=2, comment="Far too slow")
    survey_answer(invitation=invitations[1], score=10)
    case = interaction_log(
        customer=quiet,
        kind=InteractionKind.SUPPORT_CASE,
        outcome=Outcome.NEGATIVE,
        summary="Cannot log in",
        logged_by=support,
        occurred_at=timezone.now() - timedelta(days=3),
    )

    client.force_login(support)
    with django_assert_max_num_queries(MAX_QUERIES["support"]):
        response = get(client, "support")

    assert response.status_code == 200
    html = response.content.decode()
    callback = html.split('id="callback-heading"')[1].split("</section>")[0]
    assert "Far too slow" in callback
    assert str(angry) in callback
    assert str(happy) not in callback
    assert f"{reverse('customers:detail', args=[angry.pk])}#quick-log" in callback
    cases = html.split('id="cases-heading"')[1].split("</section>")[0]
    assert case.summary in cases
    assert "3 days" in cases
    surveys = html.split('id="surveys-heading"')[1].split("</section>")[0]
    row = re.search(r"Dashboard NPS</a></th>(.*?)</tr>", surveys, re.S)
    assert row is not None
    assert re.findall(r'class="num">(?:<a[^>]*>)?(\d+%?)', row.group(1)) == ["3", "2", "67%"]
    filters = period()
    assert link_to(response, drill_url(filters, "responded", kind="nps")) == "2 customers answered"
    assert (
        link_to(response, drill_url(filters, "responded", kind="nps", category="detractor"))
        == "1 detractor"
    )

    interaction_log(
        customer=angry,
        kind=InteractionKind.CALL,
        outcome=Outcome.RESOLVED,
        summary="Called back",
        logged_by=support,
    )
    after = page(client, support, "support").content.decode()
    callback = after.split('id="callback-heading"')[1].split("</section>")[0]
    assert "Far too slow" not in callback
    assert "No detractor is waiting" in callback

    # The owner filter restricts every list to that owner's customers.
    owned = page(client, support, "support", owner=support.pk).content.decode()
    assert "No support case is open for the filtered customers" in owned
