"""`manage.py seed_demo` and the progress bar it draws."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import QuerySet
from django.utils import timezone

from accounts.roles import ADMIN, MARKETER, SALES_REP, SUPPORT
from common.progress import Progress, progress
from customers.demo_marketing import FEATURED_COMMENT, LEAD_EMAIL_DOMAIN, ORDER_PREFIX
from customers.models import Customer, Referral
from interactions.models import CaseState, Effect, Interaction, Purchase, Task
from stages.models import ActorKind, Direction, StageTransition

SMALL = 60
DEMO_EMAIL = re.compile(r"^[a-z]+\.[a-z]+\.(\d+)@demo\.flywheel\.example$")
LOGIN_ROW = re.compile(r"^\s+(Admin|Marketer|Sales rep|Support)\s+(\S+)\s+(\S+)\s+(.+?)\s*$")


def journey_customers() -> QuerySet[Customer]:
    """The demo customers with a planned journey (not the leads from the demo's forms)."""
    return Customer.objects.filter(email__iendswith="@demo.flywheel.example")


def seed(*args: str, customers: int = SMALL) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--customers", str(customers), *args, stdout=out)
    return out.getvalue()


def printed_logins(output: str) -> dict[str, tuple[str, str, str]]:
    """username -> (role, password, status) from the table at the end of the output."""
    rows = (LOGIN_ROW.match(line) for line in output.splitlines())
    return {m[2]: (m[1], m[3], m[4]) for m in rows if m}


def chains() -> dict[int, list[StageTransition]]:
    by_customer: dict[int, list[StageTransition]] = {}
    for transition in StageTransition.objects.select_related("from_stage", "to_stage").order_by(
        "customer_id", "occurred_at", "id"
    ):
        by_customer.setdefault(transition.customer_id, []).append(transition)
    return by_customer


@pytest.fixture
def seeded(db: None) -> str:
    return seed()


# --- users ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_user_per_role_who_can_log_in_with_the_printed_password(seeded):
    logins = printed_logins(seeded)

    assert set(logins) == {"admin", "marketer", "sales", "sales2", "support"}
    expected_roles = {
        "admin": ADMIN,
        "marketer": MARKETER,
        "sales": SALES_REP,
        "sales2": SALES_REP,
        "support": SUPPORT,
    }
    for username, (role, password, status) in logins.items():
        assert status == "created"
        assert role == expected_roles[username]
        user = authenticate(username=username, password=password)
        assert user is not None, f"{username} cannot log in with {password!r}"
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff is (username == "admin")
        assert user.is_superuser is (username == "admin")
    assert authenticate(username="admin", password="wrong-password") is None


@pytest.mark.django_db
def test_existing_users_keep_their_password_unless_reset(seeded):
    user_model = get_user_model()
    sales = user_model.objects.get(username="sales")
    sales.set_password("my-own-password")
    sales.save()

    again = printed_logins(seed())

    assert again["sales"][1:] == ("(unchanged)", "kept")
    assert authenticate(username="sales", password="my-own-password") is not None

    reset = printed_logins(seed("--reset-passwords"))

    assert reset["sales"][1:] == ("flywheel-sales", "password reset")
    assert authenticate(username="sales", password="flywheel-sales") is not None
    assert authenticate(username="sales", password="my-own-password") is None


# --- customers and their journeys ---------------------------------------------------------------


@pytest.mark.django_db
def test_creates_the_requested_number_of_demo_customers_each_with_an_entry(seeded):
    customers = list(journey_customers().select_related("owner"))

    assert len(customers) == SMALL
    matches = [DEMO_EMAIL.match(c.email) for c in customers]
    numbers = sorted(int(m[1]) for m in matches if m)
    assert numbers == list(range(1, SMALL + 1))
    first = {chain[0].customer_id: chain[0] for chain in chains().values()}
    for customer in customers:
        entry = first[customer.pk]
        assert entry.direction == Direction.ENTRY
        assert entry.from_stage is None
        assert entry.occurred_at == customer.created_at
    owners = {c.owner.username if c.owner else None for c in customers}
    assert owners == {"sales", "sales2"}


@pytest.mark.django_db
def test_customers_are_spread_over_a_year_with_varied_details(seeded):
    customers = list(journey_customers())
    now = timezone.now()

    created = [c.created_at for c in customers]
    assert all(now - timedelta(days=366) <= when < now for when in created)
    assert (max(created) - min(created)).days > 180
    assert len({c.source for c in customers}) >= 4
    assert len({c.company for c in customers}) > 20
    assert any(c.utm_campaign for c in customers)
    assert all({"plan", "industry", "employees"} <= set(c.attributes) for c in customers)
    assert all(c.tags for c in customers)
    assert 0 < sum(c.email_consent for c in customers) < SMALL
    assert 0 < sum(c.sms_consent for c in customers) < SMALL


@pytest.mark.django_db
def test_every_transition_chain_is_consistent_and_in_the_past(seeded):
    now = timezone.now()
    customers = {c.pk: c for c in Customer.objects.all()}

    for customer_id, chain in chains().items():
        customer = customers[customer_id]
        assert chain[0].from_stage is None
        for previous, current in pairwise(chain):
            assert current.from_stage == previous.to_stage
            assert current.occurred_at >= previous.occurred_at
            assert current.direction != Direction.ENTRY
        assert all(t.occurred_at <= now for t in chain)
        assert customer.stage == chain[-1].to_stage
        assert customer.stage_entered_at == chain[-1].occurred_at


@pytest.mark.django_db
def test_journeys_skip_go_back_start_new_cycles_and_mostly_stall_early(seeded):
    transitions = list(StageTransition.objects.select_related("actor_user", "customer__owner"))
    directions = Counter(t.direction for t in transitions)
    stages = Counter(Customer.objects.values_list("stage__slug", flat=True))

    assert directions[Direction.SKIP] >= 1
    assert directions[Direction.BACKWARD] >= 1
    assert directions[Direction.NEW_CYCLE] >= 1
    assert directions[Direction.FORWARD] > directions[Direction.BACKWARD]
    assert stages["awareness"] + stages["evaluation"] > SMALL / 2
    assert {t.actor_kind for t in transitions} >= {
        ActorKind.USER,
        ActorKind.AUTOMATION,
        ActorKind.API,
        ActorKind.IMPORT,
    }
    for transition in transitions:
        if transition.actor_kind == ActorKind.USER:
            assert transition.actor_user == transition.customer.owner
        else:
            assert transition.actor_user is None
        if transition.direction != Direction.ENTRY:
            assert transition.reason


@pytest.mark.django_db
def test_referrals_point_at_earlier_customers_already_in_advocacy(seeded):
    referred = list(
        Customer.objects.filter(referred_by__isnull=False).select_related("referred_by")
    )

    assert referred, "the demo should contain referred customers"
    for customer in referred:
        referrer = customer.referred_by
        assert referrer is not None
        assert referrer.created_at < customer.created_at
        assert customer.source == "referral"
        assert StageTransition.objects.filter(
            customer=referrer, to_stage__slug="advocacy", occurred_at__lt=customer.created_at
        ).exists()


@pytest.mark.django_db
def test_referrals_record_the_referrer_in_delight_when_they_referred(seeded):
    referrals = Referral.objects.all()

    assert referrals.exists()
    assert set(referrals.values_list("referrer_phase", flat=True)) == {"delight"}


# --- activity -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_activity_follows_the_journeys_and_never_lies_in_the_future(seeded):
    now = timezone.now()
    reached_purchase = set(
        StageTransition.objects.filter(to_stage__slug="purchase").values_list(
            "customer_id", flat=True
        )
    )

    buyers = set(Purchase.objects.values_list("customer_id", flat=True))
    assert buyers == reached_purchase
    # One purchase per entry into the purchase stage, at the moment of that entry.
    for transition in StageTransition.objects.filter(to_stage__slug="purchase"):
        assert Purchase.objects.filter(
            customer_id=transition.customer_id, occurred_at=transition.occurred_at
        ).exists()
    assert not Interaction.objects.filter(occurred_at__gt=now).exists()
    assert {Effect.FORCE, Effect.FRICTION} <= set(
        Interaction.objects.values_list("effect", flat=True)
    )
    assert Interaction.objects.filter(case_state=CaseState.CLOSED).exists()
    assert Task.objects.filter(state="open").exists()
    for customer in Customer.objects.filter(interactions__isnull=False).distinct()[:20]:
        latest = customer.interactions.order_by("-occurred_at").first()
        assert latest is not None
        assert customer.last_activity_at is not None
        assert customer.last_activity_at >= latest.occurred_at


# --- idempotence --------------------------------------------------------------------------------


def counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        StageTransition.objects.count(),
        get_user_model().objects.count(),
        Interaction.objects.count(),
        Purchase.objects.count(),
        Task.objects.count(),
    )


