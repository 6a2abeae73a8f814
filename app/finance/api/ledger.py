"""Chart of accounts, journal entries and the trial balance under /api/v1/finance.

Finance permissions are not scoped: a caller with ``fin.ledger.read`` reads the whole ledger of
its organisation. A manual entry is posted at once through the posting door (there are no API
drafts), so it is numbered, balanced and in an open period — or refused with nothing written.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.finance import schemas
from app.finance.models import Account, Entry
from app.finance.services import periods, posting, queries, reports
from app.finance.services.setup import ensure_finance
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

ACCOUNTS = Ordering("fin_accounts", (Key(Account.code, str), Key(Account.id, int)))
ENTRIES = Ordering("fin_entries", (Key(Entry.id, int),), descending=True)


@get(
    "/accounts",
    summary="List the chart of accounts",
    description="In code order. The tenant's chart is installed on first use (docs/finance.md).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ),
)
async def list_accounts(
    db: DbSession,
    type: Annotated[schemas.AccountType | None, QueryParameter()] = None,
    postable: Annotated[bool | None, QueryParameter()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.AccountPage:
    await ensure_finance(db)
    page = await fetch_page(
        db, queries.accounts_stmt(type_=type, postable=postable), ACCOUNTS, limit=limit, cursor=cursor
    )
    return schemas.AccountPage([schemas.account_of(a) for a in page.rows], page.next_cursor)


@get(
    "/accounts/{account_id:int}",
    summary="Get an account",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, resource="fin_accounts", problems=[404]),
)
async def get_account(db: DbSession, account_id: FromPath[int]) -> schemas.Account:
    return schemas.account_of(await queries.get_account(db, account_id))


async def _entries_out(db: Any, rows: list[Entry]) -> list[schemas.Entry]:
    totals = await queries.entry_totals(db, [e.id for e in rows])
    codes = await queries.period_codes(db, {e.period_id for e in rows})
    return [schemas.entry_of(e, codes[e.period_id], totals.get(e.id, 0)) for e in rows]


@get(
    "/entries",
    summary="List journal entries",
    description="Newest first. `period` is YYYY-MM (422 `invalid_period` otherwise).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def list_entries(
    db: DbSession,
    period: Annotated[str | None, QueryParameter(max_length=7)] = None,
    journal: Annotated[schemas.Journal | None, QueryParameter()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.EntryPage:
    page = await fetch_page(
        db, queries.entries_stmt(period=period, journal=journal), ENTRIES, limit=limit, cursor=cursor
    )
    return schemas.EntryPage(await _entries_out(db, list(page.rows)), page.next_cursor)


async def _detail(db: Any, entry: Entry) -> schemas.EntryDetail:
    codes = await queries.period_codes(db, {entry.period_id})
    return schemas.entry_detail_of(entry, codes[entry.period_id], await queries.entry_lines(db, entry.id))


@get(
    "/entries/{entry_id:int}",
    summary="Get a journal entry",
    description="With its lines.",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, resource="fin_entries", problems=[404]),
)
async def get_entry(db: DbSession, entry_id: FromPath[int]) -> schemas.EntryDetail:
    return await _detail(db, await queries.get_entry(db, entry_id))


@post(
    "/entries",
    summary="Post a manual journal entry",
    description="Honours `Idempotency-Key`. Posted at once with the next voucher number of its journal "
    "and period. Refusals (422, 409 `period_closed`) name the line at fault and write nothing.",
    tags=["finance"],
    dto=StrictBody[schemas.EntryCreate],
    return_dto=None,
    **operation(FIN_JOURNAL_POST, problems=[409, 413, 422]),
)
async def create_entry(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.EntryCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.EntryDetail]:
    async def create() -> schemas.EntryDetail:
        lines = posting.manual_lines([msgspec.to_builtins(line) for line in data.lines])
        entry = await posting.post(
            db,
            principal,
            posting.PostingRequest(
                date=data.date,
                journal=data.journal,
                memo=data.memo,
                lines=lines,
                source_type="manual",
                currency=data.currency,
            ),
        )
        return await _detail(db, entry)

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.EntryDetail,
        create=create,
    )


@get(
    "/trial-balance",
    summary="Trial balance of a period",
    description="Opening, movements and closing per account, from the period balances. "
    "`period` is YYYY-MM (422 `invalid_period` otherwise).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_trial_balance(
    db: DbSession, period: Annotated[str, QueryParameter(max_length=20)]
) -> schemas.TrialBalance:
    year, month = periods.parse_period(period)
    await ensure_finance(db)
    return schemas.trial_balance_of(await reports.trial_balance(db, year, month))


ROUTES: list[HTTPRouteHandler] = [
    list_accounts,
    get_account,
    list_entries,
    get_entry,
    create_entry,
    get_trial_balance,
]
