"""Demo marketing for `seed_demo`: what a marketer finds on the demo's marketing pages.

On top of the seeded customers and their year of journeys: NPS, CSAT and CES surveys sent
and mostly answered, four dynamic segments and a static list, a sent A/B campaign with opens
and clicks, a scheduled one and a draft, two lead forms with submissions (one with double
opt-in), and today's work that the demo's automation rules act on (support cases closed,
orders recorded). `make screenshots` photographs the same data.

Everything is written through the services, as the dashboard would, and is deterministic for
a given seed and demo. It is idempotent: segments, campaigns and lead forms are recognised by
name, surveys are sent only while the demo holds no survey invitation at all, and today's work
is done only while its orders are missing.

Messages (survey invitations, campaign emails, a confirmation) go to the outbox; a Celery
worker delivers them (in `make run` it starts right after `seed_demo`). The A/B campaign's
chunks are sent here, in-process, so that its recipients exist to open and click.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count
from django.utils import timezone

from customers.models import Customer

# The demo customer whose 360° page the screenshots show answers NPS with this comment, last.
FEATURED_COMMENT = "The timeline saves us an hour a day."
# People who are not yet customers fill in the demo's lead forms with addresses here.
LEAD_EMAIL_DOMAIN = "leads.demo.flywheel.example"
# Today's orders: recorded once (the same external ids are the same orders).
ORDER_SOURCE = "demo-shop"
ORDER_PREFIX = "DEMO-TODAY-"
# The A/B campaign is sent in-process: wait at most this long for its rate between chunks.
SEND_WAIT_LIMIT_SECONDS = 30.0


@dataclass
class DemoMarketing:
    """What `demo_marketing_ensure` created, by kind (names or counts)."""

    segments: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    invitations: int = 0
    answers: int = 0
    cases_closed: int = 0
    orders: int = 0

    def summary(self) -> list[str]:
        """One line per kind of thing created; empty when nothing was."""
        lines = []
        if self.invitations:
            lines.append(f"Survey invitations: {self.invitations} ({self.answers} answered).")
        for label, names in (
            ("Segments", self.segments),
            ("Campaigns", self.campaigns),
            ("Lead forms", self.forms),
        ):
            if names:
                lines.append(f"{label}: " + "; ".join(names) + ".")
        if self.cases_closed or self.orders:
            lines.append(
                f"Today's work: {self.cases_closed} support cases closed, "
                f"{self.orders} orders recorded."
            )
        return lines


def demo_marketing_ensure(*, seed: int) -> DemoMarketing:
    """Create whatever part of the marketing demo is missing; returns what was created.

    The order matters: surveys first (promoters move to Advocacy, which the segments count),
    then segments, campaigns and forms, then today's work (the rules act on it), and the
    featured customer's NPS answer last, so that it tops their timeline.
    """
    users = {user.username: user for user in get_user_model().objects.all()}
    created = DemoMarketing()
    featured = _featured_pick(users.get("sales"))
    answer_featured = _surveys_ensure(
        _rng(seed, "surveys"), created=created, users=users, featured=featured
    )
    segments = _segments_ensure(
        _rng(seed, "segments"), created=created, marketer=users.get("marketer")
    )
    _campaigns_ensure(
        _rng(seed, "campaigns"),
        created=created,
        segments=segments,
        marketer=users.get("marketer"),
    )
    _forms_ensure(_rng(seed, "forms"), created=created)
    _todays_work_ensure(created=created, users=users)
    if answer_featured and featured is not None:
        _featured_answer(featured=featured, support=users.get("support"))
        created.invitations += 1
        created.answers += 1
    return created


def _rng(seed: int, part: str) -> random.Random:
    """Each part draws from its own generator: what one part skips leaves the others alone."""
    return random.Random(f"{seed}:marketing:{part}")  # noqa: S311 - demo data, not secrets


def demo_featured_customer() -> Customer | None:
    """The customer whose page shows the demo at its best: the one who gave the featured
    NPS answer."""
    from surveys.models import Response

    response = (
        Response.objects.filter(comment=FEATURED_COMMENT)
        .select_related("invitation__customer")
        .order_by("pk")
        .first()
    )
    return response.invitation.customer if response else None


# --- surveys -----------------------------------------------------------------------------------

# kind -> (scores to draw from, the lowest happy score, happy comments, unhappy comments)
SURVEY_ANSWERS: dict[str, tuple[tuple[int, ...], int, tuple[str, ...], tuple[str, ...]]] = {
    "nps": (
        (10, 10, 10, 9, 9, 9, 8, 8, 7, 6, 3),
        9,
        ("Our team lives in it.", "Support answered within the hour."),
        ("Reports are fine; the mobile view less so.", "Too expensive for what we use."),
    ),
    "csat": (
        (5, 5, 5, 4, 4, 4, 3, 2),
        4,
        ("Fixed on the first reply.", "Quick and kind."),
        ("Took three emails to understand me.",),
    ),
    "ces": (
        (7, 6, 6, 5, 5, 3),
        5,
        ("Setup took ten minutes.",),
        ("The import needed help from support.",),
    ),
}
ANSWER_RATE = 0.7
COMMENT_RATE = 0.35


def _featured_pick(sales: User | None) -> Customer | None:
    """One of the first rep's advocates with the most history; in a small demo that has
    none, the delighted customer with the most history."""
    delighted = Customer.objects.filter(stage__phase="delight").annotate(n=Count("interactions"))
    return (
        delighted.filter(owner=sales, stage__slug="advocacy").order_by("-n", "pk").first()
        if sales is not None
        else None
    ) or delighted.order_by("-n", "pk").first()


def _surveys_ensure(
    rng: random.Random,
    *,
    created: DemoMarketing,
    users: dict[str, User],
    featured: Customer | None,
) -> bool:
    """NPS from delighted customers, CSAT after a support case, CES from the rest; most answer.

    Only while the demo holds no invitation at all; returns whether it sent them.
    """
    from interactions.models import Interaction, InteractionKind
    from surveys.models import Invitation, InvitationSource, Survey
    from surveys.services import survey_answer, survey_invite

    if Invitation.objects.exists():
        return False
    surveys = {survey.kind: survey for survey in Survey.objects.filter(is_active=True)}
    others = Customer.objects.exclude(pk=featured.pk) if featured else Customer.objects.all()
    customers = list(others.order_by("pk").select_related("stage"))
    rng.shuffle(customers)
    helped = set(
        Interaction.objects.filter(kind=InteractionKind.SUPPORT_CASE).values_list(
            "customer_id", flat=True
        )
    )
    audiences = {
        "nps": [c for c in customers if c.stage.phase == "delight"][:60],
        "csat": [c for c in customers if c.pk in helped][:30],
        "ces": [c for c in customers if c.stage.phase == "engage"][:20],
    }
    for kind, audience in audiences.items():
        survey = surveys.get(kind)
        if survey is None:
            continue
        scores, happy_from, praise, complaints = SURVEY_ANSWERS[kind]
        for customer in audience:
            invitation = survey_invite(
                survey=survey,
                customer=customer,
                source=InvitationSource.MANUAL,
                sent_by=users.get("support"),
                idempotency_key=f"demo:{kind}:{customer.pk}",
            )
            created.invitations += 1
            if rng.random() < ANSWER_RATE:
                score = rng.choice(scores)
                comments = praise if score >= happy_from else complaints
                comment = rng.choice(comments) if rng.random() < COMMENT_RATE else ""
                survey_answer(invitation=invitation, score=score, comment=comment)
                created.answers += 1
    return "nps" in surveys


def _featured_answer(*, featured: Customer, support: User | None) -> None:
    from surveys.models import InvitationSource, Survey
    from surveys.services import survey_answer, survey_invite

    survey = Survey.objects.filter(kind="nps", is_active=True).order_by("pk").first()
    if survey is None:
        return
    invitation = survey_invite(
        survey=survey,
        customer=featured,
        source=InvitationSource.MANUAL,
        sent_by=support,
        idempotency_key=f"demo:nps:{featured.pk}",
    )
    survey_answer(invitation=invitation, score=10, comment=FEATURED_COMMENT)


# --- segments ----------------------------------------------------------------------------------

SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "Engaged small businesses",
        "In Engage, with 50 employees or fewer.",
        {
            "op": "and",
            "rules": [
                {"field": "phase", "op": "in", "value": ["engage"]},
                {"field": "tags", "op": "has_any", "value": ["smb"]},
            ],
        },
    ),
    (
        "Delighted customers",
        "Everyone in Post-purchase or Advocacy.",
        {"op": "and", "rules": [{"field": "phase", "op": "in", "value": ["delight"]}]},
    ),
    (
        "Churn risk",
        "Tagged churn-risk after a complaint or a step back.",
        {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["churn-risk"]}]},
    ),
    (
        "NPS promoters",
        "Their latest NPS answer was 9 or 10.",
        {
            "op": "and",
            "rules": [
                {
                    "field": "survey_category",
                    "op": "in",
                    "value": ["promoter"],
                    "survey_kind": "nps",
                }
            ],
        },
    ),
)
STATIC_LIST = ("Webinar attendees, March", "Imported from the webinar tool.", 25)


def _segments_ensure(
    rng: random.Random, *, created: DemoMarketing, marketer: User | None
) -> dict[str, Any]:
    """The demo segments that are missing (by name); returns every demo segment by name."""
    from segments.models import Segment, SegmentKind
    from segments.services import segment_create, segment_members_add

    found: dict[str, Segment] = {}
    for name, description, rules in SEGMENTS:
        segment = Segment.objects.filter(name__iexact=name).first()
        if segment is None:
            segment = segment_create(
                name=name, description=description, definition=rules, created_by=marketer
            )
            created.segments.append(name)
        found[name] = segment
    name, description, size = STATIC_LIST
    # Drawn whether or not the list exists, so that later draws do not depend on it.
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    members = rng.sample(ids, min(size, len(ids)))
    if not Segment.objects.filter(name__iexact=name).exists():
        webinar = segment_create(
            name=name, kind=SegmentKind.STATIC, description=description, created_by=marketer
        )
        if members:
            segment_members_add(segment=webinar, customer_ids=members)
        created.segments.append(name)
    return found


# --- campaigns ---------------------------------------------------------------------------------

OPEN_RATE = 0.45
CLICK_RATE = 0.35  # of those who opened
AB_CAMPAIGN = "Upgrade to Team: spring offer"
SCHEDULED_CAMPAIGN = "Customer stories newsletter"
DRAFT_CAMPAIGN = "Win-back: churn risk"


def _variant(name: str, split: int, subject: str, opening: str) -> dict[str, Any]:
    return {
        "name": name,
        "split": split,
        "subject": subject,
        "body_text": f'Hi {{{{ first_name|default:"there" }}}},\n\n{opening}',
        "body_html": f'<p>Hi {{{{ first_name|default:"there" }}}},</p><p>{opening}</p>',
    }


def _campaigns_ensure(
    rng: random.Random,
    *,
    created: DemoMarketing,
    segments: dict[str, Any],
    marketer: User | None,
) -> None:
    """A sent A/B campaign with opens and clicks, a scheduled one and a draft (by name)."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_create, campaign_schedule, campaign_send_now

    def missing(name: str) -> bool:
        return not Campaign.objects.filter(name__iexact=name).exists()

    if missing(AB_CAMPAIGN):
        upgrade = campaign_create(
            name=AB_CAMPAIGN,
            segment=segments["Engaged small businesses"],
            variants=[
                _variant("A", 50, "Your team, one plan", "Bring the whole team in for 20% less."),
                _variant("B", 50, "20% off Team this spring", "Team is 20% off until May."),
            ],
            cost="420.00",
            currency="EUR",
            created_by=marketer,
        )
        campaign_send_now(campaign=upgrade)
        _send_in_process(upgrade.pk)
        _opens_and_clicks(rng, campaign_id=upgrade.pk, url="https://example.com/team")
        created.campaigns.append(AB_CAMPAIGN)
    if missing(SCHEDULED_CAMPAIGN):
        stories = campaign_create(
            name=SCHEDULED_CAMPAIGN,
            segment=segments["Delighted customers"],
            variants=[_variant("A", 100, "How Acme grew with Flywheel", "Three stories.")],
            cost="150.00",
            currency="EUR",
            created_by=marketer,
        )
        campaign_schedule(campaign=stories, at=timezone.now() + timedelta(days=3))
        created.campaigns.append(SCHEDULED_CAMPAIGN)
    if missing(DRAFT_CAMPAIGN):
        campaign_create(
            name=DRAFT_CAMPAIGN,
            segment=segments["Churn risk"],
            variants=[_variant("A", 100, "We miss you", "Here is what changed since.")],
            created_by=marketer,
        )
        created.campaigns.append(DRAFT_CAMPAIGN)


