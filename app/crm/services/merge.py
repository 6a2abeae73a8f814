"""Merging duplicates (CRM-1): account B into account A, contact B into contact A.

Every record that points at the loser is moved to the winner. Which records those are is read
from the table metadata — every foreign key to ``crm_accounts.id`` (or ``crm_contacts.id``) in
``TenantBase.metadata`` — so a table added later (finance's invoices) moves too without a change
here. Where a unique constraint would be broken by the move (an account in the same segment
twice: ``crm_segment_members`` PK (segment_id, account_id)), the loser's duplicate row is dropped.

The winner keeps its values; its empty fields are filled from the loser, tags are united and
preferences added where the winner has none. The loser keeps its row with ``merged_into_id`` set
(old links and audit entries still resolve) and reads as missing from then on. One audit entry
lists every moved record; ``crm.accounts_merged`` is published in the same transaction.

    result = await merge_accounts(session, principal, winner_id=7, loser_id=9)
    result.moved        # {"crm_contacts.account_id": [31, 32], "crm_segment_members.account_id": [...]}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import AlreadyMerged, MergeIntoSelf
from app.crm.events import ACCOUNTS_MERGED
from app.crm.models import Account, Contact
from app.crm.services.contacts import get_contact
from app.kernel import context
from app.kernel.audit import AuditEntry, audited
from app.kernel.db import TenantBase, utcnow
from app.kernel.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.permissions import CRM_ACCOUNT_MERGE, CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible

# Columns a merge never copies from the loser: identity, bookkeeping, ownership, derived values.
_NOT_FILLED = frozenset(
    {"id", "created_at", "updated_at", "owner_id", "team_id", "merged_into_id", "archived_at",
     "phone_digits", "search", "account_id", "is_primary", "portal_user_id", "portal_invitation_id",
     "kind", "lifecycle_stage"}
)  # fmt: skip
MAX_AUDITED_IDS = 1000  # per column; the count is always exact

# What the merge page calls the records it will move (tables unknown here show their name).
REFERENCE_LABELS = {
    "crm_contacts.account_id": lazy("Contacts"),
    "crm_activities.account_id": lazy("Interactions"),
    "crm_activities.contact_id": lazy("Interactions"),
    "crm_opportunities.account_id": lazy("Opportunities"),
    "crm_opportunities.contact_id": lazy("Opportunities"),
    "crm_quotes.account_id": lazy("Quotes"),
    "crm_quotes.contact_id": lazy("Quotes"),
    "crm_sales_orders.account_id": lazy("Sales orders"),
    "crm_sales_orders.contact_id": lazy("Sales orders"),
    "crm_contracts.account_id": lazy("Contracts"),
    "crm_tickets.account_id": lazy("Tickets"),
    "crm_tickets.contact_id": lazy("Tickets"),
    "crm_surveys.account_id": lazy("Surveys"),
    "crm_surveys.contact_id": lazy("Surveys"),
    "crm_leads.converted_account_id": lazy("Converted leads"),
    "crm_leads.converted_contact_id": lazy("Converted leads"),
    "crm_segment_members.account_id": lazy("Segment memberships"),
    "crm_campaign_recipients.account_id": lazy("Campaign recipients"),
    "crm_campaign_recipients.contact_id": lazy("Campaign recipients"),
    "crm_accounts.merged_into_id": lazy("Accounts merged earlier"),
    "crm_contacts.merged_into_id": lazy("Contacts merged earlier"),
}


@dataclass(frozen=True)
class Reference:
    """A column that points at the merged table, and the unique keys it is part of (as the
    *other* columns of each key: moving a row collides when those are equal too)."""

    table: Table
    column: Column[Any]
    unique_with: tuple[tuple[Column[Any], ...], ...]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def references_to(target: Table) -> list[Reference]:
    """Every foreign-key column in the tenant metadata that points at ``target``'s id."""
    refs = []
    for table in TenantBase.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table is not target or fk.column.name != "id":
                continue
            col = fk.parent
            keys: list[tuple[Column[Any], ...]] = []
            for cons in table.constraints:
                if not isinstance(cons, PrimaryKeyConstraint | UniqueConstraint):
                    continue
                if cons.columns.contains_column(col):
                    keys.append(tuple(c for c in cons.columns if c is not col))
            for index in table.indexes:
                # Unique indexes on plain columns only; an expression or partial unique index that
                # includes an account column would surface as a refused merge (Conflict below).
                plain = len(index.expressions) == len(index.columns)
                partial = index.dialect_options["postgresql"]["where"] is not None
                if index.unique and index.columns.contains_column(col) and plain and not partial:
                    keys.append(tuple(c for c in index.columns if c is not col))
            refs.append(Reference(table, col, tuple(dict.fromkeys(keys))))
    return refs


