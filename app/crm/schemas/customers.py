"""API representations and request bodies: customers (accounts and contacts, CRM-1).

Request bodies refuse unknown fields and carry their shapes (lengths, the enumerations); the
rules about values — a valid e-mail address or phone number, an owner the caller may assign —
are the services', answered as 422 ``validation_failed`` with the field named, exactly as the
portal's forms show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from msgspec import UNSET, Meta, Struct, UnsetType

from app.crm import models

Kind = Literal["company", "person"]
Stage = Literal["prospect", "customer", "partner", "churned"]
Text200 = Annotated[str, Meta(max_length=200)]
Text80 = Annotated[str, Meta(max_length=80)]
Tags = Annotated[
    list[Annotated[str, Meta(max_length=40)]],
    Meta(max_length=30, description="Up to 30 tags of at most 40 characters, no commas."),
]
Preferences = Annotated[
    dict[Annotated[str, Meta(max_length=60)], Annotated[str, Meta(max_length=200)]],
    Meta(max_length=30, description='Named values, e.g. {"contact_channel": "wechat"}.'),
]
Email = Annotated[str, Meta(max_length=254, description="An e-mail address.")]
Phone = Annotated[str, Meta(max_length=40, description="Digits, spaces, + - ( ) only.")]


class Account(Struct):
    """A company or an individual Tessera's users sell to."""

    id: int
    kind: Kind
    name: str
    legal_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    industry: str | None
    region: str | None
    country: str | None
    city: str | None
    address: str | None
    lifecycle_stage: Stage
    source: str | None
    tags: list[str]
    needs: str
    preferences: dict[str, str]
    owner_id: Annotated[int | None, Meta(description="The account manager (a user id).")]
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class AccountPage(Struct):
    items: list[Account]
    next_cursor: str | None


class AccountCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    kind: Kind = "company"
    lifecycle_stage: Stage = "prospect"
    legal_name: Text200 | None = None
    email: Email | None = None
    phone: Phone | None = None
    website: Text200 | None = None
    industry: Text80 | None = None
    region: Text80 | None = None
    country: Annotated[str, Meta(max_length=2, description="ISO 3166-1 alpha-2, e.g. CN.")] | None = None
    city: Text80 | None = None
    address: Annotated[str, Meta(max_length=1000)] | None = None
    source: Annotated[str, Meta(max_length=40)] | None = None
    tags: Tags = []
    needs: Annotated[str, Meta(max_length=20_000)] = ""
    preferences: Preferences = {}
    owner_id: Annotated[int | None, Meta(description="Default: nobody (API clients own nothing).")] = None


class AccountUpdate(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``null`` clears an optional field."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    lifecycle_stage: Stage | UnsetType = UNSET
    legal_name: Text200 | UnsetType | None = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    website: Text200 | UnsetType | None = UNSET
    industry: Text80 | UnsetType | None = UNSET
    region: Text80 | UnsetType | None = UNSET
    country: Annotated[str, Meta(max_length=2)] | UnsetType | None = UNSET
    city: Text80 | UnsetType | None = UNSET
    address: Annotated[str, Meta(max_length=1000)] | UnsetType | None = UNSET
    source: Annotated[str, Meta(max_length=40)] | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET
    needs: Annotated[str, Meta(max_length=20_000)] | UnsetType = UNSET
    preferences: Preferences | UnsetType = UNSET
    owner_id: int | UnsetType | None = UNSET


class AccountMerge(Struct, forbid_unknown_fields=True):
    # Optional in the schema so the account in the path is looked up (404) before the body is
    # judged; a missing merge_id is then a 422 naming the field.
    merge_id: Annotated[int, Meta(description="The duplicate account to merge into this one.")] | None = None


class AccountMerged(Struct):
    account: Account
    merged_id: int
    moved: Annotated[
        dict[str, int], Meta(description='Records moved per column, e.g. {"crm_contacts.account_id": 3}.')
    ]


class Contact(Struct):
    """A person at an account."""

    id: int
    account_id: int
    first_name: str
    last_name: str
    full_name: str
    title: str | None
    email: str | None
    phone: str | None
    mobile: str | None
    is_primary: bool
    notes: str
    portal_user_id: Annotated[int | None, Meta(description="Their customer-portal sign-in, if any.")]
    created_at: datetime
    updated_at: datetime


class ContactPage(Struct):
    items: list[Contact]
    next_cursor: str | None


class ContactCreate(Struct, forbid_unknown_fields=True):
    account_id: int
    first_name: Annotated[str, Meta(max_length=100)] = ""
    last_name: Annotated[str, Meta(max_length=100)] = ""
    full_name: Annotated[str, Meta(max_length=200, description="Default: first and last name.")] = ""
    title: Annotated[str, Meta(max_length=120)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    mobile: Phone | None = None
    is_primary: bool = False
    notes: Annotated[str, Meta(max_length=20_000)] = ""


class ContactUpdate(Struct, forbid_unknown_fields=True):
    account_id: Annotated[int, Meta(description="Move the person to another account.")] | UnsetType = UNSET
    first_name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    last_name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    full_name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    title: Annotated[str, Meta(max_length=120)] | UnsetType | None = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    mobile: Phone | UnsetType | None = UNSET
    is_primary: bool | UnsetType = UNSET
    notes: Annotated[str, Meta(max_length=20_000)] | UnsetType = UNSET


def fields_sent(data: Struct) -> dict[str, Any]:
    """A request body as the service's input mapping: the fields present (UNSET ones left out)."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}


def account_of(a: models.Account) -> Account:
    return Account(
        id=a.id,
        kind=cast(Kind, a.kind),
        name=a.name,
        legal_name=a.legal_name,
        email=a.email,
        phone=a.phone,
        website=a.website,
        industry=a.industry,
        region=a.region,
        country=a.country,
        city=a.city,
        address=a.address,
        lifecycle_stage=cast(Stage, a.lifecycle_stage),
        source=a.source,
        tags=list(a.tags or []),
        needs=a.needs or "",
        preferences=dict(a.preferences or {}),
        owner_id=a.owner_id,
        team_id=a.team_id,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def contact_of(c: models.Contact) -> Contact:
    return Contact(
        id=c.id,
        account_id=c.account_id,
        first_name=c.first_name,
        last_name=c.last_name,
        full_name=c.full_name,
        title=c.title,
        email=c.email,
        phone=c.phone,
        mobile=c.mobile,
        is_primary=c.is_primary,
        notes=c.notes or "",
        portal_user_id=c.portal_user_id,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )
