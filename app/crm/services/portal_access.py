"""Getting customers into the self-service portal (CRM-12): invitations, sign-up, linking.

Both ways in use the platform's invitations (app/security/services/invitations.py): a signed,
expiring, single-use link mailed to the contact's address proves the person owns it. The contact
remembers the invitation (``portal_invitation_id``); accepting it creates an external user with
the ``customer`` role, and ``link_accepted_invitation`` ties that user to the contact in the
same transaction.

    invitation = await invite_contact(session, principal, contact_id)     # staff
    await request_signup(session, "wang.fang@example.cn")                # public sign-up page
    me = await current_customer(session, principal)                      # every portal request

A sign-in is linked to a contact in exactly these cases, and no other:

1. the user accepted the invitation recorded on the contact (at acceptance, or — should that hook
   not have run — at their first portal request);
2. the user accepted a customer invitation for their own address that no contact recorded (sent
   from Admin › Invitations), and exactly one contact has that address and no sign-in yet;
3. staff invite a contact whose address already has a customer sign-in linked to no contact.

The address always matches (case-insensitively) and the contact never has a sign-in already.
A customer's access ends by deactivating their sign-in (Admin › Users): cases 1 and 2 would link
a sign-in again whose contact link was merely cleared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Select, any_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Account, Contact
from app.crm.services.contacts import get_contact
from app.crm.services.visibility import NotACustomer, customer_account_id
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.errors import TooManyRequests, ValidationFailed
from app.kernel.i18n import LOCALES, lazy
from app.kernel.redis import get_redis
from app.security.models import Invitation, Role, User, UserRole
from app.security.permissions import CUSTOMER_PORTAL_USE
from app.security.principal import Principal
from app.security.services.invitations import invite_user, on_invitation_accepted
from app.security.validation import clean_email

CUSTOMER_ROLE = "customer"
SIGNUP_WINDOW_SECONDS = 3600
SIGNUP_LIMIT_PER_IP = 10
SIGNUP_LIMIT_PER_EMAIL = 3


@dataclass(frozen=True)
class CustomerScope:
    """Who the portal is showing: the signed-in customer's contact and account."""

    account_id: int
    contact_id: int
    account_name: str
    contact_name: str


class SignupThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            "portal_signup_throttled",
            lazy("Too many sign-up requests. Try again in {minutes} minutes."),
            params={"minutes": minutes},
        )
        self.retry_after = retry_after


def _lower(value: str | None) -> str:
    return (value or "").strip().lower()


def _linkable(email: str) -> Select[Contact]:
    """Contacts that may receive a sign-in for ``email``: same address, no sign-in yet, live."""
    return (
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .where(
            func.lower(Contact.email) == email,
            Contact.portal_user_id.is_(None),
            Contact.archived_at.is_(None),
            Account.merged_into_id.is_(None),
            Account.archived_at.is_(None),
        )
    )


async def _link(session: AsyncSession, contact: Contact, user_id: int) -> None:
    async with audited(session, "crm.portal_user_linked"):
        contact.portal_user_id = user_id


async def _invitation_locale(session: AsyncSession, contact: Contact) -> str:
    """The account's preferred language when it has one we speak, else the organisation's."""
    account = await session.get(Account, contact.account_id)
    preferred = (account.preferences or {}).get("language") if account else None
    if preferred in LOCALES:
        return str(preferred)
    tenant = context.current_tenant()
    return tenant.locale if tenant and tenant.locale in LOCALES else "en"


async def _is_unlinked_customer(session: AsyncSession, user: User) -> bool:
    if not (user.is_external and user.is_active):
        return False
    linked = await session.scalar(select(Contact.id).where(Contact.portal_user_id == user.id))
    if linked is not None:
        return False
    role = await session.scalar(
        select(Role.id)
        .join(UserRole, UserRole.role_id == Role.id)
        .where(UserRole.user_id == user.id, Role.key == CUSTOMER_ROLE)
    )
    return role is not None


# --- staff: invite a contact ---------------------------------------------------------------------


async def invite_contact(session: AsyncSession, principal: Principal, contact_id: int) -> Invitation | None:
    """Invite a contact the principal can see. Returns the invitation, or None when the address
    already had a customer sign-in linked nowhere — then it is linked at once (case 3)."""
    contact = await get_contact(session, principal, contact_id)
    if contact.portal_user_id is not None:
        raise InvalidState("portal_already_linked", lazy("This contact already has a portal sign-in."))
    email = _lower(contact.email)
    if not email:
        raise InvalidState(
            "contact_has_no_email",
            lazy("Add an e-mail address to this contact before inviting them to the portal."),
        )
    user = (await session.execute(select(User).where(func.lower(User.email) == email))).scalar_one_or_none()
    if user is not None:
        if not await _is_unlinked_customer(session, user):
            raise InvalidState(
                "portal_email_in_use",
                lazy("The e-mail address {email} already belongs to another sign-in."),
                email=email,
            )
        await _link(session, contact, user.id)
        return None
    invitation = await invite_user(
        session,
        principal,
        email=email,
        full_name=contact.full_name,
        role_keys=[CUSTOMER_ROLE],
        locale=await _invitation_locale(session, contact),
    )
    async with audited(session, "crm.portal_invited"):
        contact.portal_invitation_id = invitation.id
    return invitation


