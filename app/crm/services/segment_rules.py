"""The vocabulary of segment rules (CRM-8): which facts about an account a rule may test, with which
operators and values, how a rule is validated, and the SQL condition it becomes.

A segment's ``rules`` column holds the validated, normalised JSON:

    [{"field": "monetary", "op": "gte", "value": "10000", "days": 365},
     {"field": "region", "op": "in", "value": ["华东", "华南"]},
     {"field": "tags", "op": "any", "value": ["vip"]},
     {"field": "r_score", "op": "between", "value": [4, 5]}]

    match, rules = validate_rules(raw_rules, "all")     # ValidationFailed naming rules[i].<key>
    clause = where_clause(rules, match, stats.c)        # over segments.account_stats() columns

Unknown fields, operators, keys and values of the wrong type are field errors; nothing is guessed.
Every value reaches SQL as a bound parameter.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, func, not_, or_, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY

from app.crm.models.customers import ACCOUNT_KINDS, LIFECYCLE_STAGES
from app.crm.services.fields import clean_date, clean_decimal, clean_int
from app.kernel import i18n
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy

NUMBER_OPS = ("gte", "lte", "gt", "lt", "eq", "ne", "between")
LIST_OPS = ("in", "not_in")
TAG_OPS = ("any", "all", "none")
DATE_OPS = ("after", "before", "between")
MATCHES = ("all", "any")
MAX_RULES = 30
MAX_VALUES = 50
MAX_WINDOW_DAYS = 3650
_SPLIT_RE = re.compile(r"[,，、;；\n]")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # English msgid
    kind: str  # money | int | score | date | choice | text | country | tags
    ops: tuple[str, ...]
    choices: tuple[str, ...] = ()
    windowed: bool = False  # monetary: an optional "days" window
    hint: str = ""


FIELDS: dict[str, FieldSpec] = {
    f.key: f
    for f in (
        FieldSpec(
            "monetary",
            lazy("Spend"),
            "money",
            NUMBER_OPS,
            windowed=True,
            hint=lazy("Total of confirmed, fulfilled and invoiced orders in the base currency."),
        ),
        FieldSpec("recency", lazy("Days since the last order"), "int", NUMBER_OPS),
        FieldSpec("frequency", lazy("Orders in the last 365 days"), "int", NUMBER_OPS),
        FieldSpec("r_score", lazy("Recency score (R, 1–5)"), "score", NUMBER_OPS),
        FieldSpec("f_score", lazy("Frequency score (F, 1–5)"), "score", NUMBER_OPS),
        FieldSpec("m_score", lazy("Monetary score (M, 1–5)"), "score", NUMBER_OPS),
        FieldSpec("region", lazy("Region"), "text", LIST_OPS),
        FieldSpec("country", lazy("Country"), "country", LIST_OPS),
        FieldSpec("tags", lazy("Tags"), "tags", TAG_OPS),
        FieldSpec("lifecycle_stage", lazy("Lifecycle stage"), "choice", LIST_OPS, LIFECYCLE_STAGES),
        FieldSpec("industry", lazy("Industry"), "text", LIST_OPS),
        FieldSpec("kind", lazy("Account type"), "choice", LIST_OPS, ACCOUNT_KINDS),
        FieldSpec("created", lazy("Account created"), "date", DATE_OPS),
    )
}

OP_LABELS = {
    "gte": lazy("at least"),
    "lte": lazy("at most"),
    "gt": lazy("more than"),
    "lt": lazy("less than"),
    "eq": lazy("equals"),
    "ne": lazy("does not equal"),
    "between": lazy("between"),
    "in": lazy("is one of"),
    "not_in": lazy("is none of"),
    "any": lazy("has any of"),
    "all": lazy("has all of"),
    "none": lazy("has none of"),
    "after": lazy("on or after"),
    "before": lazy("on or before"),
}


@dataclass(frozen=True)
class Rule:
    field: str
    op: str
    value: Any  # Decimal | int | date | list[str] | tuple of two for "between"
    days: int | None = None  # monetary only: the window; None = all time

    def to_json(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, date):
                return v.isoformat()
            return v

        value = [plain(v) for v in self.value] if isinstance(self.value, list | tuple) else plain(self.value)
        out: dict[str, Any] = {"field": self.field, "op": self.op, "value": value}
        if FIELDS[self.field].windowed:
            out["days"] = self.days
        return out


def validate_rules(raw: object, match: object = "all") -> tuple[str, list[Rule]]:
    """The normalised match mode and rules, or ValidationFailed with every problem at once."""
    errors: list[FieldError] = []
    mode = str(match or "all").strip()
    if mode not in MATCHES:
        errors.append(FieldError("match", "Choose one of: {choices}.", {"choices": ", ".join(MATCHES)}))
    rules: list[Rule] = []
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        errors.append(FieldError("rules", "Rules must be a list of conditions."))
        raise ValidationFailed(errors)
    if len(raw) > MAX_RULES:
        errors.append(FieldError("rules", "Use at most {n} conditions.", {"n": MAX_RULES}))
    for i, item in enumerate(raw[:MAX_RULES]):
        rule = _validate_rule(item, f"rules[{i}]", errors)
        if rule is not None:
            rules.append(rule)
    if errors:
        raise ValidationFailed(errors)
    return mode, rules


def rules_from_json(stored: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Stored rules back into ``Rule``s (they were validated when saved)."""
    return validate_rules(list(stored))[1]


