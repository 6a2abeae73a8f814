"""Likely duplicates (CRM-1): while a user types a new account or contact, on import, and as a
list of pairs to merge. Only records the principal may see are ever compared or shown.

Signals, strongest first: the same e-mail address (``lower(email)``), the same phone digits
(``phone_digits``: "+86 138-0013-8000" = "13800138000"), and a similar name by pg_trgm. Company
names are compared on their *core* — lower-cased, without legal forms (有限公司, Co., Ltd., GmbH…)
and punctuation — because "上海张伟科技有限公司" and "上海明辉科技有限公司" share most of their
trigrams and are not the same company, while "华为技术" inside "深圳华为技术有限公司" is.

    hints = await similar_accounts(session, principal, name="明辉贸易", email=None, phone=None)
    pairs = await duplicate_account_pairs(session, principal)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, false, func, literal, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.crm.models import Account, Contact
from app.crm.models.customers import name_core
from app.crm.services.fields import phone_digits
from app.crm.services.visibility import account_clause
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ACCOUNT_READ
from app.security.principal import Principal
from app.security.record_rules import visibility_clause

# A name this similar (trigram similarity of the cores, 0..1) is worth a look.
NAME_THRESHOLD = 0.45
PERSON_THRESHOLD = 0.5
# Scores of the exact signals, above any name similarity.
EMAIL_SCORE = 1.0
PHONE_SCORE = 0.95
CONTAINED_SCORE = 0.8

REASON_EMAIL = lazy("Same e-mail address")
REASON_PHONE = lazy("Same phone number")
REASON_NAME = lazy("Similar name")

_PY_LEGAL = re.compile(
    r"股份有限公司|有限责任公司|有限公司|集团|公司"
    r"|\b(co|ltd|limited|inc|corp|corporation|company|gmbh|llc|plc|ag|sa|bv|srl|pte)\b\.?"
)
_PY_PUNCT = re.compile(r"[\s!-/:-@\[-`{-~（）【】《》，。、·：；]+")


def core_name(name: str | None) -> str:
    """A company name without legal form, spaces and punctuation (Python twin of ``core_expr``)."""
    return _PY_PUNCT.sub("", _PY_LEGAL.sub("", (name or "").lower()))


def core_expr(column: Any) -> Any:
    """The SQL core of a name: the expression of the GiST index ix_crm_accounts_name_core."""
    return name_core(column)


def nearest_first(column: Any, core: Any) -> Any:
    """ORDER BY the trigram distance of the column's core to ``core`` (KNN on the GiST index)."""
    return name_core(column).op("OPERATOR(public.<->)")(core)


def trgm_similar(left: Any, right: Any) -> Any:
    """``left % right``: pg_trgm's indexable similarity test (threshold pg_trgm.similarity_threshold)."""
    return left.op("OPERATOR(public.%)", is_comparison=True)(right)


def name_score(a_core: Any, b_core: Any) -> Any:
    """How alike two cores are: trigram similarity, or CONTAINED_SCORE when one holds the other
    and is at least half its length ("华为技术" in "深圳华为技术"); 0 when both carry numbers and
    the numbers differ."""
    contained = or_(
        and_(
            func.length(b_core) >= 2,
            func.strpos(a_core, b_core) > 0,
            func.length(b_core) * 2 >= func.length(a_core),
        ),
        and_(
            func.length(a_core) >= 2,
            func.strpos(b_core, a_core) > 0,
            func.length(a_core) * 2 >= func.length(b_core),
        ),
    )
    # "Branch 1" and "Branch 2" share almost every trigram but are two records by design.
    a_digits, b_digits = (
        func.regexp_replace(a_core, r"\D", "", "g"),
        func.regexp_replace(b_core, r"\D", "", "g"),
    )
    numbered_apart = and_(a_digits != "", b_digits != "", a_digits != b_digits)
    score = func.greatest(
        func.public.similarity(a_core, b_core), case((contained, CONTAINED_SCORE), else_=0.0)
    )
    return case((numbered_apart, 0.0), else_=score)


@dataclass(frozen=True)
class Duplicate:
    """A record that may be the same as what the user is entering, and why."""

    id: int
    name: str
    email: str | None
    phone: str | None
    account_id: int
    account_name: str
    reasons: list[str]  # English msgids
    score: float


def _reasons(same_email: bool, same_phone: bool, name_score: float, threshold: float) -> list[str]:
    reasons = []
    if same_email:
        reasons.append(REASON_EMAIL)
    if same_phone:
        reasons.append(REASON_PHONE)
    if name_score >= threshold:
        reasons.append(REASON_NAME)
    return reasons


