"""Accounts by code, read once per transaction.

    accounts = await accounts_by_code(session, {"1122", "6001", "222101"})   # {code: Account}

An invoice's confirmation asks for the same few accounts several times — the posting rules name
them, the tax rates name their output accounts, the posting door checks every line's account —
so the accounts a transaction has read are remembered with it (``transaction_memo``) and only the
codes not seen yet are read. The chart's own service forgets them when it changes an account
(``forget_accounts``), so a code changed in this transaction is never answered from the memo.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account
from app.kernel.db import transaction_memo

_ACCOUNTS = "finance.accounts_by_code"


def _memo(session: AsyncSession) -> dict[str, Account]:
    memo: dict[str, Account] = transaction_memo(session).setdefault(_ACCOUNTS, {})
    return memo


def remember_accounts(session: AsyncSession, accounts: Iterable[Account]) -> None:
    """Accounts this transaction has just read whole (a join elsewhere), for later lookups."""
    memo = _memo(session)
    for account in accounts:
        memo[account.code] = account


def forget_accounts(session: AsyncSession) -> None:
    """The chart changed in this transaction: read accounts again from now on."""
    transaction_memo(session).pop(_ACCOUNTS, None)


async def accounts_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, Account]:
    """{code: Account} for those of ``codes`` that exist (unknown codes are simply absent)."""
    wanted = set(codes)
    memo = _memo(session)
    missing = wanted - memo.keys()
    if missing:
        found = (
            await session.execute(
                select(Account).where(Account.code.in_(missing)).execution_options(populate_existing=True)
            )
        ).scalars()
        remember_accounts(session, found)
        memo = _memo(session)
    return {code: memo[code] for code in wanted if code in memo}


async def codes_of(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    """{id: code}: accounts the session holds answer without a statement (a tax rate's output
    account read with it), the others in one."""
    sync = session.sync_session
    codes: dict[int, str] = {}
    for account_id in set(ids):
        held = sync.identity_map.get(sync.identity_key(Account, account_id))
        if held is not None:
            codes[account_id] = held.code
    missing = set(ids) - codes.keys()
    if missing:
        rows = await session.execute(select(Account.id, Account.code).where(Account.id.in_(missing)))
        codes.update({account_id: code for account_id, code in rows.all()})
    return codes