def _validate_rule(item: object, at: str, errors: list[FieldError]) -> Rule | None:
    if not isinstance(item, Mapping):
        errors.append(FieldError(at, "Each condition is an object with field, op and value."))
        return None
    unknown = sorted(set(map(str, item)) - {"field", "op", "value", "days"})
    for key in unknown:
        errors.append(FieldError(f"{at}.{key}", "Unknown key: {key}.", {"key": key}))
    spec = FIELDS.get(str(item.get("field") or ""))
    if spec is None:
        errors.append(FieldError(f"{at}.field", "Unknown field: {field}.", {"field": str(item.get("field"))}))
        return None
    op = str(item.get("op") or "")
    if op not in spec.ops:
        errors.append(FieldError(f"{at}.op", "Choose one of: {choices}.", {"choices": ", ".join(spec.ops)}))
        return None
    days: int | None = None
    if spec.windowed:
        if item.get("days") not in (None, ""):
            days = clean_int(item.get("days"), f"{at}.days", errors, minimum=1, maximum=MAX_WINDOW_DAYS)
    elif "days" in item:
        errors.append(FieldError(f"{at}.days", "Unknown key: {key}.", {"key": "days"}))
    n_before = len(errors)
    value = _validate_value(spec, op, item.get("value"), f"{at}.value", errors)
    if len(errors) > n_before or unknown:
        return None
    return Rule(spec.key, op, value, days)


def _validate_value(spec: FieldSpec, op: str, value: object, at: str, errors: list[FieldError]) -> Any:
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            errors.append(FieldError(at, "Give two values: from and to."))
            return None
        low, high = (_scalar(spec, v, at, errors) for v in value)
        if low is not None and high is not None and low > high:
            errors.append(FieldError(at, "The first value must not be larger than the second."))
        return (low, high)
    if spec.kind in ("text", "country", "choice", "tags"):
        return _values(spec, value, at, errors)
    if isinstance(value, list | tuple):
        errors.append(FieldError(at, "Give one value."))
        return None
    return _scalar(spec, value, at, errors)


def _scalar(spec: FieldSpec, value: object, at: str, errors: list[FieldError]) -> Any:
    if isinstance(value, bool) or (value is not None and not isinstance(value, str | int | float)):
        if spec.kind == "date":
            errors.append(FieldError(at, "Enter a date as YYYY-MM-DD."))
        else:
            errors.append(FieldError(at, "Enter a number."))
        return None
    if spec.kind == "money":
        return clean_decimal(value, at, errors, places=2)
    if spec.kind == "int":
        return clean_int(value, at, errors, minimum=0, maximum=1_000_000)
    if spec.kind == "score":
        return clean_int(value, at, errors, minimum=1, maximum=5)
    return clean_date(value, at, errors, required=True)