def _pk(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


async def _move(session: AsyncSession, ref: Reference, winner: int, loser: int) -> list[Any]:
    """Point ``ref``'s rows from the loser to the winner; drop the loser's rows that would collide.
    Returns the keys of the moved rows."""
    t = ref.table
    for others in ref.unique_with:
        w = t.alias("w")
        same = [w.c[c.name] == c for c in others]
        collides = exists().where(w.c[ref.column.name] == winner, *same)
        await session.execute(delete(t).where(ref.column == loser, collides))
    pk = _pk(t)
    stmt = update(t).where(ref.column == loser).values({ref.column.name: winner}).returning(*pk)
    rows = (await session.execute(stmt)).all()
    return [row[0] if len(pk) == 1 else list(row) for row in rows]


async def _move_all(session: AsyncSession, target: Table, winner: int, loser: int) -> dict[str, list[Any]]:
    moved: dict[str, list[Any]] = {}
    try:
        for ref in references_to(target):
            keys = await _move(session, ref, winner, loser)
            if keys:
                moved[ref.name] = keys
    except IntegrityError as exc:
        raise Conflict(
            "merge_conflict", lazy("These records cannot be merged: a related record would be duplicated.")
        ) from exc
    return moved


async def pending_moves(session: AsyncSession, target: Table, loser: int) -> dict[str, int]:
    """How many rows of each referencing column point at the loser (the merge page's preview)."""
    parts = [
        select(literal(ref.name).label("ref"), func.count().label("n")).where(ref.column == loser)
        for ref in references_to(target)
    ]
    rows = (await session.execute(union_all(*parts))).all()
    return {str(r.ref): int(r.n) for r in rows if r.n}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _fill_from(winner: Any, loser: Any, columns: Iterable[Any]) -> None:
    for col in columns:
        if col.key in _NOT_FILLED or col.computed is not None:
            continue
        if is_empty(getattr(winner, col.key)) and not is_empty(getattr(loser, col.key)):
            setattr(winner, col.key, getattr(loser, col.key))


async def _audit_moves(
    session: AsyncSession, entity_type: str, winner: int, loser: int, moved: dict[str, list[Any]], event: str
) -> None:
    """One audit entry for the records moved by bulk statements (the flush hook sees ORM changes
    only): every moved key (up to MAX_AUDITED_IDS per column) and the exact counts."""
    ctx = context.current()
    after = {
        "merged_id": loser,
        "moved_counts": {k: len(v) for k, v in moved.items()},
        "moved": {k: v[:MAX_AUDITED_IDS] for k, v in moved.items()},
    }
    await session.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            actor_kind=ctx.actor.kind,
            actor_id=ctx.actor.id,
            actor_label=ctx.actor.label[:254],
            action=f"{entity_type}.merge",
            event=event,
            entity_type=entity_type,
            entity_id=str(winner),
            before=None,
            after=after,
            ip=ctx.ip,
            user_agent=(ctx.user_agent or "")[:500] or None,
            request_id=ctx.request_id,
        )
    )


@dataclass
class MergeResult:
    winner: Any
    loser: Any
    moved: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.moved.items()}


def _check_may_merge(principal: Principal) -> None:
    if not principal.can(CRM_ACCOUNT_MERGE):
        raise Forbidden(lazy("You may not merge duplicates."))


async def _lock(session: AsyncSession, model: Any, ids: list[int]) -> None:
    """Row locks in id order (two merges of the same pair queue instead of deadlocking), and the
    rows re-read, so a merge that committed meanwhile is seen."""
    stmt = select(model).where(model.id.in_(ids)).order_by(model.id).with_for_update()
    await session.execute(stmt.execution_options(populate_existing=True))


def clean_other_id(value: object, field_name: str = "merge_id") -> int:
    try:
        ident = int(str(value).strip()) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        ident = 0
    if ident <= 0:
        raise ValidationFailed([FieldError(field_name, "Choose the duplicate to merge.")])
    return ident


