"""Import every module that declares tables, so both metadata trees are complete.

Alembic (both tracks), provisioning and `alembic check` use this; contexts never import it.
"""

from __future__ import annotations

from app.crm import models as crm_models  # noqa: F401
from app.finance import models as finance_models  # noqa: F401
from app.kernel import audit, idempotency, outbox  # noqa: F401
from app.kernel.db import SharedBase, TenantBase
from app.notifications import models as notification_models  # noqa: F401
from app.security import models as security_models  # noqa: F401
from tenants import (
    branding,  # noqa: F401
    spares,  # noqa: F401
)
from tenants import models as tenant_models  # noqa: F401
from workers import models as worker_models  # noqa: F401

shared_metadata = SharedBase.metadata
tenant_metadata = TenantBase.metadata
