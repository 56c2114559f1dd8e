"""The definition of a dynamic segment: a tree of rules, validated and compiled to one Q.

A definition is a group; a group combines rules and groups with AND or OR::

    {"op": "and", "rules": [
        {"field": "phase", "op": "in", "value": ["engage"]},
        {"field": "tags", "op": "has_any", "value": ["vip"]},
        {"op": "or", "rules": [
            {"field": "attribute", "key": "plan", "op": "eq", "value": "team"},
            {"field": "purchase_count", "op": "gte", "value": 2}
        ]}
    ]}

Fields and their ops (docs/metrics.md, "Segments", defines each one):

- `stage`: in / not_in, a list of stage slugs.
- `phase`: in, a list of phases (attract, engage, delight).
- `tags`: has_any / has_all / has_none, a list of tags (compared in lower case).
- `attribute` (with `key`): eq / ne / in / exists / gt / lt. eq and in compare JSON values
  exactly (5 is not "5"); ne is "not eq" (a customer without the key is not equal); gt and lt
  compare numbers with numbers and strings with strings (ISO dates compare as dates), never
  across types; exists takes true or false.
- `owner`: in (a list of user ids) or is_empty (true: nobody owns them; false: someone does).
- `source`: eq (a string) or in (a list); `utm_campaign`: eq.
- `created_at`, `last_activity_at`, `stage_entered_at`: before / after an ISO date or date-time
  (a date means its midnight in the project's time zone; after includes the instant itself),
  within_days / older_than_days N (relative to the moment the segment is evaluated). A
  customer with no activity matches no rule on `last_activity_at`.
- `survey_category`: in, a list of promoter / passive / detractor: the category of the
  customer's latest answer (optionally `survey_kind`: nps, csat or ces, the latest answer of
  that kind).
- `purchase_count`: gte / lte / eq N (all purchases, any currency).
- `purchase_total`: gte / lte an amount, with a required `currency`: the sum of the
  customer's purchases in that currency (amounts in other currencies are never added).
- `referral_count`: gte / lte N, the customers who have this customer as `referred_by`.
- `email_consent`, `sms_consent`: is true / false.

`definition_validate` returns the cleaned tree or raises DefinitionInvalidError with every
error keyed by its path (`definition.rules[2].value`); `definition_q` compiles a valid tree
to one Q over Customer, built from joins, EXISTS and IN-subqueries only, so counting or
listing a segment is a single SQL query whatever the number of rules.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from common.exceptions import InvalidFieldsError
from common.validators import text_errors
from stages.models import Phase, Stage
from surveys.scoring import Category, SurveyKind

MAX_DEPTH = 5  # the root group is depth 1
MAX_RULES = 50  # rules (not groups) in the whole tree
MAX_LIST = 200  # values in one rule's list
MAX_DAYS = 36500
MAX_STRING = 200

GROUP_OPS = ("and", "or")
DATE_FIELDS = ("created_at", "last_activity_at", "stage_entered_at")

# field -> the ops it accepts
FIELD_OPS: dict[str, tuple[str, ...]] = {
    "stage": ("in", "not_in"),
    "phase": ("in",),
    "tags": ("has_any", "has_all", "has_none"),
    "attribute": ("eq", "ne", "in", "exists", "gt", "lt"),
    "owner": ("in", "is_empty"),
    "source": ("eq", "in"),
    "utm_campaign": ("eq",),
    **dict.fromkeys(DATE_FIELDS, ("before", "after", "within_days", "older_than_days")),
    "survey_category": ("in",),
    "purchase_count": ("gte", "lte", "eq"),
    "purchase_total": ("gte", "lte"),
    "referral_count": ("gte", "lte"),
    "email_consent": ("is",),
    "sms_consent": ("is",),
}
# keys a rule may carry besides field/op/value
EXTRA_KEYS: dict[str, dict[str, bool]] = {  # field -> {key: required}
    "attribute": {"key": True},
    "survey_category": {"survey_kind": False},
    "purchase_total": {"currency": True},
}

EXAMPLE = {
    "op": "and",
    "rules": [
        {"field": "phase", "op": "in", "value": ["engage"]},
        {"field": "tags", "op": "has_any", "value": ["vip"]},
        {
            "op": "or",
            "rules": [
                {"field": "attribute", "key": "plan", "op": "eq", "value": "team"},
                {"field": "purchase_count", "op": "gte", "value": 2},
            ],
        },
    ],
}
EXAMPLE_JSON = json.dumps(EXAMPLE, indent=2)
EMPTY = {"op": "and", "rules": []}  # matches every customer


class DefinitionInvalidError(InvalidFieldsError):
    """A definition that fails validation: every error, keyed by its path
    (`definition.rules[2].value`, `definition.rules[0].rules[1].op`)."""


# --- validation ---------------------------------------------------------------------------


class _Validator:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.rule_count = 0
        self.stage_slugs: set[str] | None = None
        self.user_ids: set[int] | None = None

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def group(self, node: Any, path: str, depth: int) -> dict[str, Any] | None:
        if not isinstance(node, dict):
            self.error(path, 'Give an object: {"op": "and" or "or", "rules": [...]}.')
            return None
        unknown = set(node) - {"op", "rules"}
        if unknown:
            self.error(path, f"Unknown keys in a group: {', '.join(sorted(unknown))}.")
        op = node.get("op")
        if op not in GROUP_OPS:
            self.error(f"{path}.op", f'A group\'s op is "and" or "or", not {op!r}.')
        if depth > MAX_DEPTH:
            self.error(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
            return None
        rules = node.get("rules")
        if not isinstance(rules, list):
            self.error(f"{path}.rules", "Give a list of rules and groups.")
            return None
        clean_rules = []
        for index, child in enumerate(rules):
            child_path = f"{path}.rules[{index}]"
            if isinstance(child, dict) and "rules" in child:
                clean = self.group(child, child_path, depth + 1)
            else:
                clean = self.rule(child, child_path)
            if clean is not None:
                clean_rules.append(clean)
        return {"op": op, "rules": clean_rules}

    def rule(self, node: Any, path: str) -> dict[str, Any] | None:
        self.rule_count += 1
        if self.rule_count == MAX_RULES + 1:
            self.error(path, f"A definition has at most {MAX_RULES} rules.")
        if not isinstance(node, dict):
            self.error(path, 'Give an object: {"field": ..., "op": ..., "value": ...}.')
            return None
        field = node.get("field")
        if field not in FIELD_OPS:
            self.error(f"{path}.field", f"Unknown field {field!r}; use {', '.join(FIELD_OPS)}.")
            return None
        extra = EXTRA_KEYS.get(field, {})
        unknown = set(node) - {"field", "op", "value"} - set(extra)
        if unknown:
            self.error(path, f"Unknown keys for {field}: {', '.join(sorted(unknown))}.")
        op = node.get("op")
        if op not in FIELD_OPS[field]:
            self.error(
                f"{path}.op", f"{field} takes op {' / '.join(FIELD_OPS[field])}, not {op!r}."
            )
            return None
        for key, required in extra.items():
            if required and key not in node:
                self.error(f"{path}.{key}", f"{field} needs a {key}.")
        if "value" not in node:
            self.error(f"{path}.value", "Give a value.")
            return None
        clean: dict[str, Any] = {"field": field, "op": op}
        checker = getattr(self, f"check_{field}", None) or self.check_date
        before = len(self.errors)
        checker(node, op, path, clean)
        return clean if len(self.errors) == before else None

    # --- value helpers ---

    def strings(self, value: Any, path: str, *, lower: bool = False) -> list[str] | None:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.error(path, "Give a non-empty list of strings.")
            return None
        if len(value) > MAX_LIST:
            self.error(path, f"Give at most {MAX_LIST} values.")
            return None
        if any(len(v) > MAX_STRING for v in value):
            self.error(path, f"A value has at most {MAX_STRING} characters.")
            return None
        cleaned = [v.strip().lower() if lower else v.strip() for v in value]
        return list(dict.fromkeys(cleaned))

    def string(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or len(value) > MAX_STRING:
            self.error(path, f"Give a string of at most {MAX_STRING} characters.")
            return None
        return value.strip()

    def whole(self, value: Any, path: str, *, low: int = 0, high: int = 10**9) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(path, f"Give a whole number from {low} to {high}.")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, "Give true or false.")
            return None
        return value

    # --- one per field ---

    def check_stage(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        slugs = self.strings(node["value"], f"{path}.value")
        if slugs is None:
            return
        if self.stage_slugs is None:
            self.stage_slugs = set(Stage.objects.values_list("slug", flat=True))
        unknown = [slug for slug in slugs if slug not in self.stage_slugs]
        if unknown:
            self.error(f"{path}.value", f"Unknown stages: {', '.join(unknown)}.")
        clean["value"] = slugs

    def check_phase(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        phases = self.strings(node["value"], f"{path}.value", lower=True)
        if phases is None:
            return
        unknown = [p for p in phases if p not in Phase.values]
        if unknown:
            self.error(
                f"{path}.value",
                f"Unknown phases: {', '.join(unknown)}; use {', '.join(Phase.values)}.",
            )
        clean["value"] = phases

    def check_tags(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        clean["value"] = self.strings(node["value"], f"{path}.value", lower=True)

    def check_attribute(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        key = node.get("key")
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            self.error(f"{path}.key", "Give the attribute's name (at most 100 characters).")
        else:
            clean["key"] = key.strip()
        value, value_path = node["value"], f"{path}.value"
        if op == "exists":
            clean["value"] = self.boolean(value, value_path)
        elif op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                self.error(value_path, f"Give a list of 1 to {MAX_LIST} values.")
            elif not all(_is_scalar(v) for v in value):
                self.error(value_path, "Give strings, numbers, true/false or null.")
            else:
                clean["value"] = value
        elif op in ("gt", "lt"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                self.error(value_path, "Give a number or a string (an ISO date compares).")
            else:
                clean["value"] = value
        elif not _is_scalar(value):
            self.error(value_path, "Give a string, a number, true/false or null.")
        else:
            clean["value"] = value

    def check_owner(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        value, value_path = node["value"], f"{path}.value"
        if op == "is_empty":
            clean["value"] = self.boolean(value, value_path)
            return
        if (
            not isinstance(value, list)
            or not value
            or len(value) > MAX_LIST
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            self.error(value_path, "Give a non-empty list of user ids.")
            return
        if self.user_ids is None:
            self.user_ids = set(get_user_model().objects.values_list("pk", flat=True))
        unknown = [str(v) for v in value if v not in self.user_ids]
        if unknown:
            self.error(value_path, f"Unknown users: {', '.join(unknown)}.")
        clean["value"] = list(dict.fromkeys(value))

    def check_source(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        if op == "in":
            clean["value"] = self.strings(node["value"], f"{path}.value")
        else:
            clean["value"] = self.string(node["value"], f"{path}.value")

    def check_utm_campaign(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        clean["value"] = self.string(node["value"], f"{path}.value")

    def check_date(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        value, value_path = node["value"], f"{path}.value"
        if op in ("within_days", "older_than_days"):
            clean["value"] = self.whole(value, value_path, low=0, high=MAX_DAYS)
            return
        if not isinstance(value, str) or _parse_moment(value) is None:
            self.error(value_path, "Give an ISO date (2024-05-31) or date-time.")
            return
        clean["value"] = value

    def check_survey_category(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        categories = self.strings(node["value"], f"{path}.value", lower=True)
        if categories is not None:
            unknown = [c for c in categories if c not in Category.values]
            if unknown:
                self.error(
                    f"{path}.value",
                    f"Unknown categories: {', '.join(unknown)}; use {', '.join(Category.values)}.",
                )
            clean["value"] = categories
        kind = node.get("survey_kind")
        if kind is not None:
            if kind not in SurveyKind.values:
                self.error(
                    f"{path}.survey_kind",
                    f"Unknown survey kind {kind!r}; use {', '.join(SurveyKind.values)}.",
                )
            clean["survey_kind"] = kind

    def check_purchase_count(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        clean["value"] = self.whole(node["value"], f"{path}.value")

    def check_referral_count(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        clean["value"] = self.whole(node["value"], f"{path}.value")

    def check_purchase_total(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        value = node["value"]
        try:
            amount = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0 or amount >= 10**12:
            self.error(f"{path}.value", 'Give an amount of 0 or more, like 100 or "99.50".')
        else:
            clean["value"] = str(amount)
        currency = node.get("currency")
        if currency is not None:
            if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
                self.error(f"{path}.currency", "Give a three-letter currency code, like EUR.")
            else:
                clean["currency"] = currency.upper()

    def check_email_consent(self, node: dict[str, Any], op: str, path: str, clean: dict) -> None:
        clean["value"] = self.boolean(node["value"], f"{path}.value")

    check_sms_consent = check_email_consent


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _parse_moment(text: str) -> datetime | None:
    """An aware datetime for an ISO date (its midnight, project time zone) or date-time."""
    try:
        moment = parse_datetime(text)
        day = None if moment else parse_date(text)
    except ValueError:
        return None
    if moment is None and day is None:
        return None
    if moment is None:
        assert isinstance(day, date)
        moment = datetime.combine(day, time.min)
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        # In UTC: PostgreSQL refuses offsets beyond ±15:59, which Python reads (-20:43).
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # the first or last day of year 1 or 9999, shifted
        return None


def definition_validate(definition: Any, *, path: str = "definition") -> dict[str, Any]:
    """The cleaned definition; DefinitionInvalidError with every error keyed by path."""
    validator = _Validator()
    if definition in (None, ""):
        definition = EMPTY
    # Text no column takes (NUL, lone surrogates) is refused wherever it sits, key or value:
    # the rules are stored as jsonb and their strings reach queries.
    unstorable = text_errors(definition, path=path)
    if unstorable:
        raise DefinitionInvalidError(unstorable)
    clean = validator.group(definition, path, depth=1)
    if validator.errors or clean is None:
        raise DefinitionInvalidError(validator.errors or {path: ["Give a definition."]})
    return clean


# --- compilation --------------------------------------------------------------------------


class _JsonPathExists(Func):
    """jsonb_path_exists(attributes, path, vars): a typed comparison inside a JSON value."""

    function = "jsonb_path_exists"
    template = "%(function)s(%(expressions)s)"
    output_field = BooleanField()


class _Cast(Func):
    template = "(%(expressions)s)::%(type)s"


def _jsonpath_key(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'


def _attribute_q(rule: dict[str, Any]) -> Q:
    key, op, value = rule["key"], rule["op"], rule["value"]
    if op == "exists":
        has = Q(attributes__has_key=key)
        return has if value else ~has
    if op in ("eq", "ne"):
        # Containment (@>) compares JSON values exactly and a GIN index on attributes serves it.
        equal = Q(attributes__contains={key: value})
        return equal if op == "eq" else ~equal
    if op == "in":
        condition = Q()
        for item in value:
            condition |= Q(attributes__contains={key: item})
        return condition
    # gt / lt: jsonpath compares numbers with numbers and strings with strings, never across.
    symbol = ">" if op == "gt" else "<"
    path = f"{_jsonpath_key(key)} ? (@ {symbol} $v)"
    return Q(
        _JsonPathExists(
            F("attributes"),
            _Cast(Value(path), type="jsonpath"),
            _Cast(Value(json.dumps({"v": value})), type="jsonb"),
        )
    )


def _date_q(rule: dict[str, Any], now: datetime) -> Q:
    field, op, value = rule["field"], rule["op"], rule["value"]
    if op == "before":
        return Q(**{f"{field}__lt": _parse_moment(value)})
    if op == "after":
        return Q(**{f"{field}__gte": _parse_moment(value)})
    threshold = now - timedelta(days=value)
    if op == "within_days":
        return Q(**{f"{field}__gte": threshold})
    return Q(**{f"{field}__lt": threshold})


def _customers_having(queryset: Any, aggregate: Any, lookup: str, value: Any) -> Q:
    """Customers whose rows in `queryset` (grouped by customer) satisfy `aggregate lookup value`.

    An IN over a grouped subquery: PostgreSQL hashes it once instead of running a correlated
    subquery per customer. Customers without rows have an aggregate of 0; `lte` and `eq 0`
    are written as "not among those above", so they match them too.
    """
    grouped = queryset.values("customer_id").annotate(total=aggregate)
    if lookup == "gte":
        if Decimal(value) <= 0:
            return Q()
        if isinstance(aggregate, Count) and value == 1:
            # "At least one": a plain semi-join, no grouping needed.
            return Q(pk__in=queryset.values("customer_id"))
        return Q(pk__in=grouped.filter(total__gte=value).values("customer_id"))
    if lookup == "lte":
        return ~Q(pk__in=grouped.filter(total__gt=value).values("customer_id"))
    # eq
    if Decimal(value) == 0:
        return ~Q(pk__in=queryset.values("customer_id"))
    return Q(pk__in=grouped.filter(total=value).values("customer_id"))


def _survey_category_q(rule: dict[str, Any]) -> Q:
    from surveys.models import Response

    answers = Response.objects.all()
    if rule.get("survey_kind"):
        answers = answers.filter(kind=rule["survey_kind"])
    later = answers.filter(customer_id=OuterRef("customer_id")).filter(
        Q(answered_at__gt=OuterRef("answered_at"))
        | Q(answered_at=OuterRef("answered_at"), pk__gt=OuterRef("pk"))
    )
    latest = answers.filter(category__in=rule["value"]).exclude(Exists(later))
    return Q(pk__in=latest.values("customer_id"))


def _rule_q(rule: dict[str, Any], now: datetime) -> Q:
    from customers.models import Customer
    from interactions.models import Purchase

    field, op, value = rule["field"], rule["op"], rule.get("value")
    if field == "stage":
        condition = Q(stage__slug__in=value)
        return condition if op == "in" else ~condition
    if field == "phase":
        return Q(stage__phase__in=value)
    if field == "tags":
        if op == "has_all":
            return Q(tags__contains=value)
        overlap = Q(tags__overlap=value)
        return overlap if op == "has_any" else ~overlap
    if field == "attribute":
        return _attribute_q(rule)
    if field == "owner":
        if op == "is_empty":
            return Q(owner__isnull=value)
        return Q(owner_id__in=value)
    if field == "source":
        return Q(source__in=value) if op == "in" else Q(source=value)
    if field == "utm_campaign":
        return Q(utm_campaign=value)
    if field in DATE_FIELDS:
        return _date_q(rule, now)
    if field == "survey_category":
        return _survey_category_q(rule)
    if field == "purchase_count":
        return _customers_having(Purchase.objects.all(), Count("id"), op, value)
    if field == "purchase_total":
        purchases = Purchase.objects.filter(currency=rule["currency"])
        # A validated purchase_total always carries its amount, as a string.
        return _customers_having(purchases, Sum("amount"), op, Decimal(rule["value"]))
    if field == "referral_count":
        # The same count as the customer list's `referral_count`: who has them as referred_by.
        referred = Customer.objects.filter(referred_by__isnull=False)
        referrals = referred.annotate(customer_id=F("referred_by_id"))
        return _customers_having(referrals, Count("id"), op, value)
    if field in ("email_consent", "sms_consent"):
        return Q(**{field: value})
    raise ValueError(f"Unknown field {field!r}")  # validation makes this unreachable


def _group_q(group: dict[str, Any], now: datetime) -> Q:
    parts = [
        _group_q(child, now) if "rules" in child else _rule_q(child, now)
        for child in group["rules"]
    ]
    if not parts:
        # An empty AND is everyone; an empty OR is no one.
        return Q() if group["op"] == "and" else Q(pk__in=[])
    condition = parts[0]
    for part in parts[1:]:
        condition = condition & part if group["op"] == "and" else condition | part
    return condition


def definition_q(definition: Any, *, now: datetime | None = None) -> Q:
    """One Q over Customer for `definition` (validated here; DefinitionInvalidError if bad).

    `now` anchors within_days / older_than_days (default: the current time).
    """
    clean = definition_validate(definition)
    return _group_q(clean, now or timezone.now())