async def similar_accounts(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str | None,
    email: str | None = None,
    phone: str | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Duplicate]:
    """Visible accounts that may be the one described (the new-account form, the import)."""
    name = " ".join((name or "").split())
    core = core_name(name)
    email = (email or "").strip().lower() or None
    digits = phone_digits(phone) or None
    if len(core) < 2 and not email and not (digits and len(digits) >= 6):
        return []
    score = name_score(core_expr(Account.name), literal(core)) if len(core) >= 2 else literal(0.0)
    same_email = (func.lower(Account.email) == email) if email else false()
    same_phone = (Account.phone_digits == digits) if digits and len(digits) >= 6 else false()
    clause = account_clause(principal)

    def candidates(stmt: Select[Any], n: int) -> Select[Any]:
        stmt = stmt.where(Account.merged_into_id.is_(None))
        if exclude_id is not None:
            stmt = stmt.where(Account.id != exclude_id)
        return (stmt if clause is None else stmt.where(clause)).limit(n)

    # A few candidates by index (each bounded), then the scores of those only: the cost does not
    # grow with the number of accounts, however many share a word with the name typed.
    parts = []
    if email:
        parts.append(candidates(select(Account.id).where(same_email), limit))
    if digits and len(digits) >= 6:
        parts.append(candidates(select(Account.id).where(same_phone), limit))
    if len(core) >= 2:
        parts.append(candidates(select(Account.id).order_by(nearest_first(Account.name, core)), 4 * limit))
    if len(name) >= 3:  # "华为技术" inside "深圳华为技术有限公司" (the trigram index serves LIKE)
        pattern = f"%{_like_escape(name.lower())}%"
        parts.append(candidates(select(Account.id).where(func.lower(Account.name).like(pattern)), 4 * limit))
    ids = union(*[p.subquery().select() for p in parts]) if len(parts) > 1 else parts[0]
    total = case((same_email, EMAIL_SCORE), (same_phone, PHONE_SCORE), else_=cast(score, Float))
    stmt = (
        select(Account, same_email, same_phone, score)
        .where(Account.id.in_(ids))
        .where(or_(same_email, same_phone, score >= NAME_THRESHOLD))
        .order_by(total.desc(), Account.id)
        .limit(limit)
    )
    out = []
    for account, by_email, by_phone, similarity in (await session.execute(stmt)).all():
        out.append(
            Duplicate(
                id=account.id,
                name=account.name,
                email=account.email,
                phone=account.phone,
                account_id=account.id,
                account_name=account.name,
                reasons=_reasons(bool(by_email), bool(by_phone), float(similarity), NAME_THRESHOLD),
                score=EMAIL_SCORE if by_email else PHONE_SCORE if by_phone else float(similarity),
            )
        )
    return out


