"""CRM tables, one module per concept. Other contexts never import these (use app.crm.interface)."""

from app.crm.models.catalogue import PriceList, PriceListItem, Product
from app.crm.models.common import NumberSequence
from app.crm.models.contracts import Collection, Contract, PaymentInstalment
from app.crm.models.customers import Account, Activity, Contact
from app.crm.models.leads import AssignmentRule, Lead, WebForm
from app.crm.models.marketing import Campaign, CampaignRecipient, EmailSuppression, Segment, SegmentMember
from app.crm.models.pipeline import Opportunity, PipelineStage, StageChange
from app.crm.models.sales import Quote, QuoteLine, SalesOrder, SalesOrderLine
from app.crm.models.service import ServicePart, ServiceRecord, SlaPolicy, Survey, Ticket, TicketMessage

__all__ = [
    "Account",
    "Activity",
    "AssignmentRule",
    "Campaign",
    "CampaignRecipient",
    "Collection",
    "Contact",
    "Contract",
    "EmailSuppression",
    "Lead",
    "NumberSequence",
    "Opportunity",
    "PaymentInstalment",
    "PipelineStage",
    "PriceList",
    "PriceListItem",
    "Product",
    "Quote",
    "QuoteLine",
    "SalesOrder",
    "SalesOrderLine",
    "Segment",
    "SegmentMember",
    "ServicePart",
    "ServiceRecord",
    "SlaPolicy",
    "StageChange",
    "Survey",
    "Ticket",
    "TicketMessage",
    "WebForm",
]