def _send_in_process(campaign_id: int) -> None:
    """Send the campaign's chunks here, as a worker would, keeping to its rate.

    A worker that picks up the task `campaign_send_now` queued finds the campaign sent.
    """
    from campaigns.services import campaign_send_step

    deadline = time.monotonic() + SEND_WAIT_LIMIT_SECONDS
    result = campaign_send_step(campaign_id=campaign_id)
    while result.more and time.monotonic() < deadline:
        time.sleep(min(result.wait_seconds, max(deadline - time.monotonic(), 0)))
        result = campaign_send_step(campaign_id=campaign_id)


def _opens_and_clicks(rng: random.Random, *, campaign_id: int, url: str) -> None:
    from campaigns.models import Recipient, RecipientState
    from campaigns.services import tracking_click, tracking_open

    recipients = Recipient.objects.filter(
        campaign_id=campaign_id, state=RecipientState.QUEUED
    ).order_by("pk")
    for index, recipient_id in enumerate(recipients.values_list("pk", flat=True)):
        # The first one always reads and clicks: even a small demo has rates to show.
        if rng.random() < OPEN_RATE or index == 0:
            tracking_open(recipient_id=recipient_id)
            if rng.random() < CLICK_RATE or index == 0:
                tracking_click(recipient_id=recipient_id, url=url)