@pytest.mark.django_db
def test_running_twice_changes_nothing_and_says_what_it_skipped(seeded):
    before = counts()
    emails = set(Customer.objects.values_list("email", flat=True))

    output = seed()

    assert counts() == before
    assert set(Customer.objects.values_list("email", flat=True)) == emails
    assert f"Skipped {SMALL} demo customers that already exist" in output
    assert "Created 0 demo customers" in output


@pytest.mark.django_db
def test_a_larger_run_keeps_the_existing_customers_and_adds_only_the_rest(seeded):
    emails = set(Customer.objects.values_list("email", flat=True))

    output = seed(customers=SMALL + 5)

    assert emails < set(Customer.objects.values_list("email", flat=True))
    assert journey_customers().count() == SMALL + 5
    assert "Created 5 demo customers" in output


@pytest.mark.django_db
def test_if_empty_does_nothing_once_demo_customers_exist(seeded):
    before = counts()

    output = seed("--if-empty", customers=SMALL + 20)

    assert counts() == before
    assert "already present" in output
    # make run prints the logins on every start, seeded or not.
    assert "flywheel-sales" in output


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database():
    output = seed("--if-empty", customers=5)

    assert journey_customers().count() == 5
    assert "Created 5 demo customers" in output


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_customers():
    seed(customers=10)
    first = sorted(journey_customers().values_list("email", "source", "company"))
    journey_customers().delete()

    seed(customers=10)

    assert sorted(journey_customers().values_list("email", "source", "company")) == first


