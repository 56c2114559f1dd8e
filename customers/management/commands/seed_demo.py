"""`manage.py seed_demo`: demo users and a year of believable customer journeys.

The command plans everything first in plain Python — a deterministic function of `--seed`
and the customer's number — and then writes the plan through the services:
`consent.services.customer_create_with_consent` for each customer (its entry transition, and
a consent history entry, method import, for each consent it starts with) and
`stages.services.customer_move_stage` for every later move, backdated in order, then the
customer's interactions, support cases, purchases and follow-ups (interactions.demo) through
the interaction services. Nothing here writes a stage or a transition directly. Then the demo's
automation rules and message templates, and on top the marketing demo (customers.demo_marketing:
answered surveys, segments, campaigns, lead forms).

It is idempotent: demo customers are recognised by their email (every one ends in
`@demo.flywheel.example`, and customer number N always gets the same address for a given
seed), so a second run skips them; rules, templates, segments, campaigns and lead forms are
recognised by name; and demo users that exist keep their password unless
`--reset-passwords` is given. `--if-empty` returns at once when any demo customer exists,
which is what `make run` uses on every start.
"""

from __future__ import annotations

import io
import random
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.roles import ADMIN, MARKETER, ROLES, SALES_REP, SUPPORT, roles_sync
from common.exceptions import ApplicationError
from common.progress import Progress
from consent.models import ConsentMethod
from consent.services import customer_create_with_consent
from customers.demo_marketing import demo_marketing_ensure
from customers.models import Customer
from interactions.demo import PlannedActivity, plan_activity, write_activity
from stages.models import ActorKind, Stage, StageTransition
from stages.services import customer_move_stage

DEMO_EMAIL_DOMAIN = "demo.flywheel.example"
DEFAULT_CUSTOMERS = 2000
DEFAULT_SEED = 42
HISTORY_DAYS = 365
# Customers written per transaction: one commit per batch instead of one per service call.
BATCH_SIZE = 100
# Latest moment a planned event may take place: comfortably in the past when it is written.
SAFETY_MARGIN = timedelta(minutes=5)
MAX_MOVES = 12

AWARENESS = "awareness"
EVALUATION = "evaluation"
PURCHASE = "purchase"
POST_PURCHASE = "post_purchase"
ADVOCACY = "advocacy"
STAGE_SLUGS = (AWARENESS, EVALUATION, PURCHASE, POST_PURCHASE, ADVOCACY)
DELIGHT_SLUGS = (POST_PURCHASE, ADVOCACY)


# --- demo users -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """A login the demo creates, one or more per role."""

    username: str
    role: str
    password: str
    first_name: str
    last_name: str
    is_admin: bool = False


DEMO_USERS = (
    DemoUser("admin", ADMIN, "flywheel-admin", "Ada", "Admin", is_admin=True),
    DemoUser("marketer", MARKETER, "flywheel-marketer", "Mai", "Marketer"),
    DemoUser("sales", SALES_REP, "flywheel-sales", "Sam", "Seller"),
    DemoUser("sales2", SALES_REP, "flywheel-sales2", "Sasha", "Closer"),
    DemoUser("support", SUPPORT, "flywheel-support", "Parisa", "Helper"),
)
# Who owns the demo customers: the sales reps, the first one busier than the second.
OWNER_WEIGHTS = (("sales", 3), ("sales2", 2))


@dataclass(frozen=True)
class DemoUserResult:
    """What `demo_users_ensure` did with one demo user; `password` is None if left alone."""

    spec: DemoUser
    user: User
    status: str  # "created", "password reset" or "kept"

    @property
    def password(self) -> str | None:
        return None if self.status == "kept" else self.spec.password


@transaction.atomic
def demo_users_ensure(*, reset_passwords: bool = False) -> list[DemoUserResult]:
    """Create the demo users that are missing and put each one in its role's group.

    An existing user keeps its password (and its flags) unless `reset_passwords` is set;
    group membership is only ever added, never removed.
    """
    if Group.objects.filter(name__in=ROLES).count() != len(ROLES):
        roles_sync()  # a flushed database: the groups normally come with the migrations
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    user_model = get_user_model()
    results = []
    for spec in DEMO_USERS:
        user = user_model.objects.filter(username=spec.username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=spec.username,
                email=f"{spec.username}@{DEMO_EMAIL_DOMAIN}",
                password=spec.password,
                first_name=spec.first_name,
                last_name=spec.last_name,
                is_staff=spec.is_admin,
                is_superuser=spec.is_admin,
            )
            status = "created"
        elif reset_passwords:
            user.set_password(spec.password)
            user.save(update_fields=["password"])
            status = "password reset"
        else:
            status = "kept"
        user.groups.add(groups[spec.role])
        results.append(DemoUserResult(spec=spec, user=user, status=status))
    return results


