"""Search across accounts, contacts and leads (CRM-1), with each kind's record rules.

Two matchers work together, because people type both words and fragments:

* full text — the ``search`` tsvector columns ('simple' configuration: no stemming, names and
  e-mail addresses match as typed), every word of the query as a prefix: "ada lov" finds
  "Ada Lovelace", "wang@" finds "wang@minghui.cn";
* substrings — ``lower(name) LIKE '%…%'`` on the pg_trgm GIN indexes, so a Chinese name finds the
  company it is part of ('张伟' → '上海张伟科技有限公司'), where Chinese has no spaces to split words;
* digits — a query with five or more digits also matches phone numbers however they were typed.

    clause = account_match("张伟")                       # a WHERE clause for any account query
    results = await search_everything(session, principal, "张伟")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Lead
from app.crm.services.visibility import visible_accounts, visible_contacts, visible_leads
from app.security.permissions import CRM_LEAD_READ
from app.security.principal import Principal

MAX_QUERY = 200
_SIMPLE: Any = literal_column("'simple'::regconfig")
_MIN_DIGITS = 5


def normalise_query(q: str | None) -> str:
    return " ".join((q or "").split())[:MAX_QUERY]


def prefix_tsquery(q: str) -> str | None:
    """Every word of ``q`` as a quoted prefix term, ANDed: "ada lov" → "'ada':* & 'lov':*".

    Quoting makes the tsquery operators (& | ! ( ) :) plain text; quotes and backslashes, the
    only characters that could end a quoted term, are dropped.
    """
    terms = []
    for word in q.split()[:8]:
        word = word.replace("'", "").replace("\\", "")
        if word:
            terms.append(f"'{word}':*")
    return " & ".join(terms) or None


def like_pattern(q: str) -> str:
    """``%q%`` for LIKE on lower(...), with LIKE's own wildcards taken literally."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _digits(q: str) -> str | None:
    digits = re.sub(r"\D", "", q)
    return digits if len(digits) >= _MIN_DIGITS else None


def _text_match(name: Any, search: Any, q: str, *extra_names: Any) -> list[ColumnElement[bool]]:
    pattern = like_pattern(q)
    clauses: list[ColumnElement[bool]] = [func.lower(name).like(pattern)]
    clauses += [func.lower(n).like(pattern) for n in extra_names]
    tsq = prefix_tsquery(q)
    if tsq:
        clauses.append(search.op("@@")(func.to_tsquery(_SIMPLE, tsq)))
    return clauses


def account_match(q: str) -> ColumnElement[bool]:
    clauses = _text_match(Account.name, Account.search, q)
    if digits := _digits(q):
        clauses.append(Account.phone_digits.contains(digits, autoescape=True))
    return or_(*clauses)


def contact_match(q: str, *, with_account_name: bool = False) -> ColumnElement[bool]:
    """Contacts by their own name, e-mail, phone and title (and their account's name if asked:
    the contact list's search box, where the query joins the account anyway)."""
    extra = (Account.name,) if with_account_name else ()
    clauses = _text_match(Contact.full_name, Contact.search, q, *extra)
    if digits := _digits(q):
        clauses.append(Contact.phone_digits.contains(digits, autoescape=True))
    return or_(*clauses)


def lead_match(q: str) -> ColumnElement[bool]:
    return or_(*_text_match(Lead.full_name, Lead.search, q, Lead.company))


def _rank(name: Any, q: str) -> list[Any]:
    """Exact names first, then the closest by trigram similarity, then alphabetically."""
    low = func.lower(name)
    return [(low == q.lower()).desc(), func.public.similarity(low, q.lower()).desc(), low]


def account_rank(q: str) -> list[Any]:
    """ORDER BY for accounts matching ``q`` (pickers and the search page)."""
    return _rank(Account.name, q)


@dataclass(frozen=True)
class Hits:
    rows: list[Any]
    total: int  # exact, or MAX_COUNTED + 1 when there are more
    more_than_counted: bool = False


@dataclass(frozen=True)
class SearchResults:
    q: str
    accounts: Hits
    contacts: Hits  # rows are (Contact, account name)
    leads: Hits | None  # None when the principal may not read leads

    @property
    def total(self) -> int:
        return self.accounts.total + self.contacts.total + (self.leads.total if self.leads else 0)


MAX_COUNTED = 1000  # "1,000+" beyond: counting every match of a one-letter query costs more than it tells


async def _hits(session: AsyncSession, stmt: Any, limit: int, *, pairs: bool = False) -> Hits:
    """The first ``limit`` rows and how many match (counted up to MAX_COUNTED)."""
    rows = (await session.execute(stmt.limit(limit))).all()
    total, more = len(rows), False
    if total == limit:
        capped = stmt.order_by(None).with_only_columns(literal(1)).limit(MAX_COUNTED + 1).subquery()
        total = int((await session.execute(select(func.count()).select_from(capped))).scalar_one())
        more = total > MAX_COUNTED
    return Hits([tuple(r) if pairs else r[0] for r in rows], total, more)


async def search_everything(
    session: AsyncSession, principal: Principal, q: str, *, limit: int = 10
) -> SearchResults:
    """The best ``limit`` matches of each kind the principal may read, with match counts."""
    q = normalise_query(q)
    empty = Hits([], 0)
    if not q:
        return SearchResults(q, empty, empty, empty if principal.can(CRM_LEAD_READ) else None)
    accounts = await _hits(
        session, visible_accounts(principal).where(account_match(q)).order_by(*_rank(Account.name, q)), limit
    )
    contact_stmt = (
        visible_contacts(principal)
        .add_columns(Account.name)
        .where(Contact.archived_at.is_(None), contact_match(q))
        .order_by(*_rank(Contact.full_name, q))
    )
    contacts = await _hits(session, contact_stmt, limit, pairs=True)
    leads = None
    if principal.can(CRM_LEAD_READ):
        lead_stmt = visible_leads(principal).where(lead_match(q))
        leads = await _hits(session, lead_stmt.order_by(*_rank(Lead.full_name, q)), limit)
    return SearchResults(q, accounts, contacts, leads)
