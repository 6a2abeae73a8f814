"""The segment rule editor's form: rows of (field, operator, value[, second value][, days]) ⇄ rules.

Rows are posted as ``rule-<i>-field``, ``rule-<i>-op``, ``rule-<i>-value``, ``rule-<i>-value2``
and ``rule-<i>-days``; rows without a field are ignored (the editor always offers an empty one).
The service validates; its errors name ``rules[k].<key>``, and the form is re-rendered with the
rows in the same order, so row k shows rule k's errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.crm.services.segment_rules import CHOICE_LABELS, FIELDS, OP_LABELS
from app.kernel import i18n

_ROW_RE = re.compile(r"^rule-(\d{1,3})-field$")
_SPLIT_RE = re.compile(r"[,，、;；]")


def _choice_codes(text: str, choices: Sequence[str]) -> str:
    """People type the labels they see (客户, Customer); the service wants the codes."""
    by_label = {}
    for code in choices:
        label = CHOICE_LABELS.get(code, code)
        for name in (code, label, i18n.gettext(label)):
            by_label[name.strip().lower()] = code
    parts = [p.strip() for p in _SPLIT_RE.split(text) if p.strip()]
    return ", ".join(by_label.get(p.lower(), p) for p in parts)


def _choice_labels(values: Sequence[Any]) -> str:
    return ", ".join(i18n.gettext(CHOICE_LABELS.get(str(v), str(v))) for v in values)


def rows_from_form(form: Mapping[str, Any]) -> list[dict[str, str]]:
    """The non-empty rows, in their order on the page."""
    indexes = sorted(int(m.group(1)) for key in form if (m := _ROW_RE.match(key)))
    rows = []
    for i in indexes:
        row = {
            k: str(form.get(f"rule-{i}-{k}") or "").strip()
            for k in ("field", "op", "value", "value2", "days")
        }
        if row["field"]:
            rows.append(row)
    return rows


def rules_from_rows(rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """What the service validates: between → [from, to]; days only where the field has a window."""
    rules: list[dict[str, Any]] = []
    for row in rows:
        rule: dict[str, Any] = {"field": row["field"], "op": row["op"]}
        spec = FIELDS.get(row["field"])
        value = row["value"]
        if spec is not None and spec.choices:
            value = _choice_codes(value, spec.choices)
        rule["value"] = [value, row["value2"]] if row["op"] == "between" else value
        if spec is not None and spec.windowed and row.get("days"):
            rule["days"] = row["days"]
        rules.append(rule)
    return rules


def rows_from_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Stored rules as editor rows."""
    rows = []
    for rule in rules:
        value = rule.get("value")
        first, second = "", ""
        if rule.get("op") == "between" and isinstance(value, list):
            first, second = str(value[0]), str(value[1])
        elif isinstance(value, list) and FIELDS[str(rule["field"])].choices:
            first = _choice_labels(value)
        elif isinstance(value, list):
            first = ", ".join(str(v) for v in value)
        elif value is not None:
            first = str(value)
        days = rule.get("days")
        rows.append(
            {"field": str(rule["field"]), "op": str(rule["op"]), "value": first, "value2": second,
             "days": "" if days is None else str(days)}
        )  # fmt: skip
    return rows


def editor_context() -> dict[str, Any]:
    """Field and operator choices for the template (and, as data attributes, for marketing.js)."""
    fields = []
    for spec in FIELDS.values():
        if spec.choices:
            hint = i18n.gettext("One or more of: {choices}", choices=_choice_labels(spec.choices))
        elif spec.kind in ("text", "country", "tags"):
            hint = i18n.gettext("One or more, separated by commas")
        elif spec.kind == "date":
            hint = i18n.gettext("A date, YYYY-MM-DD")
        elif spec.kind == "score":
            hint = i18n.gettext("1 (lowest) to 5 (best)")
        else:
            hint = i18n.gettext("A number")
        fields.append(
            {"key": spec.key, "label": i18n.gettext(spec.label), "ops": " ".join(spec.ops), "hint": hint,
             "windowed": spec.windowed, "kind": spec.kind}
        )  # fmt: skip
    ops = [(key, i18n.gettext(label)) for key, label in OP_LABELS.items()]
    return {"rule_fields": fields, "rule_ops": ops}