# --- the vocabulary of the demo -------------------------------------------------------------

FIRST_NAMES = (
    "Anna", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Mia", "Minh", "Linh", "Huong",
    "Tuan", "Thao", "Dmitry", "Olga", "Irina", "Sergei", "Natalia", "Dariush", "Sara", "Reza",
    "Leila", "Arash", "Shirin", "Sofia", "Mateo", "Chloe", "James", "Amelia", "Kenji", "Yuki",
    "Priya", "Arjun", "Fatima", "Omar", "Hannah", "Jonas", "Elena", "Marco", "Ines", "Tom",
    "Zoe", "Nina", "Ali", "Grace", "Ethan", "Maya", "Oscar", "Lea", "Hugo", "Alice",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Nguyen", "Tran", "Le", "Pham", "Hoang", "Ivanov", "Petrova",
    "Smirnov", "Kuznetsova", "Volkov", "Ahmadi", "Hosseini", "Karimi", "Rahimi", "Tehrani",
    "Garcia", "Muller", "Schmidt", "Rossi", "Dubois", "Kowalski", "Brown", "Wilson",
    "Taylor", "Martin", "Tanaka", "Sato", "Patel", "Singh", "Haddad", "Jensen", "Novak",
    "Silva", "Costa", "Larsen", "Fischer", "Moreau", "Clarke", "Walker", "Young", "King",
)  # fmt: skip

COMPANY_PREFIXES = (
    "Northwind", "Bluebird", "Lotus", "Saffron", "Aurora", "Granite", "Cedar", "Mekong",
    "Volga", "Zagros", "Pioneer", "Harbor", "Summit", "Atlas", "Juniper", "Copper",
    "Silverline", "Evergreen", "Brightwave", "Kestrel", "Maple", "Orchid", "Falcon",
    "Redwood", "Tidal", "Caspian", "Ural", "Halong", "Alborz", "Nimbus", "Quarry", "Beacon",
)  # fmt: skip
INDUSTRY_WORDS = {
    "software": ("Software", "Labs", "Systems", "Cloud"),
    "retail": ("Retail", "Stores", "Market", "Outfitters"),
    "manufacturing": ("Manufacturing", "Industries", "Works"),
    "healthcare": ("Health", "Clinics", "Care"),
    "education": ("Academy", "Learning", "Institute"),
    "finance": ("Capital", "Finance", "Advisors"),
    "logistics": ("Logistics", "Freight", "Shipping"),
    "hospitality": ("Hotels", "Hospitality", "Coffee Roasters"),
    "marketing": ("Media", "Agency", "Creative"),
    "construction": ("Builders", "Construction", "Engineering"),
}
LEGAL_SUFFIXES = ("", "", "", " Ltd", " Inc.", " GmbH", " JSC", " LLC", " B.V.")
COUNTRIES = ("US", "GB", "DE", "VN", "FR", "NL", "CA", "AU", "SG", "AE", "PL", "KZ", "TR")
# (lowest, highest) head count, and how common companies of that size are among leads.
COMPANY_SIZES = (
    ((1, 10), 30),
    ((11, 50), 30),
    ((51, 200), 20),
    ((201, 1000), 12),
    ((1001, 10000), 8),
)
COMPANY_POOL_SIZE = 300
AREA_CODES = ("202", "212", "312", "415", "512", "617", "646", "718", "801", "917")

# source -> (share of new customers, lead quality: how readily they move towards a purchase)
SOURCES: dict[str, tuple[int, float]] = {
    "organic": (28, 1.0),
    "ads": (22, 0.75),
    "referral": (12, 1.8),
    "webinar": (10, 1.3),
    "partner": (8, 1.5),
    "newsletter": (8, 0.9),
    "event": (6, 1.1),
    "direct": (6, 1.2),
}
EMAIL_CONSENT_RATE = {
    "organic": 0.65, "ads": 0.55, "referral": 0.7, "webinar": 0.9, "partner": 0.6,
    "newsletter": 0.97, "event": 0.75, "direct": 0.5,
}  # fmt: skip
AD_NETWORKS = (
    ("google", "cpc"),
    ("google", "cpc"),
    ("linkedin", "paid_social"),
    ("meta", "paid_social"),
)
SEARCH_TERMS = ("crm for small business", "customer flywheel", "sales pipeline tool",
                "nps survey software", "marketing automation", "customer retention")  # fmt: skip

