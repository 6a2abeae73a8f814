"""The tenant's own branding, kept in the tenant schema: the logo shown in the sidebar (PLAT-5).

The name, language, time zone and currency live in the shared registry row (``tenants.models.
Tenant``) because routing and e-mails need them before a tenant schema is chosen; the logo is
bulky and only ever needed on the tenant's own host, so it lives with the tenant's data (and
leaves with a tenant export).
"""

from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, TenantBase, TimestampMixin


class Branding(TenantBase, IdMixin, TimestampMixin):
    """The tenant's uploaded logo (at most one row). Only PNG, JPEG or WebP bytes are stored —
    checked by their magic bytes in ``tenants.settings`` — never SVG, which can carry script."""

    __tablename__ = "branding"

    logo: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(32))
