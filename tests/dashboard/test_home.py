"""The wheel (home page) as people use it: every role sees it, its numbers are the
selectors' numbers for the filters in the URL, every number links to its customers with
those filters, a bad filter is an error on the form (not a broken page), and the page costs a
bounded number of queries however many rows there are."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLES
from analytics.selectors import momentum_over_time, phase_counts_over_time, transition_matrix
from dashboard.filters import read_filters
from dashboard.views.home import signed, table_rows
from interactions.services import interaction_log
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db

DRILL = "/dashboard/customers/?"


@pytest.fixture
def history(customer_factory, stages, make_user):
    """Two owners' customers moved round the wheel in the last days, with force and
    friction: Ana's three go forward (one of them back again), Ben's one starts a new cycle."""
    ana, ben = make_user(username="ana"), make_user(username="ben")
    now = timezone.now()
    days = [now - timedelta(days=n) for n in (6, 5, 4, 3, 2)]
    a1, a2, a3 = (
        customer_factory(stage="awareness", owner=ana, created_at=days[0]) for _ in range(3)
    )
    b1 = customer_factory(stage="post_purchase", owner=ben, created_at=days[0])
    for customer in (a1, a2):
        customer_move_stage(
            customer=customer, to_stage=stages["evaluation"], actor_kind="user", occurred_at=days[1]
        )
    customer_move_stage(
        customer=a1, to_stage=stages["purchase"], actor_kind="user", occurred_at=days[2]
    )
    customer_move_stage(
        customer=a1, to_stage=stages["evaluation"], actor_kind="user", occurred_at=days[3]
    )
    customer_move_stage(
        customer=b1, to_stage=stages["awareness"], actor_kind="user", occurred_at=days[3]
    )
    interaction_log(
        customer=a2, kind="meeting", summary="Demo", logged_by=ana, outcome="positive",
        occurred_at=days[4],
    )  # fmt: skip
    interaction_log(
        customer=b1, kind="call", summary="Angry", logged_by=ben, outcome="complaint",
        occurred_at=days[4],
    )  # fmt: skip
    return {"ana": ana, "ben": ben, "a3": a3}


def _page(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _expected(params: dict[str, str]):
    """The selectors' numbers for these URL parameters, read the way the page reads them."""
    _, filters = read_filters(QueryDict(urlencode(params)))
    kwargs = filters.selector_kwargs()
    series = {**kwargs, "granularity": filters.granularity}
    last = phase_counts_over_time(**series)[-3:]
    return (
        {row.phase: row.customers for row in last},
        transition_matrix(**kwargs),
        sum(point.momentum for point in momentum_over_time(**series)),
    )


def test_every_role_sees_the_wheel_and_others_get_403(client, role_users, make_user, history):
    for role in ROLES:
        text = _page(client, role_users[role])
        assert "<h1>The wheel</h1>" in text, role
        assert 'role="group"' in text
        assert "Transition matrix" in text
        assert "Campaign performance" in text  # every role may see campaigns
    # Campaigns are shown only to those who may see them.
    flywheel_only = make_user(username="flywheel-only")
    flywheel_only.user_permissions.add(
        Permission.objects.get(codename="view_flywheel", content_type__app_label="analytics")
    )
    text = _page(client, flywheel_only)
    assert "Momentum" in text
    assert "Campaign performance" not in text

    client.force_login(make_user(username="no-role"))
    assert client.get(reverse("home")).status_code == 403
    client.logout()
    assert client.get(reverse("home")).url.startswith(reverse("login"))


def test_the_numbers_on_the_page_are_the_selectors(client, admin_user, history):
    text = _page(client, admin_user)
    phases, matrix, momentum = _expected({})

    assert phases == {"attract": 2, "engage": 2, "delight": 0}  # b1 went round; a3 stayed
    assert "Attract: 2 customers — show them" in text
    assert "Engage: 2 customers — show them" in text
    assert "Delight: 0 customers — show them" in text

    back = next(c for c in matrix if c.from_stage == "purchase" and c.to_stage == "evaluation")
    assert back.direction == "backward"
    assert f"{back.transitions} move from Purchase to Engagement & Evaluation (back)" in text
    assert re.search(r'class="num matrix-cell move-backward"><a [^>]*>1</a> <span', text)

    # Force 2 (a positive meeting) - friction 3 (a complaint) - 1 (the backward move).
    assert momentum == -2
    assert f'wheel-momentum-value">{signed(momentum)}</text>' in text
    assert "slowing down" in text
    assert "Delight to Attract: 1 move (new cycle)" in text
    # The hot spots: a complaint against Awareness (b1 stood there), the move back from Purchase.
    assert "Friction hot spot 1: Awareness, friction 3, mostly negative interactions" in text
    assert "Friction hot spot 2: Purchase, friction 1, mostly backward moves" in text