# How a customer of each source arrives: (actor kind, entry stage, weight).
ENTRIES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "organic": ((ActorKind.API, AWARENESS, 1),),
    "ads": ((ActorKind.API, AWARENESS, 1),),
    "newsletter": ((ActorKind.API, AWARENESS, 1),),
    "webinar": ((ActorKind.API, AWARENESS, 4), (ActorKind.AUTOMATION, AWARENESS, 1)),
    "event": ((ActorKind.IMPORT, AWARENESS, 4), (ActorKind.IMPORT, EVALUATION, 1)),
    "partner": ((ActorKind.IMPORT, AWARENESS, 3), (ActorKind.USER, EVALUATION, 2)),
    "referral": ((ActorKind.USER, EVALUATION, 1), (ActorKind.API, AWARENESS, 2)),
    "direct": ((ActorKind.USER, AWARENESS, 2), (ActorKind.USER, EVALUATION, 1)),
}

# stage -> (weight of staying put, ((next stage, weight), ...)), per step of a journey.
# Staying is final: the journey ends there. The weights make a real funnel — most leads
# never get past evaluation — while leaving room for skips, moves back and new cycles.
JOURNEY: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    AWARENESS: (55, ((EVALUATION, 34), (PURCHASE, 6))),
    EVALUATION: (42, ((PURCHASE, 36), (AWARENESS, 22))),
    PURCHASE: (10, ((POST_PURCHASE, 76), (EVALUATION, 9), (ADVOCACY, 5))),
    POST_PURCHASE: (45, ((ADVOCACY, 28), (PURCHASE, 17), (EVALUATION, 6), (AWARENESS, 4))),
    ADVOCACY: (50, ((PURCHASE, 30), (EVALUATION, 8), (POST_PURCHASE, 12))),
}
# Mean days spent in a stage before the next move.
DWELL_DAYS = {AWARENESS: 16, EVALUATION: 14, PURCHASE: 4, POST_PURCHASE: 35, ADVOCACY: 50}

# (from, to) -> ((actor kind, reason), ...): who plausibly makes that move, and why.
MOVES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    (AWARENESS, EVALUATION): (
        (ActorKind.USER, "Booked a discovery call"),
        (ActorKind.USER, "Replied to outreach; qualified"),
        (ActorKind.AUTOMATION, "Lead score reached 50"),
        (ActorKind.API, "Requested a demo on the website"),
    ),
    (AWARENESS, PURCHASE): (
        (ActorKind.API, "Bought straight from the online shop"),
        (ActorKind.USER, "Signed on the first call"),
    ),
    (EVALUATION, AWARENESS): (
        (ActorKind.AUTOMATION, "No reply in 30 days; back to nurturing"),
        (ActorKind.USER, "Not the right time; back to nurturing"),
    ),
    (EVALUATION, PURCHASE): (
        (ActorKind.USER, "Signed the order"),
        (ActorKind.USER, "Contract signed after the trial"),
        (ActorKind.API, "Checkout completed"),
        (ActorKind.IMPORT, "Order imported from the shop's nightly export"),
    ),
    (PURCHASE, EVALUATION): (
        (ActorKind.USER, "Order cancelled; still evaluating"),
        (ActorKind.API, "Payment failed; order cancelled"),
    ),
    (PURCHASE, POST_PURCHASE): (
        (ActorKind.AUTOMATION, "Onboarding started"),
        (ActorKind.USER, "Kick-off call done"),
        (ActorKind.API, "Order delivered"),
    ),
    (PURCHASE, ADVOCACY): ((ActorKind.SURVEY, "NPS 10 right after purchase"),),
    (POST_PURCHASE, ADVOCACY): (
        (ActorKind.SURVEY, "NPS 9: promoter"),
        (ActorKind.SURVEY, "NPS 10: promoter"),
        (ActorKind.USER, "Agreed to a case study"),
    ),
    (POST_PURCHASE, PURCHASE): (
        (ActorKind.API, "Repeat purchase"),
        (ActorKind.USER, "Renewal signed"),
    ),
    (POST_PURCHASE, EVALUATION): (
        (ActorKind.USER, "Upsell conversation opened"),
        (ActorKind.AUTOMATION, "Renewal due in 60 days"),
    ),
    (POST_PURCHASE, AWARENESS): ((ActorKind.AUTOMATION, "Churned; back on the nurture list"),),
    (ADVOCACY, PURCHASE): (
        (ActorKind.API, "Repeat purchase"),
        (ActorKind.USER, "Upgraded the plan"),
    ),
    (ADVOCACY, EVALUATION): ((ActorKind.USER, "Evaluating an add-on"),),
    (ADVOCACY, POST_PURCHASE): (
        (ActorKind.SURVEY, "NPS 7: passive; back to care"),
        (ActorKind.USER, "Support escalation; back to care"),
    ),
}


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """A company some demo customers work for; its colleagues share its attributes."""

    name: str
    industry: str
    employees: int
    country: str


