"""Search across accounts, contacts and leads (CRM-1), with each kind's record rules.

Matchers work together, because people type both words and fragments:

* full text — the ``search`` tsvector columns ('simple' configuration: no stemming, names and
  e-mail addresses match as typed), every word of the query as a prefix: "ada lov" finds
  "Ada Lovelace", "wang@" finds "wang@minghui.cn";
* Chinese — the same columns hold the bigrams of every CJK run (public.tessera_cjk_bigrams), so
  a run in the query is the AND of its bigrams: '张伟' finds '上海张伟科技有限公司' with one index
  lookup, where Chinese has no spaces to split words and pg_trgm cannot index two characters;
* substrings — ``lower(name) LIKE '%…%'`` on the pg_trgm GIN indexes, for fragments of three
  characters or more (and, unindexed, for a single Chinese character);
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


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # the ranges public.tessera_cjk_bigrams reads
_CJK_RUN = re.compile(f"[{_CJK}]+")
_LONE_CJK = re.compile(f"(?<![{_CJK}])[{_CJK}](?![{_CJK}])")


def prefix_tsquery(q: str) -> str | None:
    """The query's terms, ANDed: every word as a quoted prefix ("ada lov" → "'ada':* & 'lov':*"),
    every run of Chinese characters as its bigrams ("华信科技" → "'华信' & '信科' & '科技'").

    Quoting makes the tsquery operators (& | ! ( ) :) plain text; quotes and backslashes, the
    only characters that could end a quoted term, are dropped.
    """
    terms = []
    for word in q.split()[:8]:
        word = word.replace("'", "").replace("\\", "")
        if not word:
            continue
        runs = _CJK_RUN.findall(word)
        if runs and _CJK_RUN.fullmatch(word):
            terms += [f"'{run[i : i + 2]}'" for run in runs for i in range(len(run) - 1)]
        else:  # Latin words, e-mail addresses, mixed tokens: what the 'simple' parser keeps whole
            terms.append(f"'{word}':*")
    return " & ".join(dict.fromkeys(terms)) or None


def _needs_substring(q: str) -> bool:
    """LIKE '%q%' helps when the words alone may miss (a fragment inside a word): three or more
    characters (the trigram index serves it), or a lone Chinese character (no bigram to look up)."""
    return len(q) >= 3 or bool(_LONE_CJK.search(q))


def like_pattern(q: str) -> str:
    """``%q%`` for LIKE on lower(...), with LIKE's own wildcards taken literally."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _digits(q: str) -> str | None:
    digits = re.sub(r"\D", "", q)
    return digits if len(digits) >= _MIN_DIGITS else None


def _text_match(name: Any, search: Any, q: str, *extra_names: Any) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    tsq = prefix_tsquery(q)
    if tsq:
        clauses.append(search.op("@@")(func.to_tsquery(_SIMPLE, tsq)))
    if _needs_substring(q) or not clauses:
        # Two characters can't use a trigram index, and an OR with an unindexed arm turns the
        # whole search into a table scan; the bigram/word terms above already cover them.
        pattern = like_pattern(q)
        clauses += [func.lower(n).like(pattern) for n in (name, *extra_names)]
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