def _values(spec: FieldSpec, value: object, at: str, errors: list[FieldError]) -> list[str]:
    """A list of strings, from a JSON list or "a, b、c"; trimmed and de-duplicated."""
    if isinstance(value, str):
        items: list[object] = list(_SPLIT_RE.split(value))
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        errors.append(FieldError(at, "Give at least one value."))
        return []
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            errors.append(FieldError(at, "Each value must be text."))
            return []
        text = " ".join(item.split())
        if spec.kind == "country":
            text = text.upper()
        if text and text.lower() not in (v.lower() for v in out):
            out.append(text)
    if not out:
        errors.append(FieldError(at, "Give at least one value."))
    elif len(out) > MAX_VALUES:
        errors.append(FieldError(at, "Use at most {n} values.", {"n": MAX_VALUES}))
    elif any(len(v) > 80 for v in out):
        errors.append(FieldError(at, "Use at most {n} characters.", {"n": 80}))
    elif spec.kind == "country" and not all(_COUNTRY_RE.match(v) for v in out):
        errors.append(FieldError(at, "Use the two-letter country code (CN, TW, HK, SG, US…)."))
    elif spec.kind == "choice" and any(v not in spec.choices for v in out):
        errors.append(FieldError(at, "Choose one of: {choices}.", {"choices": ", ".join(spec.choices)}))
    return out


def windows(rules: Sequence[Rule]) -> set[int | None]:
    """The spend windows the rules need, besides the 365 days every refresh computes."""
    return {r.days for r in rules if FIELDS[r.field].windowed and r.days != 365}


def monetary_column(days: int | None) -> str:
    return "monetary" if days == 365 else f"monetary_{days or 'all'}"


def where_clause(rules: Sequence[Rule], match: str, cols: Any) -> Any:
    """The WHERE condition over the columns of ``segments.account_stats`` (no rules: everyone)."""
    if not rules:
        return true()
    parts = [_condition(r, cols) for r in rules]
    return and_(*parts) if match == "all" else or_(*parts)


def _condition(rule: Rule, cols: Any) -> Any:
    spec = FIELDS[rule.field]
    if spec.windowed:
        col = cols[monetary_column(rule.days)]
    elif spec.kind in ("text", "country"):
        col = func.coalesce(cols[rule.field] if spec.kind == "country" else func.lower(cols[rule.field]), "")
    else:
        col = cols[rule.field]
    op, value = rule.op, rule.value
    if spec.kind == "tags":
        # Tags match case-insensitively; a tag never contains a comma (services/fields.py).
        lowered = type_coerce(
            func.string_to_array(func.lower(func.array_to_string(col, ",")), ","), ARRAY(Text)
        )
        wanted = [v.lower() for v in value]
        if op == "any":
            return lowered.overlap(wanted)
        if op == "all":
            return lowered.contains(wanted)
        return not_(lowered.overlap(wanted))
    if op in LIST_OPS:
        wanted = [v.lower() for v in value] if spec.kind == "text" else list(value)
        return col.in_(wanted) if op == "in" else col.not_in(wanted)
    if op == "between":
        return col.between(value[0], value[1])
    return _COMPARE[op](col, value)


_COMPARE = {
    "gte": operator.ge,
    "lte": operator.le,
    "gt": operator.gt,
    "lt": operator.lt,
    "eq": operator.eq,
    "ne": operator.ne,
    "after": operator.ge,
    "before": operator.le,
}


def describe(rule: Rule, currency: str) -> str:
    """One condition in words, in the reader's language: "Spend in the last 365 days at least ¥10,000.00"."""
    spec = FIELDS[rule.field]

    def show(v: Any) -> str:
        if spec.kind == "money":
            return i18n.format_money(v, currency)
        if spec.kind == "date":
            return i18n.format_date(v)
        if spec.kind == "choice":
            return i18n.gettext(CHOICE_LABELS.get(v, v))
        return str(v)

    if rule.op == "between":
        value = i18n.gettext("{low} and {high}", low=show(rule.value[0]), high=show(rule.value[1]))
    elif isinstance(rule.value, list):
        value = ", ".join(show(v) for v in rule.value)
    else:
        value = show(rule.value)
    label = i18n.gettext(spec.label)
    if spec.windowed:
        label = (
            i18n.gettext("Spend in the last {n} days", n=rule.days)
            if rule.days
            else i18n.gettext("Spend, all time")
        )
    # "Spend in the last 365 days at least ¥10,000.00" / "最近 365 天消费金额 至少 ¥10,000.00": the
    # same order in every language, so not a msgid.
    return f"{label} {i18n.gettext(OP_LABELS[rule.op])} {value}"


# Stored codes of the choice fields, as people read them.
CHOICE_LABELS = {
    "prospect": lazy("Prospect"),
    "customer": lazy("Customer"),
    "partner": lazy("Partner"),
    "churned": lazy("Churned"),
    "company": lazy("Company"),
    "person": lazy("Individual"),
}