@dataclass(frozen=True)
class PlannedMove:
    """One move after the entry, in the order it happened."""

    to_stage: str
    occurred_at: datetime
    actor_kind: str
    reason: str


@dataclass
class PlannedCustomer:
    """Everything needed to write one demo customer and its history through the services."""

    number: int
    email: str
    created_at: datetime
    entry_stage: str
    entry_actor_kind: str
    owner_username: str
    email_consent: bool
    sms_consent: bool
    fields: dict[str, Any]
    moves: list[PlannedMove] = field(default_factory=list)
    referrer_email: str | None = None
    activity: PlannedActivity = field(default_factory=PlannedActivity)

    def first_reached(self, slugs: Iterable[str]) -> datetime | None:
        """When the customer first entered any of `slugs`, if ever."""
        wanted = set(slugs)
        if self.entry_stage in wanted:
            return self.created_at
        return next((m.occurred_at for m in self.moves if m.to_stage in wanted), None)

    def stage_at(self, moment: datetime) -> str:
        """The stage the customer stands in at `moment` (moves at `moment` included)."""
        stage = self.entry_stage
        for move in self.moves:
            if move.occurred_at > moment:
                break
            stage = move.to_stage
        return stage


def demo_email(*, first_name: str, last_name: str, number: int) -> str:
    """`firstname.lastname.N@demo.flywheel.example`, lower-case ASCII."""
    local = f"{first_name}.{last_name}.{number}"
    ascii_local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return f"{ascii_local.lower()}@{DEMO_EMAIL_DOMAIN}"


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([value for value, _ in options], [w for _, w in options])[0]


def _company_pool(seed: int) -> list[Company]:
    """A fixed pool of companies for a seed, whatever the number of customers."""
    rng = random.Random(f"{seed}:companies")
    combos = [
        (prefix, industry, word)
        for prefix in COMPANY_PREFIXES
        for industry, words in INDUSTRY_WORDS.items()
        for word in words
    ]
    rng.shuffle(combos)
    pool = []
    for prefix, industry, word in combos[:COMPANY_POOL_SIZE]:
        low, high = _weighted(rng, COMPANY_SIZES)
        pool.append(
            Company(
                name=f"{prefix} {word}{rng.choice(LEGAL_SUFFIXES)}",
                industry=industry,
                employees=rng.randint(low, high),
                country=rng.choice(COUNTRIES),
            )
        )
    return pool


def _creation_times(*, count: int, seed: int, now: datetime) -> list[datetime]:
    """`count` acquisition times over the last year, oldest first.

    Denser towards the present (the business is growing), thinner at weekends, during the
    working day.
    """
    rng = random.Random(f"{seed}:created")
    times = []
    latest = now - SAFETY_MARGIN
    for _ in range(count):
        for _attempt in range(4):
            days_ago = HISTORY_DAYS * rng.random() ** 1.4
            day = now - timedelta(days=days_ago)
            if day.weekday() < 5 or rng.random() < 0.35:
                break
        moment = day.replace(
            hour=rng.randint(7, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59)
        )
        times.append(min(moment, latest - timedelta(minutes=rng.randint(0, 600))))
    return sorted(times)


def _plan_journey(
    rng: random.Random, *, entry_stage: str, start: datetime, quality: float, now: datetime
) -> list[PlannedMove]:
    """Walk the JOURNEY chain from `entry_stage` until the customer stays or time runs out."""
    moves: list[PlannedMove] = []
    stage, when = entry_stage, start
    cycles = 0
    latest = now - SAFETY_MARGIN
    while len(moves) < MAX_MOVES:
        stay, options = JOURNEY[stage]
        weighted: list[tuple[str | None, float]] = [(None, stay * (1 + cycles))]
        for target, weight in options:
            towards_purchase = stage in (AWARENESS, EVALUATION) and target != AWARENESS
            weighted.append((target, weight * quality if towards_purchase else weight))
        target = _weighted(rng, weighted)
        if target is None:
            break
        gap_days = max(0.05, rng.expovariate(1 / DWELL_DAYS[stage]))
        when = when + timedelta(days=gap_days)
        if when > latest:
            break  # it has not happened yet: the customer is still in `stage`
        actor_kind, reason = rng.choice(MOVES[(stage, target)])
        moves.append(PlannedMove(target, when, actor_kind, reason))
        if stage in DELIGHT_SLUGS and target not in DELIGHT_SLUGS:
            cycles += 1
        stage = target
    return moves