async def portal_status(session: AsyncSession, contact: Contact) -> str:
    """For the contact page: "linked", "invited" (a pending invitation) or "none"."""
    if contact.portal_user_id is not None:
        return "linked"
    if contact.portal_invitation_id is not None:
        invitation = await session.get(Invitation, contact.portal_invitation_id)
        if invitation is not None and invitation.status == "pending":
            return "invited"
    return "none"


# --- public: sign up against a known account -----------------------------------------------------


async def check_signup_rate(email: str, ip: str | None) -> None:
    """Count this request against fixed hourly windows per address and per IP address.

    Every request counts, known address or not, so being refused says nothing about whether an
    address is on file."""
    tenant = context.current_tenant()
    tenant_id = tenant.id if tenant else 0
    digest = hashlib.sha256(_lower(email).encode()).hexdigest()[:32]
    keys = (
        (f"tessera:portal-signup:ip:{tenant_id}:{ip or 'unknown'}", SIGNUP_LIMIT_PER_IP),
        (f"tessera:portal-signup:email:{tenant_id}:{digest}", SIGNUP_LIMIT_PER_EMAIL),
    )
    redis = get_redis()
    async with redis.pipeline(transaction=True) as p:
        for key, _ in keys:
            p.set(key, 0, ex=SIGNUP_WINDOW_SECONDS, nx=True)
            p.incr(key)
            p.ttl(key)
        results = await p.execute()
    for i, (_, limit) in enumerate(keys):
        count, ttl = int(results[i * 3 + 1]), int(results[i * 3 + 2])
        if count > limit:
            raise SignupThrottled(max(ttl, 1))


async def request_signup(
    session: AsyncSession, email: object, *, locale: str | None = None
) -> Invitation | None:
    """Mail a sign-up link (in ``locale``, the language the person chose on the page) when
    ``email`` is a contact's address with no sign-in yet.

    The caller answers the same whatever happens here (no account enumeration). Addresses that
    already sign in get nothing: they sign in, and a customer invited from the admin pages is
    linked on their first portal visit (case 2)."""
    clean, errors = clean_email(email)
    if errors:
        raise ValidationFailed(errors)
    contact = (await session.execute(_linkable(clean).order_by(Contact.id).limit(1))).scalar_one_or_none()
    if contact is None:
        return None
    if await session.scalar(select(User.id).where(func.lower(User.email) == clean)) is not None:
        return None
    tenant = context.current_tenant()
    assert tenant is not None
    signup = Principal(kind="system", id=0, tenant=tenant, label="customer portal sign-up", grants={})
    invitation = await invite_user(
        session,
        signup,
        email=clean,
        full_name=contact.full_name,
        role_keys=[CUSTOMER_ROLE],
        locale=locale if locale in LOCALES else await _invitation_locale(session, contact),
    )
    async with audited(session, "crm.portal_signup_requested"):
        contact.portal_invitation_id = invitation.id
    return invitation


# --- linking the new sign-in ---------------------------------------------------------------------


@on_invitation_accepted
async def link_accepted_invitation(session: AsyncSession, invitation: Invitation, user: User) -> None:
    """Case 1, at acceptance: the contact that recorded this invitation gets the new user."""
    if CUSTOMER_ROLE not in (invitation.role_keys or []) or not user.is_external:
        return
    contact = (
        await session.execute(
            _linkable(_lower(user.email)).where(Contact.portal_invitation_id == invitation.id)
        )
    ).scalar_one_or_none()
    if contact is not None:
        await _link(session, contact, user.id)


async def link_invited_user(session: AsyncSession, principal: Principal) -> bool:
    """Cases 1 and 2 for a customer who is signed in but linked to no contact yet."""
    if principal.kind != "user" or not principal.is_external or not principal.can(CUSTOMER_PORTAL_USE):
        return False
    user = await session.get(User, principal.id)
    if user is None or not user.is_active:
        return False
    email = _lower(user.email)
    accepted = select(Invitation.id).where(
        Invitation.accepted_user_id == user.id,
        func.lower(Invitation.email) == email,
        literal(CUSTOMER_ROLE) == any_(Invitation.role_keys),
    )
    if await session.scalar(accepted.limit(1)) is None:
        return False  # the address was never proven by an accepted invitation
    candidates = _linkable(email)
    recorded = (
        await session.execute(candidates.where(Contact.portal_invitation_id.in_(accepted)).limit(1))
    ).scalar_one_or_none()
    if recorded is None:
        matches = list((await session.execute(candidates.limit(2))).scalars())
        if len(matches) != 1:
            return False  # none, or ambiguous: staff must invite the right contact
        recorded = matches[0]
    await _link(session, recorded, user.id)
    return True


async def current_customer(session: AsyncSession, principal: Principal) -> CustomerScope:
    """The signed-in customer's contact and account (``customer_account_id`` is the record rule);
    NotACustomer when the sign-in is not (and may not become) linked to a contact."""
    try:
        account_id = await customer_account_id(session, principal)
    except NotACustomer:
        if not await link_invited_user(session, principal):
            raise
        account_id = await customer_account_id(session, principal)
    row = (
        await session.execute(
            select(Contact.id, Contact.full_name, Account.name)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.portal_user_id == principal.id, Contact.account_id == account_id)
        )
    ).one()
    return CustomerScope(account_id=account_id, contact_id=row[0], contact_name=row[1], account_name=row[2])