async def merge_accounts(
    session: AsyncSession, principal: Principal, winner_id: int, loser_id: object
) -> MergeResult:
    """Merge account ``loser_id`` into ``winner_id`` (both visible and changeable by the principal)."""
    _check_may_merge(principal)
    winner = await get_visible(session, Account, winner_id, principal, CRM_ACCOUNT_READ, lazy("account"))
    loser_ident = clean_other_id(loser_id)
    if loser_ident == winner.id:
        raise MergeIntoSelf()
    try:
        loser = await get_visible(session, Account, loser_ident, principal, CRM_ACCOUNT_READ, lazy("account"))
    except NotFound as exc:  # a hidden duplicate is a field problem here, not a missing page
        raise ValidationFailed([FieldError("merge_id", "Choose an existing account.")]) from exc
    await _lock(session, Account, [winner.id, loser.id])
    for account in (winner, loser):
        if account.merged_into_id is not None:
            raise AlreadyMerged("account", account.name)
        if not can_write(account, principal, CRM_ACCOUNT_WRITE):
            raise Forbidden(lazy("You may view this account but not change it."))
    had_primary = await session.scalar(
        select(Contact.id).where(Contact.account_id == winner.id, Contact.is_primary.is_(True)).limit(1)
    )
    async with audited(session, "crm.accounts_merged"):
        moved = await _move_all(session, Account.__table__, winner.id, loser.id)  # type: ignore[arg-type]
        moved_contacts = moved.get("crm_contacts.account_id", [])
        if had_primary is not None and moved_contacts:  # one primary contact per account
            await session.execute(
                update(Contact).where(Contact.id.in_(moved_contacts)).values(is_primary=False)
            )
        tags = list(winner.tags or [])
        tags += [t for t in loser.tags or [] if t.lower() not in {x.lower() for x in tags}]
        preferences = {**(loser.preferences or {}), **(winner.preferences or {})}
        _fill_from(winner, loser, Account.__table__.columns)
        winner.tags = tags[:30]
        winner.preferences = preferences
        loser.merged_into_id = winner.id
        await session.flush()
        await _audit_moves(session, "crm_accounts", winner.id, loser.id, moved, "crm.accounts_merged")
    await publish(session, ACCOUNTS_MERGED, {"winner_id": winner.id, "loser_id": loser.id})
    return MergeResult(winner, loser, moved)


async def merge_contacts(
    session: AsyncSession, principal: Principal, winner_id: int, loser_id: object
) -> MergeResult:
    """Merge contact ``loser_id`` into ``winner_id``: two entries for one person at one account."""
    _check_may_merge(principal)
    winner = await get_contact(session, principal, winner_id)
    loser_ident = clean_other_id(loser_id)
    if loser_ident == winner.id:
        raise MergeIntoSelf()
    try:
        loser = await get_contact(session, principal, loser_ident)
    except NotFound as exc:
        raise ValidationFailed([FieldError("merge_id", "Choose an existing contact.")]) from exc
    if loser.account_id != winner.account_id:
        raise ValidationFailed(
            [FieldError("merge_id", "Only contacts of the same account can be merged; move one first.")]
        )
    account = await get_visible(
        session, Account, winner.account_id, principal, CRM_ACCOUNT_READ, lazy("account")
    )
    if not can_write(account, principal, CRM_ACCOUNT_WRITE):
        raise Forbidden(lazy("You may view this account but not change it."))
    await _lock(session, Contact, [winner.id, loser.id])
    for contact in (winner, loser):
        if contact.merged_into_id is not None or contact.archived_at is not None:
            raise AlreadyMerged("contact", contact.full_name)
    if loser.portal_user_id and winner.portal_user_id:
        raise Conflict(
            "both_have_portal_access",
            lazy("Both contacts sign in to the customer portal; remove one sign-in before merging."),
        )
    async with audited(session, "crm.contacts_merged"):
        moved = await _move_all(session, Contact.__table__, winner.id, loser.id)  # type: ignore[arg-type]
        portal = {
            k: getattr(loser, k)
            for k in ("portal_user_id", "portal_invitation_id")
            if getattr(winner, k) is None and getattr(loser, k) is not None
        }
        for key in portal:  # unique columns: free them on the loser before the winner takes them
            setattr(loser, key, None)
        await session.flush()
        for key, value in portal.items():
            setattr(winner, key, value)
        _fill_from(winner, loser, Contact.__table__.columns)
        winner.is_primary = winner.is_primary or loser.is_primary
        loser.is_primary = False
        loser.merged_into_id = winner.id
        loser.archived_at = utcnow()
        await session.flush()
        await _audit_moves(session, "crm_contacts", winner.id, loser.id, moved, "crm.contacts_merged")
    return MergeResult(winner, loser, moved)