def _utm(rng: random.Random, source: str, created_at: datetime) -> dict[str, str]:
    month = f"{created_at:%Y-%m}"
    if source == "organic":
        engine = rng.choice(("google", "google", "bing", "duckduckgo"))
        return {"utm_source": engine, "utm_medium": "organic"}
    if source == "ads":
        network, medium = rng.choice(AD_NETWORKS)
        return {
            "utm_source": network,
            "utm_medium": medium,
            "utm_campaign": f"{rng.choice(('spring-promo', 'free-trial', 'retargeting'))}-{month}",
            "utm_term": rng.choice(SEARCH_TERMS) if medium == "cpc" else "",
            "utm_content": rng.choice(("ad-a", "ad-b")),
        }
    if source == "webinar":
        topic = rng.choice(("flywheel-basics", "nps-that-matters", "sales-follow-ups"))
        return {"utm_source": "webinar", "utm_medium": "event", "utm_campaign": f"{topic}-{month}"}
    if source == "newsletter":
        return {
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": f"digest-{month}",
        }
    if source == "partner":
        partner = rng.choice(("acme-partners", "saigon-digital", "baltic-resellers"))
        return {"utm_source": partner, "utm_medium": "partner", "utm_campaign": "partner-program"}
    if source == "event":
        fair = rng.choice(("saas-expo", "retail-summit", "growth-week"))
        return {
            "utm_source": fair,
            "utm_medium": "event",
            "utm_campaign": f"{fair}-{created_at:%Y}",
        }
    if source == "referral":
        return {
            "utm_source": "customer",
            "utm_medium": "referral",
            "utm_campaign": "refer-a-friend",
        }
    return {}  # direct: no tracking


def _plan_and_tags(
    rng: random.Random, *, customer: PlannedCustomer, company: Company | None
) -> tuple[str, list[str]]:
    """The `plan` attribute and the tags, consistent with where the journey went."""
    purchased = customer.first_reached((PURCHASE, *DELIGHT_SLUGS)) is not None
    employees = company.employees if company else 1
    if purchased:
        small, large = employees <= 50, employees > 200
        plan = _weighted(
            rng, (("starter", 5 if small else 1), ("pro", 4), ("enterprise", 3 if large else 0.3))
        )
    else:
        plan = "trial" if customer.first_reached((EVALUATION,)) else "free"
    tags = {
        "webinar": ["webinar"], "newsletter": ["newsletter"], "partner": ["partner-lead"],
        "event": ["event"], "referral": ["referred"],
    }.get(customer.fields["source"], [])  # fmt: skip
    if purchased:
        tags.append("customer")
    if sum(m.to_stage == PURCHASE for m in customer.moves) + (customer.entry_stage == PURCHASE) > 1:
        tags.append("repeat-buyer")
    if customer.first_reached((ADVOCACY,)):
        tags.append("promoter")
    if any(
        m.to_stage == POST_PURCHASE and m.actor_kind == ActorKind.SURVEY for m in customer.moves
    ):
        tags.append("churn-risk")
    tags.append("enterprise" if employees > 1000 else "smb" if employees <= 50 else "mid-market")
    if rng.random() < 0.2:
        tags.append("decision-maker")
    return plan, tags


def plan_demo_customers(*, count: int, seed: int, now: datetime) -> list[PlannedCustomer]:
    """Plan `count` customers acquired over the year before `now`, oldest first.

    Deterministic: the same seed, count and `now` give the same plan, and customer number N
    gets the same name and email whatever `count` is (each customer draws from its own
    generator), so runs with different counts recognise each other's customers.
    Referrals point only at earlier customers who had reached Advocacy and still stood in
    a Delight stage when the referred customer arrived.
    """
    companies = _company_pool(seed)
    created = _creation_times(count=count, seed=seed, now=now)
    plans: list[PlannedCustomer] = []
    advocates: list[tuple[datetime, PlannedCustomer]] = []  # (in Advocacy since, whom)
    for index, created_at in enumerate(created):
        number = index + 1
        rng = random.Random(f"{seed}:customer:{number}")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        source = _weighted(rng, [(name, share) for name, (share, _) in SOURCES.items()])
        referrer_email = None
        if source == "referral":
            # Still in Delight when the new customer arrives: an advocate who has since
            # gone round the wheel again refers nobody from Engage.
            eligible = [
                advocate.email
                for since, advocate in advocates
                if since < created_at and advocate.stage_at(created_at) in DELIGHT_SLUGS
            ]
            if eligible:
                referrer_email = rng.choice(eligible)
            else:
                source = "organic"  # nobody could have referred them yet
        quality = SOURCES[source][1]
        actor_kind, entry_stage = _weighted(
            rng, [((kind, stage), weight) for kind, stage, weight in ENTRIES[source]]
        )
        company = (
            None if rng.random() < 0.08 else companies[int(len(companies) * rng.random() ** 2)]
        )
        fields: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "company": company.name if company else "",
            "source": source,
            "phone": (
                f"+1 {rng.choice(AREA_CODES)} 555-01{rng.randint(0, 99):02d}"
                if rng.random() < 0.6
                else ""
            ),
            **_utm(rng, source, created_at),
        }
        customer = PlannedCustomer(
            number=number,
            email=demo_email(first_name=first, last_name=last, number=number),
            created_at=created_at,
            entry_stage=entry_stage,
            entry_actor_kind=actor_kind,
            owner_username=_weighted(rng, OWNER_WEIGHTS),
            email_consent=rng.random() < EMAIL_CONSENT_RATE[source],
            sms_consent=rng.random() < 0.25,
            fields=fields,
            referrer_email=referrer_email,
        )
        customer.moves = _plan_journey(
            rng, entry_stage=entry_stage, start=created_at, quality=quality, now=now
        )
        plan, tags = _plan_and_tags(rng, customer=customer, company=company)
        fields["tags"] = tags
        fields["attributes"] = {
            "plan": plan,
            "industry": company.industry if company else rng.choice(list(INDUSTRY_WORDS)),
            "employees": company.employees if company else 1,
            "country": company.country if company else rng.choice(COUNTRIES),
        }
        customer.activity = plan_activity(
            random.Random(f"{seed}:activity:{number}"),
            number=number,
            created_at=created_at,
            stops=[(entry_stage, created_at)]
            + [(m.to_stage, m.occurred_at) for m in customer.moves],
            attributes=fields["attributes"],
            now=now,
        )
        delighted_since = customer.first_reached((ADVOCACY,))
        if delighted_since is not None:
            advocates.append((delighted_since, customer))
        plans.append(customer)
    return plans