# --- the marketing demo -------------------------------------------------------------------------


def marketing_counts() -> dict[str, int]:
    from campaigns.models import Campaign, Recipient, TrackingEvent
    from leadforms.models import LeadForm, Submission
    from segments.models import Segment, SegmentMember
    from surveys.models import Invitation, Response

    return {
        "customers": Customer.objects.count(),
        "segments": Segment.objects.count(),
        "members": SegmentMember.objects.count(),
        "campaigns": Campaign.objects.count(),
        "recipients": Recipient.objects.count(),
        "tracking": TrackingEvent.objects.count(),
        "forms": LeadForm.objects.count(),
        "submissions": Submission.objects.count(),
        "invitations": Invitation.objects.count(),
        "responses": Response.objects.count(),
        "purchases": Purchase.objects.count(),
        "closed cases": Interaction.objects.filter(case_state=CaseState.CLOSED).count(),
    }


@pytest.mark.django_db
def test_the_marketing_pages_have_something_to_show(seeded):
    from campaigns.models import Campaign, CampaignState, Recipient, TrackingEvent, TrackingKind
    from leadforms.models import LeadForm, SubmissionState
    from segments.models import Segment, SegmentKind
    from segments.selectors import segment_count
    from surveys.models import Response

    segments = {segment.name: segment for segment in Segment.objects.all()}
    assert sum(s.kind == SegmentKind.DYNAMIC for s in segments.values()) >= 3
    assert [s.kind for s in segments.values()].count(SegmentKind.STATIC) == 1
    for name in ("Engaged small businesses", "Delighted customers", "NPS promoters"):
        assert segment_count(segments[name]) > 0, name
    assert segment_count(segments["Webinar attendees, March"]) == 25

    states = dict(Campaign.objects.values_list("name", "state"))
    assert sorted(states.values()) == sorted(
        [CampaignState.SENT, CampaignState.SCHEDULED, CampaignState.DRAFT]
    )
    sent = Campaign.objects.get(state=CampaignState.SENT)
    assert sent.variants.count() == 2
    assert Recipient.objects.filter(campaign=sent).exists()
    events = TrackingEvent.objects.filter(recipient__campaign=sent)
    assert events.filter(kind=TrackingKind.OPEN).exists()
    assert events.filter(kind=TrackingKind.CLICK).exists()

    forms = {form.name: form for form in LeadForm.objects.all()}
    assert len(forms) == 2
    assert [f.double_opt_in for f in forms.values()].count(True) == 1
    for form in forms.values():
        submissions = form.submissions.all()
        assert submissions.filter(created_customer=True).exists()
        assert submissions.filter(state=SubmissionState.SPAM).exists()
        assert len(set(submissions.values_list("utm_source", flat=True))) > 2
    opt_in = next(f for f in forms.values() if f.double_opt_in)
    assert {SubmissionState.CONFIRMED, SubmissionState.PENDING_CONFIRMATION} <= set(
        opt_in.submissions.values_list("state", flat=True)
    )
    assert Customer.objects.filter(email__iendswith=f"@{LEAD_EMAIL_DOMAIN}").exists()

    kinds = set(Response.objects.values_list("invitation__survey__kind", flat=True))
    assert kinds == {"nps", "csat", "ces"}
    assert Response.objects.exclude(comment="").count() > 1
    featured = Response.objects.get(comment=FEATURED_COMMENT)
    assert featured.score == 10
    assert featured.invitation.customer.stage.phase == "delight"

    assert Purchase.objects.filter(external_id__startswith=ORDER_PREFIX).exists()
    assert "Demo marketing: Segments: Engaged small businesses" in seeded