# --- lead forms --------------------------------------------------------------------------------

DEMO_FORM = "Book a demo"
NEWSLETTER_FORM = "Newsletter sign-up"
FORMS: tuple[dict[str, Any], ...] = (
    {
        "name": DEMO_FORM,
        "slug": "book-a-demo",
        "fields": [
            {
                "name": "first_name",
                "label": "First name",
                "required": True,
                "maps_to": "first_name",
            },
            {"name": "last_name", "label": "Last name", "maps_to": "last_name"},
            {"name": "company", "label": "Company", "maps_to": "company"},
            {
                "name": "team_size",
                "label": "Team size",
                "type": "select",
                "choices": ["1-10", "11-50", "51-200", "200+"],
                "maps_to": "attributes.team_size",
            },
            {"name": "message", "label": "What would you like to see?", "type": "textarea"},
        ],
        "consent_text": "Send me product news by email (at most twice a month).",
        "success_message": "Thank you! We will call you within a working day.",
        "tags": ["demo-request"],
    },
    {
        "name": NEWSLETTER_FORM,
        "slug": "newsletter",
        "fields": [{"name": "first_name", "label": "First name", "maps_to": "first_name"}],
        "consent_text": "Yes, send me the monthly Flywheel digest.",
        "double_opt_in": True,
        "success_message": "Almost there: check your inbox to confirm.",
        "tags": ["newsletter"],
        "default_source": "newsletter",
    },
)
# form name -> (new leads, existing customers, spam) submitting it
SUBMISSIONS = {DEMO_FORM: (9, 3, 1), NEWSLETTER_FORM: (8, 2, 1)}
CONFIRM_RATE = 0.6  # of the double opt-in submissions waiting for a confirmation
FORM_UTM: tuple[dict[str, str], ...] = (
    {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "free-trial"},
    {"utm_source": "google", "utm_medium": "organic"},
    {"utm_source": "linkedin", "utm_medium": "paid_social", "utm_campaign": "spring-promo"},
    {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "digest"},
    {"utm_source": "partner", "utm_medium": "referral", "utm_campaign": "partner-program"},
    {},  # typed the address in
)
LEAD_NAMES = (
    ("Noor", "Haddad"), ("Felix", "Wagner"), ("Quynh", "Do"), ("Marta", "Nowak"),
    ("Kofi", "Mensah"), ("Aiko", "Mori"), ("Diego", "Ramos"), ("Elif", "Yilmaz"),
    ("Pavel", "Orlov"), ("Laila", "Farahani"), ("Ruth", "Okafor"), ("Bao", "Vu"),
)  # fmt: skip
LEAD_COMPANIES = ("Harborline Logistics", "Nimbus Dental", "Kettle & Co", "Riverbend Schools")
DEMO_MESSAGES = ("", "Reporting for managers.", "How the surveys work.", "Importing from Excel.")