# --- demo automation -----------------------------------------------------------------------

DEMO_RULES = (
    # (name, trigger, delay in minutes, survey kind)
    ("Ask for CSAT when a support case closes", "support_case_closed", 0, "csat"),
    ("Ask for NPS two weeks after a purchase", "purchase_recorded", 14 * 24 * 60, "nps"),
)


def demo_rules_ensure() -> list[str]:
    """Create the demo's automation rules that are missing; returns the names created.

    They act on what people do in the running demo (close a case, record a purchase), so the
    outbox shows automations at work. Rules are never backfilled over the seeded history.
    """
    from automation.models import Rule
    from automation.services import rule_create
    from surveys.models import Survey

    created = []
    for name, trigger, delay, kind in DEMO_RULES:
        survey = Survey.objects.filter(kind=kind, is_active=True).order_by("pk").first()
        if survey is None or Rule.objects.filter(name=name).exists():
            continue
        rule_create(
            name=name,
            trigger_type=trigger,
            delay_minutes=delay,
            actions=[{"type": "send_survey", "params": {"survey": survey.pk}}],
        )
        created.append(name)
    return created


# --- demo message templates ----------------------------------------------------------------

DEMO_TEMPLATES: tuple[dict[str, str], ...] = (
    {
        "name": "Welcome",
        "channel": "email",
        "kind": "marketing",
        "subject": 'Welcome, {{ first_name|default:"there" }}',
        "body_text": (
            'Hi {{ first_name|default:"there" }},\n\n'
            'Thanks for your interest. {{ owner_name|default:"Our team" }} is your contact '
            "here: reply to this email with any question.\n"
            "[[stage:awareness]]\nOur getting-started guides walk you through the first "
            "steps.\n[[/stage]]"
            "[[stage:evaluation]]\nComparing options? Ask for a demo tailored to "
            '{{ company|default:"your team" }}.\n[[/stage]]'
            "[[phase:delight]]\nThank you for being a customer.\n[[/phase]]"
            "\nThe Flywheel team\n"
        ),
        "body_html": (
            '<p>Hi {{ first_name|default:"there" }},</p>'
            '<p>Thanks for your interest. {{ owner_name|default:"Our team" }} is your contact '
            "here: reply to this email with any question.</p>"
            "[[stage:awareness]]<p>Our getting-started guides walk you through the first "
            "steps.</p>[[/stage]]"
            "[[stage:evaluation]]<p>Comparing options? Ask for a demo tailored to "
            '{{ company|default:"your team" }}.</p>[[/stage]]'
            "[[phase:delight]]<p>Thank you for being a customer.</p>[[/phase]]"
            "<p>The Flywheel team</p>"
        ),
    },
    {
        "name": "Referral ask",
        "channel": "email",
        "kind": "marketing",
        "subject": 'Know someone who would like us too, {{ first_name|default:"friend" }}?',
        "body_text": (
            'Hi {{ first_name|default:"there" }},\n\n'
            "[[stage:advocacy]]Thank you for spreading the word already. [[/stage]]"
            "If a friend or colleague could use what you use, send them your link:\n\n"
            "{{ referral_link }}\n\n"
            'They get a warm welcome, and {{ owner_name|default:"we" }} will take good care '
            "of them.\n"
        ),
        "body_html": (
            '<p>Hi {{ first_name|default:"there" }},</p>'
            "[[stage:advocacy]]<p>Thank you for spreading the word already.</p>[[/stage]]"
            "<p>If a friend or colleague could use what you use, send them your link:</p>"
            '<p><a href="{{ referral_link }}">{{ referral_link }}</a></p>'
            '<p>They get a warm welcome, and {{ owner_name|default:"we" }} will take good '
            "care of them.</p>"
        ),
    },
    {
        "name": "Call reminder (SMS)",
        "channel": "sms",
        "kind": "transactional",
        "subject": "",
        "body_text": (
            'Hi {{ first_name|default:"there" }}, {{ owner_name|default:"your contact" }} '
            "from Flywheel will call you tomorrow as agreed. Reply to move it."
        ),
        "body_html": "",
    },
)