async def similar_contacts(
    session: AsyncSession,
    principal: Principal,
    *,
    full_name: str | None,
    email: str | None = None,
    phone: str | None = None,
    account_id: int | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Duplicate]:
    """Visible contacts that may be this person: the same e-mail or phone anywhere, or a similar
    name at the same account (a name alone elsewhere is no evidence: there are many 张伟)."""
    name = " ".join((full_name or "").split()).lower()
    email = (email or "").strip().lower() or None
    digits = phone_digits(phone) or None
    same_email = (func.lower(Contact.email) == email) if email else false()
    same_phone = (Contact.phone_digits == digits) if digits and len(digits) >= 6 else false()
    if name and account_id is not None:
        score: Any = func.public.similarity(func.lower(Contact.full_name), name)
        same_account_name = and_(Contact.account_id == account_id, score >= PERSON_THRESHOLD)
    else:
        score, same_account_name = literal(0.0), false()
    if not (email or digits or (name and account_id)):
        return []
    total = case((same_email, EMAIL_SCORE), (same_phone, PHONE_SCORE), else_=cast(score, Float))
    stmt = (
        select(Contact, Account.name, same_email, same_phone, score)
        .join(Account, Account.id == Contact.account_id)
        .where(Account.merged_into_id.is_(None), Contact.archived_at.is_(None))
        .where(or_(same_email, same_phone, same_account_name))
        .order_by(total.desc(), Contact.id)
        .limit(limit)
    )
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    clause = account_clause(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    out = []
    for contact, account_name, by_email, by_phone, similarity in (await session.execute(stmt)).all():
        out.append(
            Duplicate(
                id=contact.id,
                name=contact.full_name,
                email=contact.email,
                phone=contact.phone or contact.mobile,
                account_id=contact.account_id,
                account_name=account_name,
                reasons=_reasons(bool(by_email), bool(by_phone), float(similarity), PERSON_THRESHOLD),
                score=EMAIL_SCORE if by_email else PHONE_SCORE if by_phone else float(similarity),
            )
        )
    return out


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class DuplicatePair:
    first: Account  # the older account (the usual survivor of a merge)
    second: Account
    reasons: list[str]
    score: float


async def duplicate_account_pairs(
    session: AsyncSession, principal: Principal, *, page: int = 1, window: int = 200
) -> tuple[list[DuplicatePair], bool]:
    """Likely duplicate pairs among the accounts the principal sees, newest accounts first.

    Each page compares ``window`` accounts (by id, newest first) with every visible account, a
    few index probes each, so the page costs the same whatever the size of the tenant. Returns
    the pairs and whether older accounts remain to be compared.
    """
    a = aliased(Account, name="a")
    b = aliased(Account, name="b")
    ruled = account_clause(principal) is not None  # False: the principal sees every account
    window_stmt = select(a).where(a.merged_into_id.is_(None), a.archived_at.is_(None))
    if ruled:
        window_stmt = window_stmt.where(account_clause_for(a, principal))
    window_sq = window_stmt.order_by(a.id.desc()).limit(window).offset((page - 1) * window).subquery("w")
    w = aliased(Account, window_sq, name="w")
    score = name_score(core_expr(b.name), core_expr(w.name))
    same_email = and_(w.email.is_not(None), func.lower(b.email) == func.lower(w.email))
    same_phone = b.phone_digits == func.nullif(w.phone_digits, "")
    near = (
        select(b.id)
        .where(b.id != w.id, b.merged_into_id.is_(None), b.archived_at.is_(None))
        .order_by(nearest_first(b.name, core_expr(w.name)))
        .limit(5)
        .correlate(window_sq)
    )
    exact = (
        select(b.id)
        .where(b.id != w.id, b.merged_into_id.is_(None), or_(same_email, same_phone))
        .limit(5)
        .correlate(window_sq)
    )
    if ruled:
        near, exact = (
            near.where(account_clause_for(b, principal)),
            exact.where(account_clause_for(b, principal)),
        )
    candidates = union(near.subquery().select(), exact.subquery().select()).subquery("c")
    match = (
        select(b.id.label("other_id"), same_email.label("by_email"), same_phone.label("by_phone"),
               score.label("name_score"))
        .where(b.id.in_(select(candidates.c.id)))
        .where(or_(same_email, same_phone, score >= NAME_THRESHOLD))
        .order_by(score.desc())
        .limit(3)
    )  # fmt: skip
    lateral = match.lateral("m")
    rows = (
        await session.execute(
            select(w, lateral.c.other_id, lateral.c.by_email, lateral.c.by_phone, lateral.c.name_score)
            .select_from(window_sq)
            .join(lateral, true())
            .order_by(w.id.desc())
        )
    ).all()
    more = await _window_has_more(session, window_stmt, page, window)
    others = {r.other_id for r in rows}
    accounts = {
        x.id: x for x in (await session.execute(select(Account).where(Account.id.in_(others)))).scalars()
    }
    seen: set[frozenset[int]] = set()
    pairs = []
    for row in rows:
        account, other_id = row[0], row.other_id
        key = frozenset((account.id, other_id))
        if key in seen or other_id not in accounts:
            continue
        seen.add(key)
        first, second = sorted((account, accounts[other_id]), key=lambda x: x.id)
        reasons = _reasons(bool(row.by_email), bool(row.by_phone), float(row.name_score), NAME_THRESHOLD)
        best = EMAIL_SCORE if row.by_email else PHONE_SCORE if row.by_phone else float(row.name_score)
        pairs.append(DuplicatePair(first, second, reasons, best))
    return pairs, more


def account_clause_for(alias: Any, principal: Principal) -> Any:
    """The account record rule on an alias of Account (None when the principal sees all)."""
    return visibility_clause(alias, principal, CRM_ACCOUNT_READ)


async def _window_has_more(session: AsyncSession, window_stmt: Select[Any], page: int, window: int) -> bool:
    stmt = select(func.count()).select_from(window_stmt.limit(1).offset(page * window).subquery())
    return bool((await session.execute(stmt)).scalar_one())