def _forms_ensure(rng: random.Random, *, created: DemoMarketing) -> None:
    """The demo lead forms that are missing (by name), each with its submissions."""
    from customers.management.commands.seed_demo import DEMO_EMAIL_DOMAIN
    from leadforms.models import LeadForm
    from leadforms.services import form_create

    customers = list(
        Customer.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}").order_by("pk")
    )
    for spec in FORMS:
        # Drawn whether or not the form exists, so that later draws do not depend on it.
        new, existing, spam = SUBMISSIONS[spec["name"]]
        people = rng.sample(customers, min(existing, len(customers)))
        if LeadForm.objects.filter(name__iexact=spec["name"]).exists():
            continue
        form = form_create(**spec)
        _submissions_write(rng, form=form, new=new, existing=people, spam=spam)
        created.forms.append(spec["name"])


def _submissions_write(
    rng: random.Random, *, form: Any, new: int, existing: list[Customer], spam: int
) -> None:
    from leadforms.models import SubmissionState
    from leadforms.services import form_submit, submission_confirm

    # Some leads sign up on both forms: the second submission finds them by email.
    entries: list[dict[str, Any]] = []
    for first, last in rng.sample(LEAD_NAMES, min(new, len(LEAD_NAMES))):
        entries.append(
            {
                "email": f"{first}.{last}@{LEAD_EMAIL_DOMAIN}".lower(),
                "first_name": first,
                "last_name": last,
                "company": rng.choice(LEAD_COMPANIES),
            }
        )
    for customer in existing:
        entries.append({"email": customer.email, "first_name": customer.first_name, "company": ""})
    rng.shuffle(entries)
    for entry in entries:
        data: dict[str, Any] = {"email": entry["email"], "first_name": entry["first_name"]}
        if form.slug == "book-a-demo":
            data |= {
                "last_name": entry.get("last_name", ""),
                "company": entry["company"],
                "team_size": rng.choice(("1-10", "11-50", "11-50", "51-200", "200+")),
                "message": rng.choice(DEMO_MESSAGES),
            }
        data["consent"] = rng.random() < (0.9 if form.double_opt_in else 0.6)
        submission = form_submit(
            form=form,
            data=data,
            utm=dict(rng.choice(FORM_UTM)),
            referrer="https://www.flywheel.example/pricing" if rng.random() < 0.5 else "",
            user_agent="Mozilla/5.0 (demo)",
        )
        if submission.state == SubmissionState.PENDING_CONFIRMATION and rng.random() < CONFIRM_RATE:
            submission_confirm(submission=submission)
    for index in range(spam):
        form_submit(
            form=form,
            data={"email": f"bot{index}@spam.example", "website": "http://cheap-pills.example"},
        )


