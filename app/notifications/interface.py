"""What other contexts may use of notifications (ARCHITECTURE.md: contexts meet at interface.py).

LEAD_ASSIGNED = define_kind("crm.lead_assigned", lazy("Leads assigned to you"))
await notify(session, user_id, LEAD_ASSIGNED, title=..., body=..., link="/sales/leads/12")
"""

from __future__ import annotations

from app.notifications.kinds import define_kind
from app.notifications.service import notify

__all__ = ["define_kind", "notify"]