@pytest.mark.django_db
def test_a_second_run_adds_no_marketing_demo(seeded):
    before = marketing_counts()

    output = seed()

    assert marketing_counts() == before
    assert "Demo marketing" not in output


@pytest.mark.django_db
def test_the_marketing_demo_copes_with_a_tiny_demo():
    seed(customers=3)

    from segments.models import Segment

    assert Segment.objects.count() == 5


# --- the progress bar ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_non_tty_prints_a_plain_line_at_each_quarter():
    stream = io.StringIO()
    clock = FakeClock()

    items = []
    for item in progress(range(8), label="Customers", stream=stream, clock=clock):
        items.append(item)
        clock.now += 0.5

    assert items == list(range(8))
    assert stream.getvalue().splitlines() == [
        "Customers  2/8  25%  1.0s",
        "Customers  4/8  50%  2.0s",
        "Customers  6/8  75%  3.0s",
        "Customers  8/8  100%  4.0s",
    ]
    assert "\r" not in stream.getvalue()


def test_progress_prints_one_line_when_several_quarters_pass_at_once():
    stream = io.StringIO()

    with Progress(3, label="Rows", stream=stream, clock=FakeClock()) as bar:
        bar.advance(2)
        bar.advance()

    assert stream.getvalue().splitlines() == ["Rows  2/3  66%  0.0s", "Rows  3/3  100%  0.0s"]


def test_progress_without_a_total_reports_once_at_the_end():
    stream = io.StringIO()

    for _ in progress(iter("abcde"), label="Items", stream=stream, clock=FakeClock()):
        pass

    assert stream.getvalue() == "Items  5 done  0.0s\n"


def test_progress_on_a_tty_redraws_one_line_with_a_bar():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    clock = FakeClock()

    with Progress(4, label="Customers", stream=stream, width=8, clock=clock) as bar:
        for _ in range(4):
            clock.now += 1
            bar.advance()

    output = stream.getvalue()
    assert output.endswith("\n")
    assert output.count("\n") == 1
    frames = output.rstrip("\n").split("\r")[1:]
    assert frames[0].rstrip() == "Customers  [##------]  1/4   25%  1.0s"
    assert frames[-1].rstrip() == "Customers  [########]  4/4  100%  4.0s"
    assert len(frames) == 4


@pytest.mark.django_db(transaction=True)
def test_demo_rules_exist_but_did_not_act_on_the_seeded_past():
    # Transactional: each seeding batch really commits and dispatches its events, as in
    # `make run`; the rules must not exist yet when that happens.
    from automation.models import Rule, Step

    seed(customers=25)

    rules = Rule.objects.filter(is_active=True)
    assert rules.count() == 2
    assert Purchase.objects.filter(source="demo-shop").exists()  # the past had purchases
    # The rules act only on today's work in the marketing demo: cases closed, orders taken.
    since = min(rule.created_at for rule in rules)
    today = set(
        Purchase.objects.filter(external_id__startswith=ORDER_PREFIX).values_list(
            "customer_id", flat=True
        )
    ) | set(Interaction.objects.filter(closed_at__gte=since).values_list("customer_id", flat=True))
    assert set(Step.objects.values_list("customer_id", flat=True)) <= today
    assert not Step.objects.filter(created_at__lt=since).exists()
    seed(customers=25)  # and a second run adds no rule
    assert Rule.objects.count() == 2
