"""The notification kinds CRM sends (PLAT-7); users choose their channels on /notifications."""

from __future__ import annotations

from app.kernel.i18n import lazy
from app.notifications.interface import define_kind

LEAD_ASSIGNED = define_kind("crm.lead_assigned", lazy("Leads assigned to you"))
TICKET_ASSIGNED = define_kind("crm.ticket_assigned", lazy("Tickets assigned to you"))
TICKET_CUSTOMER_REPLIED = define_kind("crm.ticket_customer_replied", lazy("Customer replies on your tickets"))
TICKET_ESCALATED = define_kind("crm.ticket_escalated", lazy("Tickets escalated past their SLA"))
COLLECTION_DUE = define_kind("crm.collection_due", lazy("Contract payments due and overdue"))
CAMPAIGN_SENT = define_kind("crm.campaign_sent", lazy("Campaigns finished sending"), email=False)
SEGMENT_REFRESHED = define_kind("crm.segment_refreshed", lazy("Segment refreshes"), email=False, in_app=False)