# --- today's work --------------------------------------------------------------------------------

CASES_TO_CLOSE = 8
ORDERS = 5


def _todays_work_ensure(*, created: DemoMarketing, users: dict[str, User]) -> None:
    """Support closes some open cases and sales records a few orders: the demo's rules act.

    Done once: today's orders have fixed external ids, and their presence means it was done.
    """
    from interactions.models import CaseState, Interaction, InteractionKind, Outcome, Purchase
    from interactions.services import purchase_record, support_case_close

    if Purchase.objects.filter(source=ORDER_SOURCE, external_id__startswith=ORDER_PREFIX).exists():
        return
    open_cases = Interaction.objects.filter(
        kind=InteractionKind.SUPPORT_CASE, case_state=CaseState.OPEN
    ).order_by("pk")
    # One case per customer: the CSAT rule asks each of them once, not once per case.
    first_per_customer: dict[int, Interaction] = {}
    for case in open_cases:
        first_per_customer.setdefault(case.customer_id, case)
    for case in list(first_per_customer.values())[:CASES_TO_CLOSE]:
        support_case_close(
            interaction=case, closed_by=users.get("support"), outcome=Outcome.RESOLVED
        )
        created.cases_closed += 1
    buyers = Customer.objects.filter(stage__slug="purchase").order_by("pk")[:ORDERS]
    for number, customer in enumerate(buyers, start=1):
        purchase_record(
            customer=customer,
            amount=Decimal("1200.00"),
            currency="EUR",
            recorded_by=users.get("sales"),
            description="Team plan, annual",
            source=ORDER_SOURCE,
            external_id=f"{ORDER_PREFIX}{number}",
        )
        created.orders += 1