def test_the_owner_filter_in_the_url_changes_the_numbers_and_links(client, admin_user, history):
    ana = history["ana"]
    start = (timezone.now().date() - timedelta(days=13)).isoformat()
    params = {"start": start, "owner": str(ana.pk)}
    text = _page(client, admin_user, **params)
    phases, matrix, momentum = _expected(params)

    assert phases == {"attract": 1, "engage": 2, "delight": 0}  # Ben's customer left out
    assert [(c.from_stage, c.to_stage, c.transitions) for c in matrix if c.from_stage] == [
        ("awareness", "evaluation", 2),
        ("evaluation", "purchase", 1),
        ("purchase", "evaluation", 1),
    ]
    assert "2 moves from Awareness to Engagement & Evaluation — show the customers" in text
    assert "Attract: 1 customer — show them" in text
    assert "Delight to Attract: 0 moves" in text
    assert f'wheel-momentum-value">{signed(momentum)}</text>' in text
    assert momentum == 1  # Ana's meeting (2) - the move back (1); Ben's complaint left out

    links = re.findall(r'href="(/dashboard/customers/\?[^"]+)"', text)
    assert links
    for link in links:
        assert link.startswith(DRILL)
        assert f"start={start}" in link
        assert "end=" in link
        assert f"owner={ana.pk}" in link
    assert any("of=phase" in link and "phase=engage" in link for link in links)
    assert any(
        "of=moved" in link and "from_stage=purchase" in link and "to_stage=evaluation" in link
        for link in links
    )
    assert any("of=friction" in link and "cause=backward" in link for link in links)


def test_a_bad_filter_is_a_form_error_and_the_page_still_renders(client, admin_user, history):
    text = _page(client, admin_user, start="31-10-2026", owner="999999")

    assert "Enter a date as YYYY-MM-DD." in text
    assert "There is no such owner." in text
    assert re.search(r'<div class="field invalid">\s*<label for="id_start">From', text)
    assert re.search(r'<div class="field invalid">\s*<label for="id_owner">Owner', text)
    assert "Engage: 2 customers — show them" in text  # the defaults apply meanwhile


def test_the_page_costs_a_bounded_number_of_queries(
    client, admin_user, history, customer_factory, django_assert_max_num_queries
):
    client.force_login(admin_user)
    client.get(reverse("home"))  # warm the content types and permissions caches
    for _ in range(5):
        customer_factory(stage="purchase", owner=history["ana"])
    # 35 today: session, user, permissions, then a few per selector; none per row.
    with django_assert_max_num_queries(40):
        assert client.get(reverse("home")).status_code == 200
    with django_assert_max_num_queries(40):
        assert client.get(reverse("home"), {"owner": history["ana"].pk}).status_code == 200


def test_every_table_downloads_as_csv_with_the_pages_filters(client, history, make_user):
    page = _page(client, make_user("Marketer"), owner=history["ana"].pk)
    links = re.findall(r'class="csv-link" href="([^"]+)"', page)
    assert len(links) == 8  # the wheel, the trends, and every table below
    for link in links:
        assert f"owner={history['ana'].pk}" in link
        response = client.get(link)
        assert response.status_code == 200, link
        assert response["Content-Type"].startswith("text/csv"), link
        assert response.content.decode().splitlines()[0], link  # a header line at least


@pytest.mark.parametrize(
    ("params", "field"),
    [({"end": "9999-12-31"}, "end"), ({"start": "0001-01-01", "end": "0001-12-31"}, "start")],
)
def test_a_date_at_the_edge_of_the_calendar_is_a_form_error(client, make_user, params, field):
    client.force_login(make_user("Marketer"))
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    assert "Choose a date between 1900-01-01 and 2999-12-31." in response.content.decode()
    assert field in response.context["filter_form"].errors


def test_table_rows_escape_labels_and_values_and_keep_safe_markup():
    from django.utils.safestring import mark_safe

    rows = table_rows([("<b>1 Dec</b>", [3, None, "a & b"]), (mark_safe("<i>kept</i>"), [])])

    assert rows == (
        '<tr><th scope="row">&lt;b&gt;1 Dec&lt;/b&gt;</th><td class="num">3</td>'
        '<td class="num">None</td><td class="num">a &amp; b</td></tr>'
        '<tr><th scope="row"><i>kept</i></th></tr>'
    )