def demo_templates_ensure() -> list[str]:
    """Create the demo's message templates that are missing (by name); returns those created.

    A welcome email with a block per stage, a referral ask meant for Delight, an SMS
    reminder: examples of each syntax for a marketer to start from.
    """
    from messaging.models import MessageTemplate
    from messaging.services import template_create

    created = []
    for spec in DEMO_TEMPLATES:
        if MessageTemplate.objects.filter(name__iexact=spec["name"]).exists():
            continue
        template_create(**spec)
        created.append(spec["name"])
    return created


# --- writing through the services -----------------------------------------------------------


def demo_customers_existing() -> dict[str, Customer]:
    """Demo customers already in the database, by lower-cased email."""
    rows = Customer.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}").only("id", "email")
    return {customer.email.lower(): customer for customer in rows}


def demo_customer_write(
    *,
    planned: PlannedCustomer,
    stages: dict[str, Stage],
    owners: dict[str, User],
    referrer: Customer | None,
) -> Customer:
    """Create one planned customer and replay its moves, all through the services."""
    owner = owners[planned.owner_username]
    customer = customer_create_with_consent(
        # The demo's consents are loaded in bulk, like an import; each has its history entry.
        consent_method=ConsentMethod.IMPORT,
        consent_source="demo",
        email_consent=planned.email_consent,
        sms_consent=planned.sms_consent,
        email=planned.email,
        actor_kind=planned.entry_actor_kind,
        actor_user=owner if planned.entry_actor_kind == ActorKind.USER else None,
        stage=stages[planned.entry_stage],
        created_at=planned.created_at,
        owner=owner,
        referred_by=referrer,
        entry_reason="Referred by a customer"
        if referrer
        else f"Came from {planned.fields.get('source') or 'a campaign'}",
        **planned.fields,
    )
    for move in planned.moves:
        customer_move_stage(
            customer=customer,
            to_stage=stages[move.to_stage],
            actor_kind=move.actor_kind,
            actor_user=owner if move.actor_kind == ActorKind.USER else None,
            reason=move.reason,
            occurred_at=move.occurred_at,
        )
    write_activity(
        customer=customer, plan=planned.activity, owner=owner, support=owners.get("support")
    )
    return customer


def _demo_stages() -> dict[str, Stage]:
    stages = {s.slug: s for s in Stage.objects.filter(slug__in=STAGE_SLUGS, is_archived=False)}
    missing = [slug for slug in STAGE_SLUGS if slug not in stages]
    if missing:
        raise CommandError(
            "The demo journeys use the default stages, and these are missing or archived: "
            + ", ".join(missing)
        )
    return stages


def _batches(items: Sequence[PlannedCustomer], size: int) -> Iterable[Sequence[PlannedCustomer]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the command ----------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create demo users (one per role), about 2,000 customers with a year of stage "
        "history, and the marketing demo on top (surveys, segments, campaigns, lead forms). "
        "Safe to run again: what already exists is skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS,
            metavar="N",
            help=f"How many demo customers to have (default {DEFAULT_CUSTOMERS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Seed of the random journeys (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if any demo customer already exists (used by `make run`).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo password on demo users that already exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["customers"]
        seed: int = options["seed"]
        verbose = options["verbosity"] > 0
        if count < 0:
            raise CommandError("--customers must be zero or more.")
        if options["if_empty"]:
            existing_count = Customer.objects.filter(
                email__iendswith=f"@{DEMO_EMAIL_DOMAIN}"
            ).count()
            if existing_count:
                self.stdout.write(
                    f"Demo data already present ({existing_count} demo customers); "
                    "skipping seed_demo (--if-empty)."
                )
                self._print_logins(
                    [(user.role, user.username, user.password, "") for user in DEMO_USERS],
                    heading="Demo logins (the demo passwords, unless changed since):",
                )
                return

        started = time.monotonic()
        stages = _demo_stages()
        users = demo_users_ensure(reset_passwords=options["reset_passwords"])
        owners = {result.spec.username: result.user for result in users}

        now = timezone.now()
        plans = plan_demo_customers(count=count, seed=seed, now=now)
        known = demo_customers_existing()
        skipped = [p for p in plans if p.email in known]
        todo = [p for p in plans if p.email not in known]
        if verbose:
            self.stdout.write(
                f"Seeding {count} demo customers (seed {seed}): {len(todo)} to create, "
                f"{len(skipped)} already there."
            )

        moves = self._write_customers(
            todo, stages=stages, owners=owners, known=known, show_progress=verbose and bool(todo)
        )
        # After the history: the rules must act on what happens next, not on the seeded past.
        rules = demo_rules_ensure()
        templates = demo_templates_ensure()
        # After the rules: today's work in the marketing demo (cases closed, orders) is theirs.
        marketing = demo_marketing_ensure(seed=seed)
        elapsed = time.monotonic() - started
        if verbose and rules:
            self.stdout.write("Demo automation rules: " + "; ".join(rules) + ".")
        if verbose and templates:
            self.stdout.write("Demo message templates: " + "; ".join(templates) + ".")
        if verbose:
            for line in marketing.summary():
                self.stdout.write("Demo marketing: " + line)

        if verbose:
            self._report(
                created=len(todo), moves=moves, skipped=skipped, elapsed=elapsed, users=users
            )

    def _write_customers(
        self,
        todo: Sequence[PlannedCustomer],
        *,
        stages: dict[str, Stage],
        owners: dict[str, User],
        known: dict[str, Customer],
        show_progress: bool,
    ) -> int:
        """Write the planned customers in batches, one transaction each; return the moves.

        A failure rolls back only the current batch: the next run resumes from there.
        `known` (demo customers by email) gains each customer written, for later referrals.
        """
        # Django's OutputWrapper appends a newline to every write, which would break the bar's
        # carriage returns: draw on the stream it wraps.
        stream = getattr(self.stdout, "_out", self.stdout) if show_progress else io.StringIO()
        moves = 0
        with Progress(len(todo), label="Customers", stream=stream) as bar:
            for batch in _batches(todo, BATCH_SIZE):
                with transaction.atomic():
                    for planned in batch:
                        referrer = known.get(planned.referrer_email or "")
                        try:
                            known[planned.email] = demo_customer_write(
                                planned=planned, stages=stages, owners=owners, referrer=referrer
                            )
                        except ApplicationError as error:
                            raise CommandError(
                                f"Could not seed {planned.email}: {error.message}"
                            ) from error
                        moves += len(planned.moves)
                        bar.advance()
        return moves

    def _report(
        self,
        *,
        created: int,
        moves: int,
        skipped: list[PlannedCustomer],
        elapsed: float,
        users: list[DemoUserResult],
    ) -> None:
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                f"Created {created} demo customers with {created + moves} stage transitions "
                f"({moves} moves after entry) in {elapsed:.1f}s."
            )
        )
        if skipped:
            write(
                f"Skipped {len(skipped)} demo customers that already exist "
                f"(#{skipped[0].number} {skipped[0].email} … #{skipped[-1].number} "
                f"{skipped[-1].email})."
            )
        demo = Customer.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}")
        by_stage = dict(demo.values_list("stage__slug").annotate(n=Count("id")))
        write(
            "Demo customers by stage: "
            + ", ".join(f"{slug} {by_stage.get(slug, 0)}" for slug in STAGE_SLUGS)
        )
        directions = dict(
            StageTransition.objects.filter(customer__in=demo)
            .values_list("direction")
            .annotate(n=Count("id"))
        )
        write(
            "Their transitions by direction: "
            + ", ".join(f"{name} {n}" for name, n in sorted(directions.items()))
        )
        self._print_logins(
            [(r.spec.role, r.spec.username, r.password or "(unchanged)", r.status) for r in users],
            heading="Demo logins:",
        )
        if any(result.status == "kept" for result in users):
            write("  (existing users keep their password; --reset-passwords sets the demo one)")

    def _print_logins(self, rows: list[tuple[str, str, str, str]], *, heading: str) -> None:
        """Print role, username, password (and what was done) as an aligned table."""
        write = self.stdout.write
        write("")
        write(heading)
        table = [
            ("Role", "Username", "Password", "Status" if any(r[3] for r in rows) else ""),
            *rows,
        ]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for row in table:
            write(
                "  "
                + "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
